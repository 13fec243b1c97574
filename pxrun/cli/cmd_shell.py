"""`pxrun completion SHELL` and `pxrun man`: what a shell and `man` need, from the commands.

Completion is click's own protocol: the script printed here calls pxrun back with
`_PXRUN_COMPLETE` set, and `cli.main` answers with the commands, options and choices the
command tree declares (commands are imported only for the word being completed). The
manual is rendered from the same tree (`manpage`), so neither can drift from the code.
"""

from __future__ import annotations

from pathlib import Path

import click

from pxrun.cli.status import ExitStatus

SHELLS = ("bash", "zsh", "fish")
INSTALL = {
    "bash": 'eval "$(pxrun completion bash)"   # in ~/.bashrc',
    "zsh": 'eval "$(pxrun completion zsh)"    # in ~/.zshrc',
    "fish": "pxrun completion fish > ~/.config/fish/completions/pxrun.fish",
}


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> int:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(pxrun completion bash)"   # in ~/.bashrc
    zsh:   eval "$(pxrun completion zsh)"    # in ~/.zshrc
    fish:  pxrun completion fish > ~/.config/fish/completions/pxrun.fish
    """
    from click.shell_completion import get_completion_class

    from pxrun.cli.main import COMPLETE_VAR, cli

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(cli, {}, "pxrun", COMPLETE_VAR).source())
    return int(ExitStatus.OK)


@click.command("man")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the page to FILE (e.g. pxrun.1) instead of stdout.")
def man(out: Path | None) -> int:
    """Print the manual page pxrun(1), in roff, made from every command's help.

    View it with `pxrun man | man -l -`; packagers install `pxrun man -o pxrun.1`.
    """
    from pxrun.cli.main import cli
    from pxrun.cli.manpage import render_manpage

    text = render_manpage(cli)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    return int(ExitStatus.OK)
