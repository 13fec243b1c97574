"""Where the `protection` flag goes among a change's operations.

Proxmox refuses every change of a protected container's drives: adding, changing or
removing a mount point (`can't update CT 101 drive 'mp0' - protection mode enabled`), a
rootfs option, deleting an unused disk (reference A3.1, and the simulator's table of what
protection blocks). Resizes, storage moves, migrations and snapshots are not blocked.

So the plan places the flag itself, and nothing is left to apply:
- a container pxrun creates (or re-creates) in this change gets `protection` only after its
  own drive operations (`pct set` of a bind mount, reassigned data volumes): a failure on
  the way leaves an unprotected container that the next plan can still repair;
- an existing container that the spec turns unprotected loses the flag first;
- an existing container that stays protected cannot have its drives changed: a plan error
  says that the change needs `protection: false` first. pxrun never lifts the flag of a
  container it did not create in this apply. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pxrun.plan.context import PlanContext
from pxrun.plan.model import (
    AttachMount,
    ConfigUpdate,
    CreateContainer,
    DetachMount,
    Operation,
    ReassignVolume,
)

_DRIVE = re.compile(r"(?:mp|unused)\d+|rootfs")
KEY = "protection"


def drive_keys(op: Operation) -> list[str]:
    """The drive keys (`mpN`, `unusedN`, `rootfs`) an operation writes on its container."""
    if isinstance(op, ConfigUpdate):
        return [k for k in (*op.set, *op.delete) if _DRIVE.fullmatch(k)]
    if isinstance(op, AttachMount | DetachMount):
        return [op.slot]
    if isinstance(op, ReassignVolume) and op.target_slot.startswith("mp"):
        return [op.target_slot]  # the target is this change's (new) container
    return []


def _without_flag(op: Operation) -> Operation | None:
    """`op` with the protection key taken out (None: nothing left to write)."""
    if isinstance(op, CreateContainer) and KEY in op.params:
        return op.model_copy(update={"params": {k: v for k, v in op.params.items()
                                                if k != KEY}})
    if isinstance(op, ConfigUpdate) and (KEY in op.set or KEY in op.delete):
        left = op.model_copy(update={"set": {k: v for k, v in op.set.items() if k != KEY},
                                     "delete": tuple(k for k in op.delete if k != KEY)})
        return left if left.set or left.delete else None
    return op


def place_protection(ctx: PlanContext, address: str, ops: Sequence[Operation], *,
                     protected_now: bool, wanted: bool | None) -> list[Operation]:
    """`ops` with the protection flag moved where Proxmox accepts the drive operations.

    `protected_now`: the container has the flag today (False for one this change creates);
    `wanted`: what the spec says (None: not managed, it stays as it is)."""
    drives = [key for op in ops for key in drive_keys(op)]
    if not drives:
        return list(ops)
    if protected_now and wanted is not False:
        for key in dict.fromkeys(drives):
            what = ("the root filesystem's options" if key == "rootfs"
                    else "an unused disk" if key.startswith("unused") else "a mount point")
            verb = "change" if key == "rootfs" else (
                "remove" if key.startswith("unused") else "add, change or remove")
            ctx.error(address, f"{key}: Proxmox refuses to {verb} {what} of a protected "
                               "container; set protection: false first (it can be set back "
                               "afterwards)")
        return list(ops)
    if protected_now == bool(wanted):
        return list(ops)  # the flag does not change: nothing to move
    body = [kept for op in ops if (kept := _without_flag(op)) is not None]
    if protected_now:  # the spec turns it off: first, so the drive operations may run
        return [ConfigUpdate(set={KEY: "0"}), *body]
    last = max(i for i, op in enumerate(body) if drive_keys(op))
    return [*body[:last + 1], ConfigUpdate(set={KEY: "1"}), *body[last + 1:]]
