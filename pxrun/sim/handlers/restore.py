"""Restore a container from a vzdump archive: `POST /nodes/{node}/lxc` with `restore=1`.

As pve-container's `create_vm` in restore mode. Before forking: an existing vmid needs `force`
(then the existing container must not be protected — `unable to restore CT N - protection
mode enabled` — nor running — `can't overwrite running container`), the archive must exist,
and the storage (default `local`) must hold container directories. The `vzrestore` worker
recovers the archived config: every volume mount point (rootfs and each mpN, backed up or
not) gets a new volume of its archived size on `storage` — unless the call names rootfs/mpN
itself — bind and device mounts come back as they were (root@pam only). With `force` the old
container's volumes are destroyed first, all of them, as in Proxmox. The archived options
fill in what the call did not set (`sanitize_and_merge_config`: never rootfs, mpN, unusedN,
parent, snapshots, template); with `unique` every NIC gets a new MAC. A template comes back as
a template where its storage can hold one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim import conffile, propstr
from pxrun.sim.api import Request, fail, param_error
from pxrun.sim.containers import Container, canonical_value, fill_net, is_option
from pxrun.sim.ctperms import check_create
from pxrun.sim.guest import mountpoints, referenced_volumes
from pxrun.sim.handlers.backup import find_backup
from pxrun.sim.handlers.config import Change, access_of, value_text
from pxrun.sim.handlers.power import do_start
from pxrun.sim.storages import disk_name
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

NOT_MERGED = ("digest", "rootfs", "snapshots", "unprivileged", "parent", "template", "lock")
NOT_CONFIG = {"node", "vmid", "ostemplate", "storage", "start", "pool", "password",
              "ssh-public-keys", "force", "restore", "unique", "ignore-unpack-errors",
              "bwlimit", "ha-managed"}


def restore(sim: Simulator, req: Request) -> Any:
    p = dict(req.params)
    node, vmid = p["node"], int(p["vmid"])
    archive = str(p["ostemplate"])
    storage = str(p.get("storage") or "local")
    with sim.lock:
        existing = sim.containers.get(vmid)
        check_create(access_of(sim, req), req.auth, vmid, p.get("pool"),
                     restore_over=bool(existing is not None and p.get("force")))
        if existing is not None:
            if not p.get("force"):
                raise fail(f"CT {vmid} already exists on node '{existing.node}'")
            existing = sim.ct_on(node, vmid)
            existing.check_protection(f"unable to restore CT {vmid}")
            if existing.running:
                raise fail("can't overwrite running container")
            existing.check_lock()
        vol = find_backup(sim, node, archive)
        if p.get("pool") and p["pool"] not in sim.pools:
            raise fail(f"pool '{p['pool']}' does not exist")
        sdef = sim.storages.available(storage, node)
        if sdef is None:
            raise fail(f"storage '{storage}' does not exist")
        if "rootdir" not in sdef.content:
            raise param_error({"storage": f"storage '{storage}' does not support container "
                                          "directories"})
        archived = conffile.parse(str(vol.extra.get("config", "")))
        mounts, delayed = _mount_params(p, archived.conf, storage, req.auth.is_root)
        conf = _merged(sim, p, archived.conf)
        ct = existing or Container(vmid=vmid, node=node)
        old_volumes = sorted(referenced_volumes(ct)) if existing else []
        ct.conf = {"lock": "create"}
        ct.pending, ct.pending_delete, ct.snapshots = {}, [], {}
        sim.containers[vmid] = ct
        sim.commit()
        raw_lxc = archived.raw_lxc if req.auth.is_root else []
        firewall = dict(vol.extra.get("firewall") or {})
        template = archived.conf.get("template") == "1"

        def work(ctx: TaskContext) -> None:
            change: Change | None = None
            try:
                with sim.lock:
                    ctx.log(f"recovering backed-up configuration from '{archive}'")
                    for volid in old_volumes:
                        sim.storages.free(volid, node)
                        ctx.log(f'  Logical volume "{disk_name(volid)}" successfully removed.')
                    change = Change(sim, ct)
                    for key in sorted(mounts, key=lambda k: k != "rootfs"):
                        change.mount(key, mounts[key])
                    ctx.log(f"restoring '{archive}' now..")
                ctx.phase()
                if ctx.fault():
                    raise TaskError("command 'lxc-usernsexec -m u:0:100000:65536 -- tar xpf - "
                                    "--zstd --totals ...' failed: exit code 2")
                with sim.lock:
                    ctx.log(f"Total bytes read: {vol.size * 2} ({vol.size * 2 >> 20}MiB)")
                    ctx.log("merging backed-up and given configuration..")
                    for key, value in {**conf, **delayed}.items():
                        change.ct.conf[key] = value
                    change.ct.conf.pop("lock", None)
                    change.commit()
                    change = None
                    if sim.storages.files is not None:
                        made = {key: str(mp["volume"]) for key, mp in mountpoints(ct.conf)}
                        sim.storages.files.restore(archive, vmid, made)
                    ct.raw_lxc = raw_lxc
                    ct.firewall = firewall
                    if template:
                        _as_template(ctx, ct)
                    if p.get("pool") and p["pool"] in sim.pools:
                        sim.pools[p["pool"]].vms.append(vmid)
                    sim.commit()
                if p.get("start") and not template:
                    do_start(ctx, ct)
            except Exception as exc:
                with sim.lock:
                    if change is not None:
                        change.rollback()
                    for volid in ct.volumes():
                        sim.storages.free(volid, node)
                    if sim.containers.get(vmid) is ct:
                        del sim.containers[vmid]
                    sim.commit()
                text = getattr(exc, "message", None) or str(exc)
                raise TaskError(f"unable to restore CT {vmid} - {text}") from exc

        return sim.tasks.start(node, "vzrestore", str(vmid), req.auth.authid, work)


def _mount_params(p: dict[str, Any], archived: dict[str, str], storage: str,
                  is_root: bool) -> tuple[dict[str, str], dict[str, str]]:
    """(volumes to allocate as `key -> STORAGE:SIZE,...`, bind/device mounts as they were)."""
    given = {k: value_text(v) for k, v in p.items()
             if k == "rootfs" or (k.startswith("mp") and k[2:].isdigit())}
    if given:
        if "rootfs" not in given:
            raise fail("mount points configured, but 'rootfs' not set - aborting")
        return {k: f"{storage}:{v}" if v.replace(".", "", 1).isdigit() else v
                for k, v in given.items()}, {}
    mounts: dict[str, str] = {}
    delayed: dict[str, str] = {}
    for key, mp in mountpoints(archived):
        volume = str(mp["volume"])
        if volume.startswith("/"):
            kind = "device" if volume.startswith("/dev/") else "bind"
            if key == "rootfs":
                raise fail(f"restoring rootfs to {kind} mount is only possible by specifying "
                           "-rootfs manually!")
            if not is_root:
                raise fail(f"restoring '{key}' to {kind} mount is only possible for root")
            delayed[key] = archived[key]
            continue
        if not mp.get("size"):
            raise fail(f"unable to detect disk size - please specify {key} (size)")
        gib = int(mp["size"]) / (1 << 30)
        mp["volume"] = f"{storage}:{format(gib, 'g')}"
        mp.pop("size")
        mounts[key] = propstr.print_("rootfs" if key == "rootfs" else "mp", mp)
    if "rootfs" not in mounts:
        raise fail("rootfs configuration could not be recovered, please check and specify "
                   "manually!")
    return mounts, delayed


def _merged(sim: Simulator, p: dict[str, Any], archived: dict[str, str]) -> dict[str, str]:
    """The call's options, filled in from the archive (sanitize_and_merge_config)."""
    conf: dict[str, str] = {}
    for key, value in p.items():
        if key in NOT_CONFIG or not is_option(key) or key == "rootfs" or key.startswith("mp"):
            continue
        text = value_text(value)
        if key.startswith("net"):
            conf[key] = fill_net(text, sim.rng)
        elif key == "description":
            conf[key] = text
        else:
            conf[key] = canonical_value(key, text)
    for key, value in archived.items():
        if key in NOT_MERGED or key.startswith(("mp", "unused")):
            continue
        if p.get("unique") and key.startswith("net"):
            net = propstr.parse("net", value)
            net.pop("hwaddr", None)
            conf[key] = fill_net(propstr.print_("net", net), sim.rng)
            continue
        conf.setdefault(key, value)
    conf["unprivileged"] = str(int(p["unprivileged"])) if p.get("unprivileged") is not None \
        else archived.get("unprivileged", "0")
    conf.setdefault("hostname", f"CT{p['vmid']}")
    conf.setdefault("memory", "512")
    conf.setdefault("swap", "512")
    return conf


def _as_template(ctx: TaskContext, ct: Container) -> None:
    sim = ctx.sim
    mounts = list(mountpoints(ct.conf))
    if not all(sim.storages.has_feature("template", str(mp["volume"])) for _, mp in mounts):
        ctx.warn("restoring a template onto storage that cannot hold templates: restored "
                 "as a normal container")
        return
    for key, mp in mounts:
        mp["volume"] = sim.storages.rename(str(mp["volume"]), ct.node, ct.vmid, prefix="base")
        ct.conf[key] = propstr.print_("rootfs" if key == "rootfs" else "mp", mp)
    ct.conf["template"] = "1"
