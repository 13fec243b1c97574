"""One exception hierarchy for pxrun, and the Diagnostic type for collected spec problems.

Why one hierarchy: the CLI maps exceptions to exit codes in exactly one place
(`pxrun.cli.status.exit_status_for`), so every error a layer raises must be classifiable
by type alone. Like pyinfra, each class also inherits the builtin it resembles where that
helps callers that only know the builtin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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

    hint = "`pxrun doctor` shows each connection setting and where it came from"


class ApiError(PxrunError):
    """Proxmox answered with an error, or could not be reached. Chosen by `pxrun.connect.errormap`.

    `status` is the HTTP status (0 when no answer arrived), `reason` Proxmox's own text (the
    HTTP reason phrase: the first line of its message), `errors` the per-parameter map of a
    400. `transient` says whether repeating the same request may succeed (a lock timeout, a
    connection reset); only requests that are safe to repeat are ever retried.
    """

    hint = "see Proxmox's message above"

    def __init__(self, message: str, *, status: int = 0, reason: str = "",
                 errors: dict[str, str] | None = None, method: str = "", path: str = "",
                 transient: bool = False, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.reason = reason or message
        self.errors = dict(errors or {})
        self.method = method
        self.path = path
        self.transient = transient


class NotFoundError(ApiError, LookupError):
    """The container, node, storage or path does not exist (`Configuration file ... does not
    exist`, `no such ...`)."""

    hint = "check the VMID, node or storage name; `pxrun list` shows what exists"


class AlreadyExistsError(ApiError):
    """A create found its target taken (`CT 100 already exists on node 'pve'`)."""

    hint = "choose another VMID, or import the existing container"


class LockedError(ApiError):
    """The guest or its config file is locked: `CT is locked (backup)`, or a lock wait timed out.

    `lock` names the lock (backup, migrate, create, ...) when Proxmox said which.
    """

    hint = "wait for the operation holding the lock to finish (or `pct unlock VMID` if none runs)"

    def __init__(self, message: str, *, lock: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.lock = lock


class DigestMismatchError(ApiError):
    """The config changed since it was read (Proxmox's digest check): someone else wrote it."""

    hint = "the container changed since it was read; run `pxrun plan` again"


class ParameterError(ApiError, ValueError):
    """400 `Parameter verification failed.`; `errors` maps each parameter to Proxmox's complaint."""

    hint = "a value was rejected by Proxmox; see the parameter messages"


class PermissionDeniedError(ApiError, PermissionError):
    """403: the token lacks a privilege, or the option is reserved to root@pam."""

    hint = "grant the API token the privilege named above (`pxrun doctor` lists what it may do)"


class AuthenticationError(ApiError, PermissionError):
    """401: the token id or secret is wrong, or the token expired or was deleted."""

    hint = "check PROXMOX_TOKEN_ID and the token secret (`pxrun doctor` shows where each came from)"


class UnreachableError(ApiError, ConnectionError):
    """No usable answer: connection refused or reset, a timeout, or a node that is offline (595)."""

    hint = "check the endpoint address and that the node is online"


class TlsError(ApiError):
    """The server's certificate could not be verified, or is not the pinned one."""

    hint = ("set ca_file (PROXMOX_CA_FILE) to the cluster's CA, or pin its certificate with "
            "fingerprint (PROXMOX_FINGERPRINT); `pxrun doctor` shows the server's fingerprint")


class TaskFailedError(ApiError):
    """A Proxmox task (UPID) ended with an error. Carries its exit status and the last log lines."""

    hint = "the task log above says why; fix the cause and run again"

    def __init__(self, message: str, *, upid: str, exitstatus: str,
                 log_tail: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.upid = upid
        self.exitstatus = exitstatus
        self.log_tail = list(log_tail or [])


class TaskTimeoutError(ApiError, TimeoutError):
    """A task did not finish in time. It may still be running on the node."""

    hint = "the task may still be running; see it in the node's task list, or raise the timeout"

    def __init__(self, message: str, *, upid: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.upid = upid


class PlanError(PxrunError):
    """The plan cannot be made: a placement that does not fit, a prevented destroy, a stale plan."""


class ApplyError(PxrunError):
    """Some operations of an apply failed; the summary lists what was done, failed and skipped."""


class NodeSshError(PxrunError, ConnectionError):
    """A node could not be reached over SSH: refused, unknown or changed host key, login."""

    hint = ("check cluster.ssh (user, port, key_file, known_hosts, hosts): `ssh -p PORT "
            "USER@NODE true` must work without a prompt")


class NodeCommandError(PxrunError):
    """A command run on a node over SSH (`pct set`) failed; the message is the command's own."""

    hint = "the message above is pct's own; fix the value in the spec and run again"

    def __init__(self, message: str, *, status: int, stderr: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.stderr = stderr


class ProvisionError(PxrunError):
    """A provisioning step failed inside a container (or could not be prepared). The
    message names the container and the step; `log` is the full, redacted log."""

    hint = "the step's output is in the log named above"

    def __init__(self, message: str, *, step: str = "", log: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint or (f"full output: {log}" if log else ""))
        self.step = step
        self.log = log


class TailnetError(PxrunError):
    """The Tailscale API refused, did not answer, or the device to remove is ambiguous.
    Never carries the API key."""


class SimulatorError(PxrunError):
    """The embedded or standalone simulator could not start or its state is unusable."""


class Interrupted(PxrunError, KeyboardInterrupt):
    """The user pressed Ctrl-C; what was done has been reported."""
