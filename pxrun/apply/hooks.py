"""How the engine tells the world what it is doing, and the seams it calls out through.

Terraform's pattern (STYLE.md): the engine never prints. It calls a `Hook` at every step,
task and outcome, and the CLI implements the hook three ways (a live view on a TTY, plain
timestamped lines for CI logs, JSON events). Hook methods are called from worker threads,
so an implementation must be thread-safe; each call is short and must not block, except
`ask_restart`, which the engine serialises (one question at a time).

Two seams lead out of the engine to layers that do not exist yet or are optional:
- `RootRunner`: runs `pct set` on a node (as root over SSH) for the options Proxmox allows
  only root@pam to set (features other than nesting, bind mounts, devices, hook scripts);
- `Provisioner`: configures a container from the inside after creation (a later issue).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pxrun.apply.summary import ApplySummary, ChangeResult
    from pxrun.plan.model import ResourceChange


class Hook:
    """Progress callbacks. The defaults do nothing, so an implementation overrides only
    what it shows. `address` is the container's name in the stack."""

    def apply_started(self, changes: Sequence[ResourceChange]) -> None:
        """Before anything is sent: the changes that will run, in plan order."""

    def step_started(self, address: str, step: str, detail: str = "") -> None:
        """A step of a change began (`create`, `start`, `config`, `wait-ip`, ...)."""

    def task_started(self, address: str, step: str, upid: str) -> None:
        """The step started a Proxmox task and now waits for it."""

    def step_finished(self, address: str, step: str, seconds: float) -> None:
        """A step ended successfully."""

    def warning(self, address: str, message: str) -> None:
        """Something the user must know that did not fail the change (pending left, task
        warnings, an option set through `pct set`, a stale lock taken over)."""

    def change_finished(self, result: ChangeResult) -> None:
        """A change ended: done, failed, skipped or interrupted."""

    def interrupted(self, abandon: bool) -> None:
        """Ctrl-C: the engine stops scheduling (`abandon` False) or stops waiting (True)."""

    def apply_finished(self, summary: ApplySummary) -> None:
        """The end: what was done, failed and skipped."""

    def ask_restart(self, address: str, keys: Sequence[str]) -> bool:
        """Restart policy `ask`: may the container restart now to apply `keys`? The default
        answers no, which is the policy `never` (keep the changes pending and report)."""
        return False


class RootRunner(Protocol):
    """Runs `pct` on a node as root (through node SSH), and reads and writes a container's
    config file there (raw `lxc.*` lines). Arguments never carry secrets."""

    def pct(self, node: str, args: Sequence[str]) -> None:
        """Run `pct <args>` on `node`; raise a `PxrunError` with pct's message on failure."""
        ...

    def read_config(self, node: str, vmid: int) -> str:
        """The text of the container's config file on `node`."""
        ...

    def write_config(self, node: str, vmid: int, text: str, expect: str) -> None:
        """Replace the config file atomically unless its SHA-1 is no longer `expect`."""
        ...

    def ensure_lines(self, node: str, path: str, lines: Sequence[str]) -> None:
        """Append the lines a file on `node` lacks (`/etc/subuid`, `/etc/subgid`)."""
        ...


class Provisioner(Protocol):
    """Configures a running container from the inside (packages, files, scripts)."""

    def provision(self, address: str, node: str, vmid: int, steps: Sequence[str]) -> None:
        """Run the named provisioning steps; raise a `PxrunError` on failure."""
        ...
