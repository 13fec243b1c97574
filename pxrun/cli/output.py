"""Console output for the CLI: rich consoles built lazily, and how errors are shown.

Why lazy: importing rich costs tens of milliseconds, and `pxrun --help` must start in well
under 0.12 s. Nothing here is imported by other layers; they report through return values,
exceptions and hooks.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

    from pxrun.cli.context import Settings


def make_console(settings: Settings | None = None, *, stderr: bool = False,
                 file: TextIO | None = None) -> Console:
    """A rich Console honouring --no-color, NO_COLOR and non-TTY output (plain text for CI logs)."""
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR")) or (settings is not None and not settings.color)
    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    return Console(file=stream, no_color=no_color, highlight=False, soft_wrap=True,
                   stderr=stderr and file is None)


def print_error(exc: BaseException, settings: Settings | None = None) -> None:
    """Show an error on stderr: the message, then each diagnostic, then the hint. No traceback."""
    from rich.markup import escape

    from pxrun import errors

    console = make_console(settings, stderr=True)
    if isinstance(exc, errors.SpecError):
        for diag in exc.diagnostics:
            console.print(escape(str(diag)))
        console.print(f"[bold red]error:[/] {escape(exc.message)}")
    elif isinstance(exc, errors.PxrunError):
        console.print(f"[bold red]error:[/] {escape(exc.message)}")
    else:
        console.print(f"[bold red]error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}")
    hint = getattr(exc, "hint", "")
    if hint:
        console.print(f"[dim]hint:[/] {escape(hint)}")
