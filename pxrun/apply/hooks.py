"""How the engine tells the world what it is doing, and the seams it calls out through.

Terraform's pattern (STYLE.md): the engine never prints. It calls a `Hook` at every step,
task and outcome, and the CLI implements the hook three ways (a live view on a TTY, plain
timestamped lines for CI logs, JSON events). Hook methods are called from worker threads,
so an implementation must be thread-safe; each call is short and must not block, except
`ask_restart`, which the engine serialises (one question at a time).

Three seams lead out of the engine to what the caller sets up:
- `RootRunner`: runs `pct set` on a node (as root over SSH) for the options Proxmox allows
  only root@pam to set (features other than nesting, bind mounts, devices, hook scripts);
- `Provisioner`: runs the provisioning steps the plan names inside a container (the CLI's
  is `apply.provisioner.StackProvisioner`, over the provision layer's SSH session);
- `TailnetRemover`: removes a deleted container's node from its tailnet (Tailscale API).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pxrun.apply.summary import ApplySummary, ChangeResult
    from pxrun.errors import ProvisionError
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

    def output(self, address: str, step: str, line: str) -> None:
        """A line a provisioning step printed inside the container (secrets redacted
        already; the full output is in the container's log file)."""

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

    def confirm_tailnet(self, address: str, hostname: str) -> bool:
        """May the deleted container's node `hostname` leave its tailnet now? Asked on a
        terminal; the default (no terminal: the plan was approved) answers yes."""
        return True


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


@dataclass(frozen=True)
class Provisioned:
    """What a provisioner did in one container: the fingerprint of each step that ran and
    succeeded (label -> fingerprint, as it ran), the steps that failed but allowed it
    (`continue_on_error`), the log, the hostname it joined a tailnet under, and the error
    that stopped it (None: every step got its turn)."""

    ran: Mapping[str, str] = field(default_factory=dict)
    failed: tuple[str, ...] = ()
    log: str = ""
    tailnet: str | None = None
    error: ProvisionError | None = None


class Provisioner(Protocol):
    """Configures a running container from the inside (packages, files, scripts)."""

    def provision(self, address: str, *, node: str, vmid: int, steps: Sequence[str],
                  ip: str | None, on_output: Callable[[str, str], None],
                  on_step: Callable[[str, str, float], None]) -> Provisioned:
        """Run the steps named by their labels, in order, in the container `address`
        (`vmid` on `node`; `ip` for `provision.via: ssh`). `on_output(step, line)` gets
        each line of output, `on_step(step, "started" | "ok" | "failed", seconds)` each
        step. A failing step ends it: `Provisioned.error`. Raise a `PxrunError` only
        when nothing could run."""
        ...


class TailnetRemover(Protocol):
    """Removes devices from a tailnet (the Tailscale API)."""

    def remove(self, hostname: str) -> str | None:
        """Remove the device named `hostname` (its hostname or MagicDNS name); the name
        of the removed device, None when none has that name. Raise a `PxrunError` when
        the API refuses or several devices have the name."""
        ...
