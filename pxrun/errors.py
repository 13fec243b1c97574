"""One exception hierarchy for pxrun, and the Diagnostic type for collected spec problems.

Why one hierarchy: the CLI maps exceptions to exit codes in exactly one place
(`pxrun.cli.status.exit_status_for`), so every error a layer raises must be classifiable
by type alone. Like pyinfra, each class also inherits the builtin it resembles where that
helps callers that only know the builtin.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in a spec, located by file, line and column (1-based).

    Diagnostics are collected, not raised one by one, so a user sees every problem of every
    file in one run. `line`/`col` are 0 when a problem has no position (a missing file).
    """

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}: {self.message}"
        return f"{self.file}: {self.message}"


class PxrunError(Exception):
    """Root of every error pxrun raises on purpose. `hint` says what the user can do."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        if hint:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class UsageError(PxrunError, ValueError):
    """The command line itself is wrong (bad option combination, missing file argument)."""


class SpecError(PxrunError, ValueError):
    """The desired-state spec is invalid. Carries every diagnostic, sorted by location."""

    def __init__(self, diagnostics: list[Diagnostic], *, hint: str = "") -> None:
        self.diagnostics = sorted(diagnostics)
        n = len(self.diagnostics)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in the spec", hint=hint)


class SecretsError(PxrunError):
    """sops could not decrypt a secrets file. The message never contains decrypted values."""


class ConfigError(PxrunError):
    """Connection settings are missing or contradictory (no endpoint, no token, bad profile)."""


class PlanError(PxrunError):
    """The plan cannot be made: a placement that does not fit, a prevented destroy, a stale plan."""


class ApplyError(PxrunError):
    """Some operations of an apply failed; the summary lists what was done, failed and skipped."""


class SimulatorError(PxrunError):
    """The embedded or standalone simulator could not start or its state is unusable."""


class Interrupted(PxrunError, KeyboardInterrupt):
    """The user pressed Ctrl-C; what was done has been reported."""
