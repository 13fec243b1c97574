"""Disks and placement: resize, move_volume, migrate (GET preconditions, POST) and interfaces.

Why migration moves volume allocations: a container's `local-lvm` disk lives on one node;
restart-mode migration copies it to the same storage id on the target, so the source frees
space and the target must have room, which is what placement decisions have to respect.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pxrun.sim import ha, propstr
from pxrun.sim.api import ApiError, Request, fail, param_error, route
from pxrun.sim.containers import Container, is_managed, volume_of
from pxrun.sim.formats import format_size, parse_size
from pxrun.sim.handlers.hareq import ha_request
from pxrun.sim.handlers.power import do_start, do_stop
from pxrun.sim.handlers.reassign import reassign
from pxrun.sim.storages import AllocError
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator


def _fmt(key: str) -> str:
    return "rootfs" if key == "rootfs" else "mp"


@route("PUT", "/nodes/{node}/lxc/{vmid}/resize")
def resize(sim: Simulator, req: Request) -> Any:
    p = req.params
    disk, size_text = str(p["disk"]), str(p["size"])
    with sim.lock:
        ct = sim.ct_on(p["node"], int(p["vmid"]))
        ct.check_lock()
        ct.check_digest(p.get("digest"))
        if disk not in ct.conf:
            raise fail(f"disk '{disk}' does not exist")
        mp = propstr.parse(_fmt(disk), ct.conf[disk])
        volid = str(mp["volume"])
        if not is_managed(volid):
            raise fail("you can't resize a bind mount")
        vol = sim.storages.find(volid, ct.node)
        current = vol.size if vol is not None else int(mp.get("size") or 0)
        found = re.fullmatch(r"(\+)?(\d+(?:\.\d+)?[KMGT]?)", size_text)
        amount = parse_size(found.group(2)) if found else None
        if found is None or amount is None:
            raise param_error({"size": "value does not match the regex pattern"})
        new = current + amount if found.group(1) else amount
        if new < current:
            raise fail("unable to shrink disk size")
        if new == current:
            raise fail("disk is already at specified size")

        def work(ctx: TaskContext) -> None:
            ctx.phase()
            with sim.lock:
                if ctx.fault():
                    raise TaskError("command 'resize2fs /dev/loop0' failed: exit code 1")
                try:
                    sim.storages.resize(volid, ct.node, new)
                except AllocError as exc:
                    raise TaskError(str(exc)) from exc
                value = propstr.parse(_fmt(disk), ct.conf[disk])
                value["size"] = new
                ct.conf[disk] = propstr.print_(_fmt(disk), value)
                ctx.log(f"  Size of logical volume changed to {format_size(new)}.")
                sim.commit()

        return sim.tasks.start(ct.node, "resize", str(ct.vmid), req.auth.authid, work)


@route("POST", "/nodes/{node}/lxc/{vmid}/move_volume")
def move_volume(sim: Simulator, req: Request) -> Any:
    p = req.params
    key, storage, target_vmid = str(p["volume"]), p.get("storage"), p.get("target-vmid")
    if storage and target_vmid:
        msg = "either set 'storage' or 'target-vmid', but not both"
        raise param_error({"storage": msg, "target-vmid": msg})
    if not storage and not target_vmid:
        msg = "both 'storage' and 'target-vmid' missing, either needs to be set"
        raise param_error({"storage": msg, "target-vmid": msg})
    with sim.lock:
        if target_vmid:
            return reassign(sim, req, key, int(target_vmid))
        ct = sim.ct_on(p["node"], int(p["vmid"]))
        ct.check_lock()
        ct.check_digest(p.get("digest"))
        if key not in ct.conf:
            raise fail(f"cannot move volume '{key}' - not set in config")
        if ct.running:
            raise fail("cannot move volumes of a running container")
        sdef = sim.storages.available(str(storage), ct.node)
        if sdef is None:
            raise fail(f"storage '{storage}' does not exist")
        if "rootdir" not in sdef.content:
            raise fail(f"storage '{storage}' does not allow content type 'rootdir' (Container)")
        fmt = "unused" if key.startswith("unused") else _fmt(key)
        mp = propstr.parse(fmt, ct.conf[key])
        old = str(mp["volume"])
        old_vol = sim.storages.find(old, ct.node)
        if old_vol is None:
            raise fail(f"volume '{old}' does not exist")
        if p.get("delete") and old in ct.snapshot_volumes():
            raise fail("you can't move a volume with snapshots and delete the source")
        ct.conf["lock"] = "disk"
        sim.commit()

        def work(ctx: TaskContext) -> None:
            try:
                ctx.phase(0.5)
                with sim.lock:
                    if ctx.fault():
                        raise TaskError("rsync: write failed: No space left on device (28)")
                    try:
                        new = sim.storages.allocate(str(storage), ct.node, ct.vmid, old_vol.size)
                    except AllocError as exc:
                        raise TaskError(str(exc)) from exc
                    ctx.log(f"moving volume {old} to {new.volid}")
                    sim.storages.copy_files(old, new.volid)
                ctx.phase(0.5)
                with sim.lock:
                    mp["volume"] = new.volid
                    if fmt != "unused":
                        mp["size"] = new.size
                    ct.conf[key] = propstr.print_(fmt, mp)
                    if p.get("delete") or key.startswith("unused"):
                        sim.storages.free(old, ct.node)
                    else:
                        ct.add_unused(old)
            finally:
                with sim.lock:
                    ct.conf.pop("lock", None)
                    sim.commit()

        return sim.tasks.start(ct.node, "move_volume", str(ct.vmid), req.auth.authid, work)


def _storage_map(spec: str | None) -> dict[str, str] | str | None:
    if not spec or spec == "1":
        return None
    if ":" not in spec:
        return spec
    return dict(pair.split(":", 1) for pair in re.split(r"[,;\s]+", spec) if pair)


def _target_storage(mapping: dict[str, str] | str | None, sid: str) -> str:
    if mapping is None:
        return sid
    if isinstance(mapping, str):
        return mapping
    return mapping.get(sid, sid)


def _migration_blockers(sim: Simulator, ct: Container, target: str,
                        mapping: dict[str, str] | str | None = None) -> list[str]:
    missing = []
    for volid in ct.volumes(include_pending=False):
        sid = volid.split(":", 1)[0]
        dest = _target_storage(mapping, sid)
        if sim.storages.available(dest, target) is None:
            missing.append(dest)
    return sorted(set(missing))


@route("GET", "/nodes/{node}/lxc/{vmid}/migrate")
def migrate_precondition(sim: Simulator, req: Request) -> Any:
    if not sim.pve9:
        raise ApiError(501, f"Method 'GET {req.path}' not implemented")
    with sim.lock:
        ct = sim.ct_on(req.params["node"], int(req.params["vmid"]))
        ct.check_lock()
        allowed, not_allowed = [], {}
        for name in sim.nodes:
            if name == ct.node or not sim.node_online(name):
                continue
            blockers = _migration_blockers(sim, ct, name)
            if blockers:
                not_allowed[name] = {"unavailable_storages": blockers}
            else:
                allowed.append(name)
        return {"running": 1 if ct.running else 0, "allowed-nodes": allowed,
                "not-allowed-nodes": not_allowed, "dependent-ha-resources": []}


@route("POST", "/nodes/{node}/lxc/{vmid}/migrate")
def migrate(sim: Simulator, req: Request) -> Any:
    p = req.params
    target = str(p["target"])
    if target == p["node"]:
        raise param_error({"target": "target is local node."})
    with sim.lock:
        if target not in sim.nodes:
            raise fail(f"no such cluster node '{target}'")
        ct = sim.ct_on(p["node"], int(p["vmid"]))
        if ct.running and not p.get("online") and not p.get("restart"):
            raise fail("can't migrate running container without --online or --restart")
        ct.check_lock()
        mapping = _storage_map(p.get("target-storage"))
        if ha.managed(sim, ct.vmid):
            return ha_request(sim, req, ct, "hamigrate", "migration", target)
        return sim.tasks.start(ct.node, "vzmigrate", str(ct.vmid), req.auth.authid,
                               migrate_worker(sim, ct, target, mapping, bool(p.get("online"))))


def migrate_worker(sim: Simulator, ct: Container, target: str,
                   mapping: dict[str, str] | str | None, online: bool = False) -> Any:
    """vzmigrate in restart mode: stop, copy local volumes, move the config, start again."""

    def work(ctx: TaskContext) -> None:
        source = ct.node
        restart = False
        with sim.lock:
            ctx.log(f"starting migration of CT {ct.vmid} to node '{target}' "
                    f"({sim.nodes[target].ip})")
            if ct.running and online:
                raise TaskError("lxc live migration is currently not implemented")
            if not sim.node_online(target):
                raise TaskError(f"migration aborted: target node '{target}' is not online")
            blockers = _migration_blockers(sim, ct, target, mapping)
            if blockers:
                raise TaskError(f"migration aborted: storage '{blockers[0]}' is not "
                                f"available on node '{target}'")
            ct.check_lock()
            ct.conf["lock"] = "migrate"
            sim.commit()
        try:
            if ct.running:
                restart = True
                ctx.log(f"shutdown CT {ct.vmid}")
                do_stop(ctx, ct)
            ctx.phase()
            with sim.lock:
                if ctx.fault():
                    raise TaskError("migration aborted: command 'rsync' failed: exit code 12")
                _move_volumes(sim, ctx, ct, source, target, mapping)
                ct.node = target
                ctx.log("migration finished successfully (duration 00:00:01)")
        finally:
            with sim.lock:
                ct.conf.pop("lock", None)
                sim.commit()
        if restart:
            ctx.log("start container on target node")
            do_start(ctx, ct)

    return work


def _move_volumes(sim: Simulator, ctx: TaskContext, ct: Container, source: str, target: str,
                  mapping: dict[str, str] | str | None) -> None:
    """Copy local volumes to the target (all or nothing), then fix the config and free."""
    moves: list[tuple[str, str]] = []
    try:
        for volid in ct.volumes(include_pending=False):
            sid = volid.split(":", 1)[0]
            dest = _target_storage(mapping, sid)
            if sim.storages.defs[sid].shared and dest == sid:
                continue
            vol = sim.storages.find(volid, source)
            size = vol.size if vol is not None else 0
            try:
                new = sim.storages.allocate(dest, target, ct.vmid, size)
            except AllocError as exc:
                raise TaskError(f"migration aborted: {exc}") from exc
            moves.append((volid, new.volid))
            ctx.log(f"found local volume '{volid}' (in current VM config)")
    except TaskError:
        for _old, new_volid in moves:
            sim.storages.free(new_volid, target)
        raise
    renamed = dict(moves)
    # The files go through staging names: a target may get the name another volume of this
    # container had on the source (disk-1 -> disk-2 while disk-2 -> disk-1), and copying one
    # at a time would overwrite that volume's files before they were copied.
    staged = {old: f"{old}@migrating" for old in renamed}
    for old, stage in staged.items():
        sim.storages.copy_files(old, stage)
    for old, new_volid in renamed.items():
        sim.storages.copy_files(staged[old], new_volid)
    if sim.storages.files is not None:
        for stage in staged.values():
            sim.storages.files.remove(stage)
    for old in renamed:
        sim.storages.free(old, source)
    # All keys at once from the old values: renaming one volume at a time could give a key
    # the name another volume had before (rootfs and mp0 naming one volume, one orphaned).
    for key, value in list(ct.conf.items()):
        if key == "rootfs" or key.startswith(("mp", "unused")):
            volume = volume_of(value)
            if volume in renamed:
                _, comma, rest = value.partition(",")
                ct.conf[key] = renamed[volume] + comma + rest
