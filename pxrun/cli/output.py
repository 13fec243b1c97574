"""Console output for the CLI: rich consoles built lazily, and how errors are shown.

Why lazy: importing rich costs tens of milliseconds, and `pxrun --help` must start in well
under 0.12 s. Nothing here is imported by other layers; they report through return values,
exceptions and hooks.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

    from pxrun.cli.context import Settings


UNLIMITED_WIDTH = 1_000_000
"""Off a terminal nothing is cut: `pxrun list | grep` must see whole values."""


def no_color(settings: Settings | None = None) -> bool:
    """--no-color or NO_COLOR (any non-empty value, https://no-color.org)."""
    return bool(os.environ.get("NO_COLOR")) or (settings is not None and not settings.color)


def make_console(settings: Settings | None = None, *, stderr: bool = False,
                 file: TextIO | None = None) -> Console:
    """A rich Console honouring --no-color and NO_COLOR (no colour, no bold: plain text) and
    non-TTY output (plain text, lines never cut or wrapped at 80 columns)."""
    from rich.console import Console

    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    to_stderr = stderr and file is None
    # rich decides what a terminal is (a TTY, or FORCE_COLOR / TTY_COMPATIBLE set)
    terminal = Console(file=stream, stderr=to_stderr).is_terminal
    plain = no_color(settings)
    # color_system=None drops every style, bold and dim included
    return Console(file=stream, no_color=plain, highlight=False, soft_wrap=True,
                   stderr=to_stderr, width=None if terminal else UNLIMITED_WIDTH,
                   color_system=None if plain else "auto")


def warn(settings: Settings | None, message: str) -> None:
    """Print `warning: message` on stderr, once per run however many layers report it."""
    from rich.markup import escape

    if settings is not None:
        if message in settings.warned:
            return
        settings.warned.add(message)
    make_console(settings, stderr=True).print(f"[bold yellow]warning:[/] {escape(message)}")


def error_document(exc: BaseException, status: int) -> dict[str, Any]:
    """An error as JSON, for `--json`: tools read stdout and must not parse prose.

    `diagnostics` holds one object per spec problem (file, line, col, message), so an
    editor or CI annotation can point at the line.
    """
    from pxrun import errors

    if isinstance(exc, errors.PxrunError):
        message, hint = exc.message, exc.hint
    else:
        message, hint = f"{type(exc).__name__}: {exc}", ""
    diagnostics = [{"severity": "error", "file": d.file, "line": d.line, "col": d.col,
                    "message": d.message}
                   for d in getattr(exc, "diagnostics", ()) if isinstance(d, errors.Diagnostic)]
    kind = {errors.SpecError: "invalid_spec", errors.UsageError: "usage"}.get(type(exc), "error")
    return {"ok": False, "exit_status": status,
            "error": {"kind": kind, "message": message, "hint": hint},
            "diagnostics": diagnostics}


def print_error(exc: BaseException, settings: Settings | None = None,
                status: int | None = None) -> None:
    """Show an error on stderr: the message, then each diagnostic, then the hint. No traceback.
    With --json, stdout also gets the error as one JSON document (`error_document`)."""
    from rich.markup import escape

    from pxrun import errors

    if settings is not None and settings.json and status is not None:
        import json

        print(json.dumps(error_document(exc, status), indent=2), file=sys.stdout)
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
