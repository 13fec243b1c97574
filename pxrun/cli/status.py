"""Exit statuses, and the one place where exceptions become them.

Why here and only here: every layer raises typed exceptions (`pxrun.errors`); which number a
CI job sees must not depend on which command happened to catch what.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """The process exit codes pxrun promises (README, "Exit codes")."""

    OK = 0
    ERROR = 1
    CHANGES = 2
    INVALID = 3
    INTERRUPTED = 130


def exit_status_for(exc: BaseException) -> ExitStatus:
    """Classify an exception. Unknown exceptions are errors (1), never success."""
    import click

    from pxrun import errors

    if isinstance(exc, KeyboardInterrupt | errors.Interrupted | click.exceptions.Abort):
        return ExitStatus.INTERRUPTED
    if isinstance(exc, errors.SpecError | errors.UsageError | click.exceptions.UsageError):
        return ExitStatus.INVALID
    if isinstance(exc, click.exceptions.Exit):
        return ExitStatus(exc.exit_code) if exc.exit_code in ExitStatus._value2member_map_ else (
            ExitStatus.ERROR
        )
    return ExitStatus.ERROR
