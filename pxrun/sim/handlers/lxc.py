"""Container list, create (`vzcreate`), directory index and destroy (`vzdestroy`).

Create reserves the vmid at once with a config holding only `lock: create`, exactly as
`create_and_lock_config` does, so a concurrent create or `nextid` sees it taken; the worker
then allocates volumes, fills the config and, on failure, removes everything again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim import ha, propstr
from pxrun.sim.api import Request, fail, param_error, permission_denied, route
from pxrun.sim.cluster import ostype_of
from pxrun.sim.containers import Container, canonical_value, fill_net, is_option, volume_of
from pxrun.sim.ctperms import check_create, check_options
from pxrun.sim.guest import referenced_volumes
from pxrun.sim.handlers.config import MOUNT_RE, Change, access_of, check_features, value_text
from pxrun.sim.handlers.jobs import purge_from_jobs
from pxrun.sim.handlers.power import do_start, do_stop
from pxrun.sim.handlers.restore import restore
from pxrun.sim.rootfs import remove_rootfs
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

NOT_CONFIG = {"node", "vmid", "ostemplate", "storage", "start", "pool", "password",
              "ssh-public-keys", "force", "restore", "unique", "ignore-unpack-errors",
              "bwlimit", "ha-managed"}


@route("GET", "/nodes/{node}/lxc")
def list_lxc(sim: Simulator, req: Request) -> Any:
    node = req.params["node"]
    access = access_of(sim, req)
    with sim.lock:
        cpus = sim.nodes[node].cpus
        return [ct.vmstatus(cpus, sim.pve9) for ct in sorted(sim.containers.values(),
                                                             key=lambda c: c.vmid)
                if ct.node == node and (access is None or req.auth.is_root or access.has(
                    req.auth, f"/vms/{ct.vmid}", ["VM.Audit"]))]


@route("GET", "/nodes/{node}/lxc/{vmid}")
def ct_index(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        sim.ct_on(req.params["node"], req.params["vmid"])
    names = ["config", "status", "vncproxy", "termproxy", "vncwebsocket", "spiceproxy",
             "remote_migrate", "migrate", "clone", "rrd", "rrddata", "firewall", "snapshot",
             "resize", "interfaces", "pending", "feature", "template", "move_volume", "mtunnel"]
    return [{"subdir": name} for name in names]


def _template(sim: Simulator, node: str, ostemplate: str) -> None:
    sid = ostemplate.split(":", 1)[0] if ":" in ostemplate else ""
    if sid and sid not in sim.storages.defs:
        raise fail(f"storage '{sid}' does not exist")
    if not sid or sim.storages.find(ostemplate, node) is None:
        raise fail(f"volume '{ostemplate}' does not exist")


@route("POST", "/nodes/{node}/lxc")
def create(sim: Simulator, req: Request) -> Any:
    p = dict(req.params)
    node, vmid = p["node"], int(p["vmid"])
    if p.get("restore"):
        return restore(sim, req)
    if any(k.startswith("mp") and k[2:].isdigit() for k in p) and "rootfs" not in p:
        raise fail("mount points configured, but 'rootfs' not set - aborting")
    storage = str(p.get("storage") or "local")
    with sim.lock:
        existing = sim.containers.get(vmid)
        if existing is not None:
            raise fail(f"CT {vmid} already exists on node '{existing.node}'")
        sdef = sim.storages.available(storage, node)
        if sdef is None:
            raise fail(f"storage '{storage}' does not exist")
        if "rootdir" not in sdef.content:
            raise param_error({"storage": f"storage '{storage}' does not support container "
                                          "directories"})
        if p.get("pool") and p["pool"] not in sim.pools:
            raise fail(f"pool '{p['pool']}' does not exist")
        _template(sim, node, str(p["ostemplate"]))
        unprivileged = int(p.get("unprivileged", 1 if sim.pve9 else 0))
        conf = _initial_conf(sim, p, storage, unprivileged)
        template_vol = sim.storages.find(str(p["ostemplate"]), node)
        image = template_vol.extra.get("oci") if template_vol is not None else None
        if image:
            oci_conf(conf, image, p)
        if not req.auth.is_root:
            _check_create_perms(conf, unprivileged)
            access = access_of(sim, req)
            pool = p.get("pool")
            check_create(access, req.auth, vmid, pool)
            if access is not None:
                if not unprivileged:
                    access.check(req.auth, "/", ["Sys.Modify"])
                access.check(req.auth, f"/storage/{storage}", ["Datastore.AllocateSpace"])
            check_options(access, req.auth, vmid, pool,
                          {k: v for k, v in p.items() if is_option(k) and k in conf})
        ct = Container(vmid=vmid, node=node, conf={"lock": "create"},
                       ostemplate=str(p["ostemplate"]),
                       ssh_public_keys=p.get("ssh-public-keys"))
        sim.containers[vmid] = ct
        sim.commit()
        work = _create_worker(sim, ct, conf, p, image)
        return sim.tasks.start(node, "vzcreate", str(vmid), req.auth.authid, work)


def oci_conf(conf: dict[str, str], image: dict[str, Any], p: dict[str, Any]) -> None:
    """What a container created from an OCI archive takes from the image (PVE 9.1): the
    options the call did not set, console mode, host-managed networking for applications."""
    if "entrypoint" not in p:
        conf["entrypoint"] = str(image["entrypoint"])
    if "env" not in p and image.get("env"):
        conf["env"] = "\0".join(image["env"])
    if "ostype" not in p:
        conf["ostype"] = str(image.get("ostype", "unmanaged"))
    if "cmode" not in p:
        conf["cmode"] = "console"
    if image.get("application"):
        for key in [k for k in conf if k.startswith("net")]:
            net = propstr.parse("net", conf[key])
            net.setdefault("host-managed", 1)
            conf[key] = propstr.print_("net", net)


def _initial_conf(sim: Simulator, p: dict[str, Any], storage: str,
                  unprivileged: int) -> dict[str, str]:
    conf: dict[str, str] = {}
    for key, value in p.items():
        if key in NOT_CONFIG or not is_option(key):
            continue
        text = value_text(value)
        if key.startswith("net"):
            conf[key] = fill_net(text, sim.rng)
        elif MOUNT_RE.match(key) and text.replace(".", "", 1).isdigit():
            conf[key] = f"{storage}:{text}"
        elif key == "description":
            conf[key] = text
        else:
            conf[key] = canonical_value(key, text)
    conf.setdefault("rootfs", f"{storage}:4")
    conf["unprivileged"] = str(unprivileged)
    conf.setdefault("arch", "amd64")
    conf.setdefault("ostype", ostype_of(str(p["ostemplate"])))
    conf.setdefault("hostname", f"CT{p['vmid']}")
    conf.setdefault("memory", "512")
    conf.setdefault("swap", "512")
    return conf


def _check_create_perms(conf: dict[str, str], unprivileged: int) -> None:
    for key, value in conf.items():
        if key.startswith("dev"):
            raise permission_denied("configuring device passthrough is only allowed for root@pam")
        if key == "hookscript":
            raise permission_denied("changing the hookscript is only allowed for root@pam")
        if MOUNT_RE.match(key) and volume_of(value).startswith("/"):
            kind = "device" if volume_of(value).startswith("/dev/") else "bind"
            raise permission_denied(f"mount point type {kind} is only allowed for root@pam")
        if key == "features":
            check_features(None, value, unprivileged=bool(unprivileged))


def _create_worker(sim: Simulator, ct: Container, conf: dict[str, str],
                   p: dict[str, Any], image: dict[str, Any] | None = None) -> Any:
    vmid = ct.vmid

    def work(ctx: TaskContext) -> None:
        change: Change | None = None
        try:
            ctx.phase(0.3)
            with sim.lock:
                change = Change(sim, ct)
                for key in sorted((k for k in conf if MOUNT_RE.match(k)), key=_mount_order):
                    change.mount(key, conf[key])
                    volid = volume_of(change.ct.conf[key])
                    if volid.split(":", 1)[0] in sim.storages.defs and \
                            sim.storages.defs[volid.split(":", 1)[0]].type == "lvmthin":
                        ctx.log(f'  Logical volume "{volid.split(":", 1)[1]}" created.')
                size = change.ct.disk_size("rootfs")
                ctx.log(f"Creating filesystem with {size // 4096} 4k blocks and "
                        f"{size // 16384} inodes")
                ctx.log(f"extracting archive '/var/lib/vz/template/cache/"
                        f"{str(p['ostemplate']).rsplit('/', 1)[-1]}'")
            ctx.phase(0.5)
            if ctx.fault():
                raise TaskError("command 'lxc-usernsexec -m u:0:100000:65536 -m g:0:100000:65536 "
                                "-- tar xpf - --zstd --totals --one-file-system -p --sparse "
                                "--numeric-owner --acls --xattrs -C /var/lib/lxc/"
                                f"{vmid}/rootfs --skip-old-files --anchored --exclude "
                                "'./dev/*'' failed: exit code 2")
            with sim.lock:
                if image:
                    ctx.log("Detected OCI archive")
                    for path in image.get("volumes", []):
                        ctx.log(f"creating base directory for volume at {path}")
                    change.ct.raw_lxc = [("lxc.init.cwd", str(image.get("cwd", "/"))),
                                         ("lxc.signal.halt",
                                          str(image.get("stop_signal", "SIGTERM")))]
                else:
                    ctx.log("Total bytes read: 530391040 (506MiB, 145MiB/s)")
                ctx.log(f"Detected container architecture: {conf['arch']}")
                ctx.log("Creating SSH host key 'ssh_host_ed25519_key' - this may take some "
                        "time ...")
                for key, value in conf.items():
                    if not MOUNT_RE.match(key):
                        change.ct.conf[key] = value
                change.ct.conf.pop("lock", None)
                change.commit()
                change = None
                if p.get("pool") and p["pool"] in sim.pools:
                    sim.pools[p["pool"]].vms.append(vmid)
                if p.get("ha-managed"):
                    ha.data(sim)["resources"][f"ct:{vmid}"] = {
                        **ha.RESOURCE_DEFAULTS, "state": "started" if p.get("start") else
                        "stopped"}
                    ctx.log(f"added CT {vmid} as HA resource ct:{vmid}")
                sim.commit()
            if p.get("start"):
                do_start(ctx, ct)
        except TaskError as exc:
            _undo(sim, ct, change)
            raise TaskError(f"unable to create CT {vmid} - {exc}") from exc
        except Exception as exc:
            _undo(sim, ct, change)
            text = getattr(exc, "message", None) or str(exc)
            raise TaskError(f"unable to create CT {vmid} - {text}") from exc

    return work


def _undo(sim: Simulator, ct: Container, change: Change | None) -> None:
    with sim.lock:
        if change is not None:
            change.rollback()
        if ct.running:
            ct.set_status("stopped")
        for volid in ct.volumes():
            if _owns(sim, ct, volid):  # an existing volume it was to mount stays
                sim.storages.free(volid, ct.node)
        for pool in sim.pools.values():
            if ct.vmid in pool.vms:
                pool.vms.remove(ct.vmid)
        if sim.containers.get(ct.vmid) is ct:
            del sim.containers[ct.vmid]
        sim.commit()


def _owns(sim: Simulator, ct: Container, volid: str) -> bool:
    """Whether freeing `volid` with the container is Proxmox's to do: a container's delete
    frees only the volumes allocated for its vmid; another guest's volume it mounts stays."""
    vol = sim.storages.find(volid, ct.node)
    return vol is None or vol.vmid == ct.vmid


@route("DELETE", "/nodes/{node}/lxc/{vmid}")
def destroy(sim: Simulator, req: Request) -> Any:
    p = req.params
    vmid = int(p["vmid"])
    with sim.lock:
        ct = sim.ct_on(p["node"], vmid)
        ct.check_protection(f"can't remove CT {vmid}")
        ct.check_lock()
        if ha.resource(sim, vmid) is not None and not p.get("purge"):
            raise fail(f"unable to remove CT {vmid} - used in HA resources and purge parameter "
                       "not set.")
        if ct.running and not p.get("force"):
            raise fail(f"unable to destroy CT {vmid} - container is running")

        def work(ctx: TaskContext) -> None:
            if ct.running:
                do_stop(ctx, ct, log=False)
            with sim.lock:
                ct.check_lock()
                ct.conf["lock"] = "destroyed"
                sim.commit()
            ctx.phase()
            if ctx.fault():
                with sim.lock:
                    ct.conf.pop("lock", None)
                raise TaskError(f"lvremove 'pve/vm-{vmid}-disk-0' error:   Logical volume "
                                f"pve/vm-{vmid}-disk-0 in use.")
            with sim.lock:
                for volid in sorted(referenced_volumes(ct)):
                    if not _owns(sim, ct, volid):  # as pve-container's delete_mountpoint_volume
                        ctx.log(f"ignore deletion of '{volid}', CT {vmid} isn't the owner!")
                        continue
                    sim.storages.free(volid, ct.node)
                    if ":" in volid and volid.split(":", 1)[0] in sim.storages.defs and \
                            sim.storages.defs[volid.split(":", 1)[0]].type == "lvmthin":
                        ctx.log(f'  Logical volume "{volid.split(":", 1)[1]}" successfully '
                                "removed.")
                if p.get("destroy-unreferenced-disks"):
                    for location, vol in sim.storages.owned(vmid):
                        if vol.content in ("rootdir", "images"):
                            sim.storages.drop(location, vol.volid)
                for pool in sim.pools.values():
                    if vmid in pool.vms:
                        pool.vms.remove(vmid)
                if p.get("purge"):
                    ha.remove_references(sim, vmid)
                    purge_from_jobs(sim, vmid)
                if sim.containers.get(vmid) is ct:
                    del sim.containers[vmid]
                sim.commit()
            # Its files go with it, so a later container reusing the vmid starts clean.
            if sim.state_dir is not None:
                remove_rootfs(sim.state_dir, vmid)

        return sim.tasks.start(p["node"], "vzdestroy", str(vmid), req.auth.authid, work)


def _mount_order(key: str) -> int:
    """foreach_volume order: rootfs first, then mp0, mp1, ... numerically."""
    return -1 if key == "rootfs" else int(key[2:])
