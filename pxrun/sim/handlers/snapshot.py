"""Container snapshots: list, create, delete, rollback, per-snapshot config, and `feature`.

The rules are pve-guest-common's `AbstractConfig` ones as pve-container uses them: a snapshot is
a `[name]` section of the config holding a copy of the config at that time (without the
description, `unusedN` and bookkeeping) plus `snaptime`, its `description` and its `parent`;
the main config's `parent` names the snapshot the current state derives from. Creating needs
every mount point on snapshot-capable storage (no bind mounts), exactly what `GET feature`
answers. The API refuses the reserved names `current` and `pending` before forking; every
other failure ends the task. Rollback stops a running container, restores the snapshot's
config (volumes mounted only by the current config become `unusedN`) and can start it again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pxrun.sim.api import Request, fail, route
from pxrun.sim.containers import Container, typed
from pxrun.sim.guest import has_feature, mountpoints, referenced_volumes, snapshot_copy
from pxrun.sim.handlers.power import do_start, do_stop
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

SNAP = "/nodes/{node}/lxc/{vmid}/snapshot"


def _ct(sim: Simulator, req: Request) -> Container:
    return sim.ct_on(req.params["node"], int(req.params["vmid"]))


def _mount_volumes(conf: Any) -> list[str]:
    """The volumes of the mount points (not rootfs: its files are the container's own)."""
    return [str(mp["volume"]) for key, mp in mountpoints(conf)
            if key != "rootfs" and ":" in str(mp["volume"])]


def _lvm_names(sim: Simulator, ct: Container, snapname: str) -> list[str]:
    names = []
    for _key, mp in mountpoints(ct.conf):
        volid = str(mp.get("volume", ""))
        sid = volid.split(":", 1)[0]
        if sid in sim.storages.defs and sim.storages.defs[sid].type == "lvmthin":
            names.append(f"snap_{volid.split(':', 1)[1]}_{snapname}")
    return names


@route("GET", SNAP)
def list_snapshots(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        out: list[dict[str, Any]] = []
        for name, snap in sorted(ct.snapshots.items(),
                                 key=lambda item: (int(item[1].get("snaptime", 0)), item[0])):
            item: dict[str, Any] = {"name": name, "snaptime": int(snap.get("snaptime") or 0),
                                    "description": snap.get("description") or ""}
            if snap.get("parent"):
                item["parent"] = snap["parent"]
            if snap.get("snapstate"):
                item["snapstate"] = snap["snapstate"]
            out.append(item)
        current: dict[str, Any] = {"name": "current", "description": "You are here!",
                                   "running": 1 if ct.running else 0, "digest": ct.digest}
        if ct.conf.get("parent"):
            current["parent"] = ct.conf["parent"]
        out.append(current)
        return out


def check_snapname(name: str) -> None:
    if name == "current":
        raise fail("unable to use snapshot name 'current' (reserved name)")
    if name.lower() == "pending":
        raise fail("unable to use snapshot name 'pending' (reserved name)")


def take_snapshot(ctx: TaskContext, ct: Container, name: str, description: str | None) -> None:
    """snapshot_create inside a worker (also vzdump's temporary `vzdump` snapshot)."""
    sim = ctx.sim
    with sim.lock:
        if ct.is_template:
            raise TaskError("you can't take a snapshot if it's a template")
        if ct.lock:
            raise TaskError(f"CT is locked ({ct.lock})")
        if name in ct.snapshots:
            raise TaskError(f"snapshot name '{name}' already used")
        if not has_feature(sim, ct.conf, "snapshot", backup_only=name == "vzdump"):
            raise TaskError("snapshot feature is not available")
        for other, snap in ct.snapshots.items():
            if snap.get("parent") == name:
                ctx.warn(f"deleting parent 'snapshot' reference from '{other}' to avoid "
                         "bogus snapshot cycle.")
                del snap["parent"]
        ct.conf["lock"] = "snapshot"
        snap = snapshot_copy(ct.conf)
        if ct.raw_lxc:
            snap["lxc"] = [list(item) for item in ct.raw_lxc]
        snap["snapstate"] = "prepare"
        snap["snaptime"] = str(int(time.time()))
        if description:
            snap["description"] = description
        ct.snapshots[name] = snap
        sim.commit()
    ctx.phase(0.5)
    with sim.lock:
        if ctx.fault():
            del ct.snapshots[name]
            ct.conf.pop("lock", None)
            sim.commit()
            raise TaskError(f"lvcreate snapshot 'pve/snap_vm-{ct.vmid}-disk-0_{name}' error:  "
                            "Cannot create new thin volume, free space in thin pool pve/data "
                            "reached threshold.")
        for lv in _lvm_names(sim, ct, name):
            ctx.log(f'  Logical volume "{lv}" created.')
        if sim.storages.files is not None:
            sim.storages.files.snapshot(ct.vmid, _mount_volumes(ct.conf), name)
        snap = ct.snapshots[name]
        snap.pop("snapstate", None)
        ct.snapshots[name] = snap
        ct.conf.pop("lock", None)
        ct.conf["parent"] = name
        sim.commit()


def remove_snapshot(ctx: TaskContext, ct: Container, name: str, *, force: bool = False,
                    lock: str = "snapshot-delete") -> None:
    """snapshot_delete inside a worker: relink children, freed volumes become unusedN."""
    sim = ctx.sim
    with sim.lock:
        if ct.lock and ct.lock != lock:
            raise TaskError(f"CT is locked ({ct.lock})")
        if ct.is_template:
            raise TaskError("you can't delete a snapshot if vm is a template")
        snap = ct.snapshots.get(name)
        if snap is None:
            raise TaskError(f"snapshot '{name}' does not exist")
        ct.conf["lock"] = lock
        snap["snapstate"] = "delete"
        ct.snapshots[name] = snap
        sim.commit()
    ctx.phase(0.5)
    with sim.lock:
        if ctx.fault():
            if not force:
                ct.conf.pop("lock", None)
                sim.commit()
                raise TaskError(f"lvremove 'pve/snap_vm-{ct.vmid}-disk-0_{name}' error:   "
                                "Logical volume pve/snap_vm-{ct.vmid}-disk-0_{name} in use.")
            ctx.warn("removing the volume snapshots failed; removing the snapshot from the "
                     "config anyway (force)")
        before = referenced_volumes(ct)
        for lv in _lvm_names(sim, ct, name):
            ctx.log(f'  Logical volume "{lv}" successfully removed.')
        if sim.storages.files is not None:
            sim.storages.files.drop_snapshot(ct.vmid, _mount_volumes(snap), name)
        del ct.snapshots[name]
        parent = snap.get("parent")
        for other in ct.snapshots.values():
            if other.get("parent") == name:
                if parent:
                    other["parent"] = parent
                else:
                    other.pop("parent", None)
        if ct.conf.get("parent") == name:
            if parent:
                ct.conf["parent"] = parent
            else:
                del ct.conf["parent"]
        for volid in sorted(before - referenced_volumes(ct)):
            ct.add_unused(volid)
        ct.conf.pop("lock", None)
        sim.commit()


@route("POST", SNAP)
def create_snapshot(sim: Simulator, req: Request) -> Any:
    name = str(req.params["snapname"])
    check_snapname(name)
    with sim.lock:
        ct = _ct(sim, req)
        description = req.params.get("description")
        return sim.tasks.start(ct.node, "vzsnapshot", str(ct.vmid), req.auth.authid,
                               lambda ctx: take_snapshot(ctx, ct, name, description))


@route("GET", SNAP + "/{snapname}")
def snapshot_index(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        if req.params["snapname"] not in ct.snapshots:
            raise fail(f"snapshot '{req.params['snapname']}' does not exist")
    return [{"cmd": "rollback"}, {"cmd": "config"}]


@route("DELETE", SNAP + "/{snapname}")
def delete_snapshot(sim: Simulator, req: Request) -> Any:
    name = str(req.params["snapname"])
    force = bool(req.params.get("force"))
    with sim.lock:
        ct = _ct(sim, req)
        return sim.tasks.start(ct.node, "vzdelsnapshot", str(ct.vmid), req.auth.authid,
                               lambda ctx: remove_snapshot(ctx, ct, name, force=force))


@route("GET", SNAP + "/{snapname}/config")
def get_snapshot_config(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        return snapshot_json(ct, str(req.params["snapname"]))


def snapshot_json(ct: Container, name: str) -> dict[str, Any]:
    snap = ct.snapshots.get(name)
    if snap is None:
        raise fail(f"snapshot '{name}' does not exist")
    return {k: typed(k, str(v)) for k, v in snap.items() if k != "lxc"}


@route("PUT", SNAP + "/{snapname}/config")
def update_snapshot_config(sim: Simulator, req: Request) -> Any:
    if req.params.get("description") is None:
        return None
    with sim.lock:
        ct = _ct(sim, req)
        ct.check_lock()
        name = str(req.params["snapname"])
        snap = ct.snapshots.get(name)
        if snap is None:
            raise fail(f"snapshot '{name}' does not exist")
        snap["description"] = str(req.params["description"])
        ct.snapshots[name] = snap
        sim.commit()
    return None


@route("POST", SNAP + "/{snapname}/rollback")
def rollback(sim: Simulator, req: Request) -> Any:
    name = str(req.params["snapname"])
    start = bool(req.params.get("start"))
    with sim.lock:
        ct = _ct(sim, req)

        def work(ctx: TaskContext) -> None:
            with sim.lock:
                if ct.is_template:
                    raise TaskError("you can't rollback if vm is a template")
                snap = ct.snapshots.get(name)
                if snap is None:
                    raise TaskError(f"snapshot '{name}' does not exist")
                if snap.get("snapstate"):
                    raise TaskError("unable to rollback to incomplete snapshot (snapstate = "
                                    f"{snap['snapstate']})")
                if ct.lock:
                    raise TaskError(f"CT is locked ({ct.lock})")
            if ct.running:
                do_stop(ctx, ct)
            with sim.lock:
                ct.conf["lock"] = "rollback"
                sim.commit()
            ctx.phase(0.5)
            with sim.lock:
                for _key, mp in mountpoints(ct.snapshots[name]):
                    volid = str(mp["volume"])
                    sid = volid.split(":", 1)[0]
                    if sid in sim.storages.defs and sim.storages.defs[sid].type == "lvmthin":
                        lv = volid.split(":", 1)[1]
                        ctx.log(f'  Logical volume "{lv}" successfully removed.')
                        ctx.log(f'  Logical volume "{lv}" created.')
                restore_snapshot_config(ct, name)
                if sim.storages.files is not None:
                    sim.storages.files.rollback(ct.vmid, _mount_volumes(ct.conf), name)
                sim.commit()
            if start:
                do_start(ctx, ct)

        return sim.tasks.start(ct.node, "vzrollback", str(ct.vmid), req.auth.authid, work)


def restore_snapshot_config(ct: Container, name: str) -> None:
    """__snapshot_apply_config: the snapshot's config, keeping the description and unusedN;
    volumes only the current config mounts become unusedN; pending changes are dropped."""
    snap = ct.snapshots[name]
    snapshot_mounts = {str(mp["volume"]) for _k, mp in mountpoints(snap)}
    dropped = [str(mp["volume"]) for _k, mp in mountpoints(ct.conf)
               if ":" in str(mp["volume"]) and str(mp["volume"]) not in snapshot_mounts]
    kept = {k: v for k, v in ct.conf.items() if k == "description" or k.startswith("unused")}
    fresh = {**kept, **{k: str(v) for k, v in snapshot_copy(snap).items() if k != "lxc"}}
    fresh["parent"] = name
    ct.conf = fresh
    ct.raw_lxc = [(k, v) for k, v in snap.get("lxc", [])]
    ct.pending = {}
    ct.pending_delete = []
    for volid in dropped:
        ct.add_unused(volid)
    for key in [k for k, v in ct.conf.items()
                if k.startswith("unused") and v in snapshot_mounts]:
        del ct.conf[key]


@route("GET", "/nodes/{node}/lxc/{vmid}/feature")
def feature(sim: Simulator, req: Request) -> Any:
    """vm_feature: the same `has_feature` that snapshot, clone and vzdump consult."""
    with sim.lock:
        ct = _ct(sim, req)
        name = req.params.get("snapname")
        conf: Any = ct.conf
        if name:
            if name not in ct.snapshots:
                raise fail(f"snapshot '{name}' does not exist")
            conf = ct.snapshots[name]
        found = has_feature(sim, conf, str(req.params["feature"]), snapshot=bool(name))
        return {"hasFeature": 1 if found else 0}
