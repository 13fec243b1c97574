"""Going back: roll a container back to a snapshot, restore one from a pxrun backup.

Why in apply: both change the cluster, so they go through the layer that acts; the CLI
(`pxrun rollback`, `pxrun restore`) finds what to act on, asks, and prints. A pxrun backup is
a vzdump archive whose notes name the stack and container (`steps_safety.backup_notes`), so a
container is found again by its name in the stack, even when its vmid is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pxrun.apply.steps_safety import SNAPSHOT_PREFIX, backup_notes
from pxrun.errors import ApiError, ApplyError, ParameterError

if TYPE_CHECKING:
    from pxrun.connect.client import ProxmoxClient
    from pxrun.connect.tasks import TaskResult

TIMEOUT = 3600.0


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    snaptime: int
    description: str = ""

    @property
    def ours(self) -> bool:
        return self.name.startswith(SNAPSHOT_PREFIX)


@dataclass(frozen=True)
class BackupInfo:
    """A pxrun backup archive: where it is and what it holds."""

    volid: str
    node: str
    storage: str
    vmid: int | None
    ctime: int
    size: int


def snapshots(client: ProxmoxClient, node: str, vmid: int) -> list[SnapshotInfo]:
    """The container's snapshots, oldest first."""
    items = client.get(f"nodes/{node}/lxc/{vmid}/snapshot")
    found = [SnapshotInfo(name=str(s["name"]), snaptime=int(s.get("snaptime") or 0),
                          description=str(s.get("description") or ""))
             for s in items if isinstance(s, dict) and s.get("name") not in (None, "current")]
    return sorted(found, key=lambda s: (s.snaptime, s.name))


def rollback(client: ProxmoxClient, node: str, vmid: int, name: str, *, start: bool,
             timeout: float = TIMEOUT) -> TaskResult:
    """Roll back to snapshot `name`; start it again afterwards when `start`."""
    params: dict[str, Any] = {"start": 1} if start else {}
    upid = client.post(f"nodes/{node}/lxc/{vmid}/snapshot/{name}/rollback", **params)
    return client.wait_task(str(upid), timeout=timeout)


def backups(client: ProxmoxClient, stack: str, name: str) -> list[BackupInfo]:
    """Every pxrun backup of container `name` of `stack` the cluster's storages hold,
    newest first (a shared storage is listed once)."""
    notes = backup_notes(stack, name)
    seen: set[str] = set()
    found: list[BackupInfo] = []
    for item in client.get("cluster/resources", type="storage"):
        if not isinstance(item, dict) or "backup" not in str(item.get("content", "")).split(","):
            continue
        node, storage = str(item.get("node")), str(item.get("storage"))
        if str(item.get("status", "available")) != "available":
            continue
        try:
            content = client.get(f"nodes/{node}/storage/{storage}/content", content="backup")
        except ApiError:
            continue
        for vol in content if isinstance(content, list) else []:
            volid = str(vol.get("volid", ""))
            if vol.get("notes") != notes or volid in seen:
                continue
            seen.add(volid)
            vmid = vol.get("vmid")
            found.append(BackupInfo(volid=volid, node=node, storage=storage,
                                    vmid=int(vmid) if vmid is not None else None,
                                    ctime=int(vol.get("ctime") or 0),
                                    size=int(vol.get("size") or 0)))
    return sorted(found, key=lambda b: (-b.ctime, b.volid))


def free_vmid(client: ProxmoxClient, wanted: int | None) -> int:
    """`wanted` when it is free, else the cluster's next free vmid."""
    if wanted is not None:
        try:
            return int(str(client.get("cluster/nextid", vmid=wanted)))
        except ParameterError:
            pass
    return int(str(client.get("cluster/nextid")))


def restore(client: ProxmoxClient, backup: BackupInfo, *, vmid: int, storage: str,
            force: bool = False, timeout: float = TIMEOUT) -> TaskResult:
    """`POST /nodes/{node}/lxc` with `restore=1`: the container comes back from `backup`,
    its volumes on `storage`. `force` restores over an existing (stopped) container."""
    params: dict[str, Any] = {"vmid": vmid, "ostemplate": backup.volid, "restore": 1,
                              "storage": storage}
    if force:
        params["force"] = 1
    try:
        upid = client.post(f"nodes/{backup.node}/lxc", **params)
    except ApiError as exc:
        raise ApplyError(f"restoring {backup.volid} failed: {exc.message}",
                         hint=exc.hint) from None
    return client.wait_task(str(upid), timeout=timeout)
