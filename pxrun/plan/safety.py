"""Safety nets the spec (or the run) asks for: a snapshot before a risky change, a vzdump
backup before a container is destroyed.

- `lifecycle.snapshot: before_change` (or `--snapshot`): a change that restarts the
  container, migrates it or moves one of its volumes starts with a `pxrun-<time>` snapshot;
  the last `snapshot_keep` are kept. Proxmox snapshots need every volume on storage that can
  snapshot (LVM-thin, ZFS, Ceph RBD, btrfs) and no bind mounts: otherwise the plan says so
  (an error when the spec asked, a warning for `--snapshot`). A replace gets no snapshot:
  the old container goes, and its snapshots with it; `backup_before_destroy` keeps a copy.
- `lifecycle.backup_before_destroy: STORAGE`: a delete or replace starts with `vzdump` of the
  container to STORAGE (which must take backups on its node). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from pxrun.observe.model import ObservedContainer
from pxrun.plan.context import PlanContext
from pxrun.plan.model import Backup, Migrate, MoveVolume, Operation, Power, Snapshot
from pxrun.spec.model import Container

SNAPSHOT_STORAGE = frozenset({"lvmthin", "zfspool", "rbd", "btrfs"})
"""Storage types whose container volumes Proxmox can snapshot."""


def risky(ops: Sequence[Operation]) -> bool:
    """Whether the operations restart the container, migrate it or move a volume."""
    return any(isinstance(op, Migrate | MoveVolume) or (
        isinstance(op, Power) and op.action == "restart" and op.policy != "never")
        for op in ops)


def snapshot_problem(ctx: PlanContext, observed: ObservedContainer) -> str | None:
    """Why Proxmox could not snapshot `observed`, if it could not."""
    binds = sorted(s for s, m in observed.current.mounts.items() if m.kind == "bind")
    if binds:
        return f"bind mounts cannot be snapshotted ({', '.join(binds)})"
    types = {s.storage: s.type for s in ctx.observed.storages_on(observed.node)}
    for slot, volid in sorted(observed.volids.items()):
        storage = volid.split(":", 1)[0]
        kind = types.get(storage)
        if kind not in SNAPSHOT_STORAGE:
            return (f"{slot} is on storage {storage} ({kind or 'unknown type'}), which "
                    "cannot snapshot")
    return None


def with_snapshot(ctx: PlanContext, want: Container, observed: ObservedContainer,
                  ops: list[Operation]) -> list[Operation]:
    """`ops` preceded by a snapshot, when one is asked for and the change is risky."""
    asked = want.lifecycle.snapshot == "before_change"
    if not (asked or ctx.options.snapshot) or not risky(ops):
        return ops
    problem = snapshot_problem(ctx, observed)
    if problem is not None:
        message = f"no snapshot can be taken before this change: {problem}"
        if asked:
            ctx.error(want.name, message, "drop lifecycle.snapshot, or keep the volumes on "
                                          "LVM-thin, ZFS, RBD or btrfs storage")
        else:
            ctx.warn(want.name, message)
        return ops
    return [Snapshot(keep=want.lifecycle.snapshot_keep,
                     rollback=ctx.options.rollback_on_failure), *ops]


def backup_before_destroy(ctx: PlanContext, want: Container | None,
                          observed: ObservedContainer) -> list[Operation]:
    """The vzdump before `observed` is destroyed, when the spec asks for one."""
    storage = want.lifecycle.backup_before_destroy if want is not None else None
    if storage is None:
        return []
    info = next((s for s in ctx.observed.storages_on(observed.node) if s.storage == storage),
                None)
    if info is None or "backup" not in info.content:
        what = "does not exist" if info is None else "does not take backups"
        ctx.error(observed.name, f"backup_before_destroy: storage {storage} {what} on node "
                                 f"{observed.node}", "name a storage with content backup")
        return []
    return [Backup(node=observed.node, vmid=observed.vmid, storage=storage)]


def replace_snapshot_note(ctx: PlanContext, want: Container) -> None:
    """A replace gets no snapshot: say so where one was asked for."""
    if want.lifecycle.snapshot == "before_change" or ctx.options.snapshot:
        hint = ("" if want.lifecycle.backup_before_destroy
                else "set lifecycle.backup_before_destroy to keep a copy")
        ctx.warn(want.name, "no snapshot before a replace: the old container is deleted, "
                            "with its snapshots", hint)
