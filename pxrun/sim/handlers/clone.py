"""Clone a container (full copy or linked clone) and convert one into a template.

pve-container's `clone_vm`: the checks before forking fail the call (target vmid taken, a
linked clone with `storage`, a full clone of a running container without a snapshot, a bind
mount, a linked clone where the storage cannot, local storage with `target`); the source is
locked `disk` and the new config written at once with `lock: create` and fresh MAC addresses;
the `vzclone` worker copies or clones each volume, then unlocks both. A failure removes what
the worker made and ends with `clone failed: ...`. Linked clones need a template's base
volumes (or a snapshot) on storage that can clone them (lvmthin here).

`template` (`vztemplate`) renames every volume to `base-<vmid>-disk-N` and sets `template: 1`;
the call itself answers `null` as Proxmox does, the conversion finishes in its task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim import propstr
from pxrun.sim.api import Request, fail, route
from pxrun.sim.containers import Container, fill_net
from pxrun.sim.guest import is_volume, mountpoints, snapshot_copy
from pxrun.sim.storages import AllocError, disk_name
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

NOT_CLONED = frozenset({"parent", "snaptime", "snapstate", "template", "lock"})


def check_vmid_unused(sim: Simulator, vmid: int) -> None:
    found = sim.containers.get(vmid)
    if found is not None:
        raise fail(f"CT {vmid} already exists on node '{found.node}'")


@route("POST", "/nodes/{node}/lxc/{vmid}/clone")
def clone(sim: Simulator, req: Request) -> Any:
    p = req.params
    node, vmid, newid = p["node"], int(p["vmid"]), int(p["newid"])
    target = p.get("target")
    if target == node:
        target = None
    storage = p.get("storage")
    with sim.lock:
        check_vmid_unused(sim, newid)
        if p.get("pool") and p["pool"] not in sim.pools:
            raise fail(f"pool '{p['pool']}' does not exist")
        if target and target not in sim.nodes:
            raise fail(f"no such cluster node '{target}'")
        if storage:
            if storage not in sim.storages.defs:
                raise fail(f"storage '{storage}' does not exist")
            if sim.storages.available(storage, node) is None:
                raise fail(f"storage '{storage}' is not available on node '{node}'")
            if target:
                if sim.storages.available(storage, target) is None:
                    raise fail(f"storage '{storage}' is not available on node '{target}'")
                if not sim.storages.defs[storage].shared:
                    raise fail(f"can't clone to non-shared storage '{storage}'")
        src = sim.ct_on(node, vmid)
        src.check_lock()
        full = bool(p["full"]) if p.get("full") is not None else not src.is_template
        if storage and not full:
            raise fail("parameter 'storage' not allowed for linked clones")
        snapname = p.get("snapname")
        if snapname and snapname not in src.snapshots:
            raise fail(f"snapshot '{snapname}' does not exist")
        source: Any = src.snapshots[snapname] if snapname else src.conf
        volumes: dict[str, dict[str, Any]] = {}
        shared = True
        for key, mp in mountpoints(source):
            volid = str(mp["volume"])
            if not is_volume(mp):
                kind = "device" if volid.startswith("/dev/") else "bind"
                raise fail(f"unable to clone mountpoint '{key}' (type {kind})")
            sid = storage or volid.split(":", 1)[0]
            if not sim.storages.defs[sid].shared:
                shared = False
            if full:
                if src.running and not snapname:
                    raise fail("Cannot do full clones on a running container without "
                               "snapshots")
            elif not sim.storages.has_feature("clone", volid, snapshot=bool(snapname)):
                raise fail(f"Linked clone feature for '{volid}' is not available")
            volumes[key] = mp
        if target and not shared:
            raise fail(f"can't clone CT to node '{target}' (CT uses local storage)")
        conf: dict[str, str] = {}
        for key, value in snapshot_copy(source).items():
            if key in NOT_CLONED or key == "lxc" or key in volumes:
                continue
            conf[key] = fill_net(_new_mac(str(value)), sim.rng) if key.startswith("net") \
                else str(value)
        if src.conf.get("description"):
            conf["description"] = src.conf["description"]
        if p.get("hostname"):
            conf["hostname"] = str(p["hostname"])
        if p.get("description"):
            conf["description"] = str(p["description"])
        conf["lock"] = "create"
        new = Container(vmid=newid, node=node, conf=conf, ostemplate=src.ostemplate)
        new.raw_lxc = list(src.raw_lxc)
        new.firewall = dict(src.firewall)
        sim.containers[newid] = new
        src.conf["lock"] = "disk"
        sim.commit()
        work = _clone_worker(sim, src, new, volumes, full=full, storage=storage,
                             target=target, pool=p.get("pool"))
        return sim.tasks.start(node, "vzclone", str(vmid), req.auth.authid, work)


def _new_mac(value: str) -> str:
    """parse_lxc_network + a fresh random hwaddr (fill_net adds one when it is missing)."""
    net = propstr.parse("net", value)
    net.pop("hwaddr", None)
    return propstr.print_("net", net)


def _clone_worker(sim: Simulator, src: Container, new: Container,
                  volumes: dict[str, dict[str, Any]], *, full: bool, storage: str | None,
                  target: str | None, pool: str | None) -> Any:
    def work(ctx: TaskContext) -> None:
        made: list[str] = []
        try:
            for key, mp in sorted(volumes.items(), key=lambda item: item[0] != "rootfs"):
                ctx.phase(0.5 / max(1, len(volumes)))
                with sim.lock:
                    volid = str(mp["volume"])
                    vol = sim.storages.find(volid, src.node)
                    size = vol.size if vol is not None else int(mp.get("size") or 0)
                    sid = (storage or volid.split(":", 1)[0]) if full else volid.split(":", 1)[0]
                    if full:
                        ctx.log(f"create full clone of mountpoint {key} ({volid})")
                    else:
                        ctx.log(f"create linked clone of mount point {key} ({volid})")
                    if ctx.fault():
                        raise TaskError("rsync: [receiver] write failed: No space left on "
                                        "device (28)")
                    try:
                        created = sim.storages.allocate(sid, src.node, new.vmid, size)
                    except AllocError as exc:
                        raise TaskError(str(exc)) from exc
                    made.append(created.volid)
                    if key == "rootfs":
                        if sim.storages.files is not None:
                            sim.storages.files.copy_rootfs(src.vmid, new.vmid)
                    else:
                        sim.storages.copy_files(volid, created.volid)
                    if sim.storages.defs[sid].type == "lvmthin":
                        ctx.log(f'  Logical volume "{disk_name(created.volid)}" created.')
                    value = dict(mp)
                    value["volume"] = created.volid
                    value["size"] = size
                    new.conf[key] = propstr.print_("rootfs" if key == "rootfs" else "mp", value)
                    sim.commit()
            with sim.lock:
                if pool and pool in sim.pools:
                    sim.pools[pool].vms.append(new.vmid)
                src.conf.pop("lock", None)
                if target:
                    new.node = target
                new.conf.pop("lock", None)
                sim.commit()
        except Exception as exc:
            with sim.lock:
                for volid in made:
                    sim.storages.free(volid, src.node)
                if sim.containers.get(new.vmid) is new:
                    del sim.containers[new.vmid]
                if src.conf.get("lock") == "disk":
                    src.conf.pop("lock", None)
                sim.commit()
            raise TaskError(f"clone failed: {getattr(exc, 'message', None) or exc}") from exc

    return work


@route("POST", "/nodes/{node}/lxc/{vmid}/template")
def template(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = sim.ct_on(req.params["node"], int(req.params["vmid"]))
        ct.check_lock()
        if ct.snapshots:
            raise fail("unable to create template, because CT contains snapshots")
        if ct.is_template:
            raise fail("you can't convert a template to a template")
        if ct.running:
            raise fail("you can't convert a CT to template if the CT is running")

        def work(ctx: TaskContext) -> None:
            ctx.phase()
            with sim.lock:
                mounts = list(mountpoints(ct.conf))
                for _key, mp in mounts:
                    volid = str(mp["volume"])
                    if not sim.storages.has_feature("template", volid):
                        raise TaskError(f"Template feature is not available for '{volid}'")
                for key, mp in mounts:
                    old = str(mp["volume"])
                    base = sim.storages.rename(old, ct.node, ct.vmid, prefix="base")
                    if sim.storages.defs[old.split(":", 1)[0]].type == "lvmthin":
                        ctx.log(f'  Renamed "{disk_name(old)}" to "{disk_name(base)}" in '
                                'volume group "pve"')
                        ctx.log(f"  Logical volume pve/{disk_name(base)} changed.")
                    value = dict(mp)
                    value["volume"] = base
                    ct.conf[key] = propstr.print_("rootfs" if key == "rootfs" else "mp", value)
                ct.conf["template"] = "1"
                sim.commit()

        sim.tasks.start(ct.node, "vztemplate", str(ct.vmid), req.auth.authid, work)
    return None
