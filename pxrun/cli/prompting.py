"""Questions on stdin for the by-hand commands (`create`, `destroy VMID`).

Why not click.prompt alone: answers may come from a pipe (scripts, tests feeding stdin), and
a closed stdin must not look like Ctrl-C (exit 130) or loop forever: it is a usage error
that names the flag which answers the question instead. Prompts go to stderr, so stdout
keeps only results (and JSON with --json).
"""

from __future__ import annotations

import sys

import click

from pxrun.errors import UsageError


def ask(question: str, *, default: str = "", flag: str = "") -> str:
    """One line from stdin after `question` (the default shown in brackets when given).
    An empty answer is the default; end of input is a usage error naming `flag`."""
    shown = f"{question} [{default}]: " if default else f"{question}: "
    click.echo(shown, nl=False, err=True)
    line = sys.stdin.readline()
    if not line:
        click.echo("", err=True)
        instead = f"; pass {flag} instead" if flag else ""
        raise UsageError(f"no answer to {question!r}: stdin is closed{instead}")
    if not sys.stdin.isatty():
        click.echo(line.rstrip("\n"), err=True)  # a piped answer, echoed for the log
    return line.strip() or default


def confirm(question: str, *, flag: str) -> bool:
    """A yes/no question, no by default; only y or yes (any case) is yes."""
    return ask(f"{question} [y/N]", flag=flag).lower() in ("y", "yes")
