"""Reassign a volume to another container: `move_volume` with `target-vmid`.

pve-container's `move_volume` "to CT" path. Before forking, every check fails the call (500):
rootfs is never moved, an unused volume only to an `unusedN` key, both containers on one node
and unlocked, no templates, the digests (`Container N: detected modified configuration ...`),
the key exists on the source and is free on the target, no snapshot uses the volume, a storage
volume (not a bind mount) on storage that can rename, and a running source only gives up an
`unusedN` volume. The `move_volume` worker (id `<vmid>-<key>><target>-<target key>`) renames
the volume for its new owner (`vm-<target>-disk-N`, the target's next free number), removes
the key from the source config, then adds it to the target as a config update would: as
`unusedN` directly, or as a mount point through the same staging as `PUT config` (hot-plugged
into a running target), which is where a protected target fails the task with
`can't update CT <target> drive '<key>' - protection mode enabled` — after the rename, as in
Proxmox, so the volume then belongs to the target but no config names it (`pct rescan` adds
it as unused). Proxmox orders it the same way; the simulator does not hide that hazard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim import propstr
from pxrun.sim.api import ApiError, Request, fail
from pxrun.sim.containers import Container, is_managed, volume_of
from pxrun.sim.storages import AllocError, disk_name
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator


def _checks(sim: Simulator, req: Request, key: str, target_key: str,
            target_vmid: int) -> tuple[Container, Container, str]:
    p = req.params
    vmid = int(p["vmid"])
    if key == "rootfs" or target_key == "rootfs":
        raise fail("Cannot move to/from 'rootfs'")
    if key.startswith("unused") and not target_key.startswith("unused"):
        raise fail("Moving an unused volume to a used one is not possible")
    source = sim.containers.get(vmid)
    if source is None:
        raise fail(f"could not find CT {vmid}")
    target = sim.containers.get(target_vmid)
    if target is None:
        raise fail(f"could not find CT {target_vmid}")
    if source.node != target.node:
        raise fail(f"Both containers need to be on the same node ({source.node} != "
                   f"{target.node})")
    source.check_lock()
    target.check_lock()
    if source.is_template or target.is_template:
        raise fail("Can't move volumes from or to template CT")
    for ct, digest in ((source, p.get("digest")), (target, p.get("target-digest"))):
        try:
            ct.check_digest(digest)
        except ApiError as exc:
            raise fail(f"Container {ct.vmid}: {exc.message}") from None
    if key not in source.conf:
        raise fail(f"volume '{key}' for container '{vmid}' does not exist")
    if target_key in target.conf:
        raise fail(f"Target volume key '{target_key}' is already in use for container "
                   f"'{target_vmid}'")
    volid = volume_of(source.conf[key])
    if volid in source.snapshot_volumes():
        raise fail("Cannot move volume used by a snapshot to another container")
    if not is_managed(volid):
        raise fail("Cannot move a bindmount or device mount to another container")
    if not sim.storages.has_feature("rename", volid):
        raise fail("Storage does not support moving of this disk to another container")
    if source.running and not key.startswith("unused"):
        raise fail("Cannot move in-use volume while the source CT is running - detach or "
                   "shutdown first")
    return source, target, volid


def reassign(sim: Simulator, req: Request, key: str, target_vmid: int) -> Any:
    """Start the reassign worker (caller holds sim.lock)."""
    target_key = str(req.params.get("target-volume") or key)
    source, target, volid = _checks(sim, req, key, target_key, target_vmid)
    wid = f"{source.vmid}-{key}>{target_vmid}-{target_key}"

    def work(ctx: TaskContext) -> None:
        ctx.phase(0.5)
        with sim.lock:
            ctx.log(f"moving volume '{key}' from container '{source.vmid}' to "
                    f"'{target_vmid}'")
            if key not in source.conf or volume_of(source.conf[key]) != volid:
                raise TaskError(f"volume '{key}' for container '{source.vmid}' changed")
            try:
                new = sim.storages.rename(volid, source.node, target_vmid)
            except AllocError as exc:
                raise TaskError(str(exc)) from exc
            sid = volid.split(":", 1)[0]
            if sim.storages.defs[sid].type == "lvmthin":
                ctx.log(f'  Renamed "{disk_name(volid)}" to "{disk_name(new)}" in volume '
                        'group "pve"')
            value = source.conf[key]
            del source.conf[key]
            ctx.log(f"removing volume '{key}' from container '{source.vmid}' config")
            sim.commit()
            if target_key.startswith("unused"):
                target.conf[target_key] = new
            else:
                mp = propstr.parse("unused" if key.startswith("unused") else "mp", value)
                mp["volume"] = new
                _attach(sim, ctx, target, target_key, propstr.print_("mp", mp))
            ctx.log(f"target container '{target_vmid}' updated with '{target_key}'")
            sim.commit()

    return sim.tasks.start(source.node, "move_volume", wid, req.auth.authid, work)


def _attach(sim: Simulator, ctx: TaskContext, target: Container, key: str, value: str) -> None:
    """update_pct_config on the target with `{key: value}`: staged like `PUT config`
    (protection check included), hot-plugged into a running target, errors as warnings."""
    from pxrun.sim.handlers.config import Change, stage

    change = Change(sim, target)
    try:
        stage(sim, change, {key: value}, [], [])
    except ApiError as exc:
        raise TaskError(exc.message) from exc
    change.apply_pending(hotplug=target.running)
    for text in change.errors.values():
        ctx.warn(text)
    change.commit()
