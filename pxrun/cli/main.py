"""The `pxrun` entry point: global options, lazy subcommands, exit-status mapping.

The program is a function of (argv, environment) returning an exit status, as in httpie:
`main()` never calls sys.exit itself, so tests call it directly.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from pxrun import __version__
from pxrun.cli.commands import ALIASES, COMMANDS
from pxrun.cli.context import Settings
from pxrun.cli.globalopts import add_global_options, make_options
from pxrun.cli.status import ExitStatus, exit_status_for
from pxrun.collector import collector_paused
from pxrun.redaction import redacting_stdio

COMPLETE_VAR = "_PXRUN_COMPLETE"
"""The environment variable click's completion scripts set when they ask for candidates."""


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return add_global_options(self.commands[cmd_name])
        cmd_name = ALIASES.get(cmd_name, cmd_name)
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command = getattr(module, entry[1])
        assert isinstance(command, click.Command)
        return add_global_options(command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]},
             params=make_options())
@click.version_option(__version__, "--version", prog_name="pxrun")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """pxrun: Proxmox VE LXC containers as code.

    Keep the desired state of your containers in YAML, see exactly what will change with
    `pxrun plan`, and make it so with `pxrun apply`. Add --sim to any command to try it
    against the built-in Proxmox VE simulator. Global options work before or after the
    command name.
    """
    ctx.ensure_object(Settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Run pxrun with `argv` (default: sys.argv[1:]) and return the exit status."""
    with collector_paused():  # cycles are collected once a long-running phase starts
        return _main(list(sys.argv[1:] if argv is None else argv))


def run() -> int:
    """The `pxrun` program (console script, `python -m pxrun`): `main` in a process that
    exits when it returns, so the collector is not turned on again at the end."""
    with collector_paused(restore=False):
        return main()


def _main(args: list[str]) -> int:
    instruction = os.environ.get(COMPLETE_VAR)
    if instruction:  # the shell asks for completions (see `pxrun completion`)
        from click.shell_completion import shell_complete

        return shell_complete(cli, {"obj": Settings()}, "pxrun", COMPLETE_VAR, instruction)
    # One Settings for the whole run: the group's and the command's global options write
    # into it, and the error handler below reads it (--json, -v) even after a failure.
    settings = Settings()
    settings.secrets.update(environment_secrets(os.environ))
    with redacting_stdio(settings.secrets):  # every byte written below passes through it
        return _run(args, settings)


def environment_secrets(environ: Mapping[str, str]) -> list[str | None]:
    """The token secret as the environment gives it, also when pasted into the token id
    (`user@realm!name=SECRET`): known from the first line on, before anything prints."""
    token_id = environ.get("PROXMOX_TOKEN_ID", "")
    if "=" not in token_id:  # nothing pasted: keep `validate` free of the connect layer
        return [environ.get("PROXMOX_TOKEN_SECRET")]
    from pxrun.connect.tokenid import pasted_secret

    return [environ.get("PROXMOX_TOKEN_SECRET"), pasted_secret(token_id)]


def _run(args: list[str], settings: Settings) -> int:
    try:
        with cli.make_context("pxrun", args, obj=settings) as ctx:
            result: Any = cli.invoke(ctx)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.ClickException as exc:
        exc.show()
        return int(ExitStatus.INVALID if isinstance(exc, click.UsageError) else ExitStatus.ERROR)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("\ninterrupted", err=True)
        return int(ExitStatus.INTERRUPTED)
    except Exception as exc:
        from pxrun.cli.output import print_error

        status = int(exit_status_for(exc))
        print_error(exc, settings, status)
        if settings is not None and settings.verbosity > 0:
            import traceback

            traceback.print_exception(exc)
        return status
    if isinstance(result, int):
        return int(result)
    return int(ExitStatus.OK)
