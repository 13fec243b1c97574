"""Data and safety net operations: reassign a data volume, delete the old container's
snapshots, take a `pxrun-<time>` snapshot (and roll back to it), vzdump before a destroy.

The plan decided all of them; what is left to apply is what only the moment knows: the
snapshot's name (the time of the apply) and the name Proxmox gives a reassigned volume
(`vm-<new vmid>-disk-N`), which the option write after a reassign reads back.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pxrun.apply.steps_update import put_config
from pxrun.errors import NotFoundError

if TYPE_CHECKING:
    from pxrun.apply.context import Run
    from pxrun.plan.model import Backup, DeleteSnapshots, ReassignVolume, Snapshot

SNAPSHOT_PREFIX = "pxrun-"


def backup_notes(stack: str, address: str) -> str:
    """What a pxrun backup's notes say, so `pxrun restore` finds it by stack and name."""
    return f"pxrun stack={stack} name={address}"


def reassign(run: Run, op: ReassignVolume) -> None:
    """Hand `op.volume` of the old container to the one this change made (`run`'s)."""
    _, target = run.where()
    detail = f"{op.volume} of {op.source_vmid} -> {op.target_slot} of {target}"
    with run.step("reassign", run.node_keys(node=op.node), detail=detail):
        params: dict[str, Any] = {"volume": op.volume, "target-vmid": target,
                                  "target-volume": op.target_slot}
        run.task("post", f"nodes/{op.node}/lxc/{op.source_vmid}/move_volume", kind="move",
                 step="reassign", maybe_done=lambda e: "does not exist" in e.reason,
                 verify=lambda: _holds(run, op.target_slot), **params)
    run.config_rewritten = True
    if op.options is None:
        return
    config = run.client.get(run.path("config"))
    line = str(config.get(op.target_slot, "")) if isinstance(config, dict) else ""
    volid = line.split(",", 1)[0]
    size = [part for part in line.split(",")[1:] if part.startswith("size=")]
    with run.step("config", run.node_keys(), detail=f"{op.target_slot} options"):
        put_config(run, {op.target_slot: ",".join([volid, op.options, *size])})


def _holds(run: Run, slot: str) -> bool:
    """Whether `slot` of the run's container holds a volume: the new container of a replace
    is made without the slot, so after a reassign whose answer was lost it holds one only
    when the reassign happened (Proxmox renames the volume to the target's vmid)."""
    config = run.client.get(run.path("config"))
    return isinstance(config, dict) and bool(config.get(slot))


def _snapshot_names(run: Run) -> set[str]:
    return {str(s.get("name")) for s in _snapshots(run)}


def _snapshots(run: Run) -> list[dict[str, Any]]:
    """The container's snapshots (not the `current` pseudo entry), oldest first."""
    items = run.client.get(run.path("snapshot"))
    found = [s for s in items if isinstance(s, dict) and s.get("name") != "current"] \
        if isinstance(items, list) else []
    return sorted(found, key=lambda s: (int(s.get("snaptime") or 0), str(s.get("name"))))


def _delete_snapshot(run: Run, name: str) -> None:
    with run.step("delete-snapshot", run.node_keys(), detail=name):
        run.task("delete", run.path(f"snapshot/{name}"), kind="snapshot",
                 step="delete-snapshot", task_type="vzdelsnapshot",
                 verify=lambda: name not in _snapshot_names(run),
                 maybe_done=lambda e: isinstance(e, NotFoundError)
                 or "does not exist" in e.reason)


def delete_snapshots(run: Run, op: DeleteSnapshots) -> None:
    """Every snapshot of the old container, newest first (it is deleted right after)."""
    with run.acting_on(op.node, op.vmid):
        for snap in reversed(_snapshots(run)):
            _delete_snapshot(run, str(snap["name"]))


def snapshot(run: Run, op: Snapshot) -> None:
    """`pxrun-<UTC time>`, then the oldest pxrun snapshots beyond `op.keep` go."""
    stamp = SNAPSHOT_PREFIX + time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    taken = _snapshot_names(run)
    name, n = stamp, 1
    while name in taken:  # several applies within one second
        n += 1
        name = f"{stamp}-{n}"
    status = run.client.get(run.path("status/current"))
    was_running = isinstance(status, dict) and status.get("status") == "running"
    with run.step("snapshot", run.node_keys(), detail=name):
        run.task("post", run.path("snapshot"), kind="snapshot", step="snapshot",
                 task_type="vzsnapshot", verify=lambda: name in _snapshot_names(run),
                 snapname=name, description="taken by pxrun apply before a change")
    run.snapshot = (name, was_running, op.rollback)
    run.config_rewritten = True
    ours = [str(s["name"]) for s in _snapshots(run)
            if str(s.get("name", "")).startswith(SNAPSHOT_PREFIX)]
    for old in ours[:max(len(ours) - op.keep, 0)]:
        _delete_snapshot(run, old)


def rollback(run: Run, name: str, *, start: bool) -> None:
    """Roll the container back to snapshot `name` (started again when it ran before)."""
    params: dict[str, Any] = {"start": 1} if start else {}
    with run.step("rollback", run.node_keys(), detail=name):
        run.task("post", run.path(f"snapshot/{name}/rollback"), kind="snapshot",
                 step="rollback", task_type="vzrollback", **params)
    run.running = start


def backup(run: Run, op: Backup) -> None:
    """vzdump of the container to `op.storage`, notes naming the stack and container."""
    params: dict[str, Any] = {"vmid": op.vmid, "storage": op.storage, "mode": "snapshot",
                              "compress": "zstd",
                              "notes-template": backup_notes(run.shared.stack, run.address)}
    with run.acting_on(op.node, op.vmid), run.step("backup", run.node_keys(op.storage),
                                                   detail=f"to {op.storage}"):
        before = _backups(run, op)
        run.task("post", f"nodes/{op.node}/vzdump", kind="backup", step="backup",
                 task_type="vzdump", verify=lambda: _backups(run, op) > before, **params)


def _backups(run: Run, op: Backup) -> int:
    """How many backups of the container `op.storage` holds (a vzdump whose answer was lost
    made one more)."""
    items = run.client.get(f"nodes/{op.node}/storage/{op.storage}/content", content="backup",
                           vmid=op.vmid)
    return len(items) if isinstance(items, list) else 0
