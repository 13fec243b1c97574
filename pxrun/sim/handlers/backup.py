"""`POST /nodes/{node}/vzdump`, its defaults and `extractconfig`.

As pve-manager's vzdump API: the parameter rules (`vmid`, `all`, `pool`, `exclude`, `dumpdir`)
fail the call; everything else happens in one `vzdump` task (id: the vmid when there is exactly
one local guest) whose log reads like vzdump's, one `ERROR: Backup of VM N failed - ...` per
failed guest and `TASK ERROR: job errors` at the end when any failed. Guests of other nodes are
skipped. Each guest is locked `backup` for its backup. Modes: `snapshot` for a running
container on snapshot-capable storage (else vzdump's "mode failure" and `suspend`), `suspend`,
and `stop` (a running container is stopped and started again); a stopped container is always
backed up in `stop` mode. The archive lands on the storage as a `backup` volume (backups.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pxrun.sim import backups
from pxrun.sim.api import Request, fail, param_error, route
from pxrun.sim.formats import split_list
from pxrun.sim.guest import has_feature, mountpoints
from pxrun.sim.handlers.config import access_of
from pxrun.sim.handlers.power import do_start, do_stop
from pxrun.sim.storages import AllocError
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.containers import Container
    from pxrun.sim.state import Simulator
    from pxrun.sim.storages import StorageDef

DEFAULTS: dict[str, Any] = {
    "bwlimit": 0, "compress": "0", "ionice": 7, "lockwait": 180, "mailnotification": "always",
    "mode": "snapshot", "notification-mode": "auto", "pigz": 0, "prune-backups": "keep-all=1",
    "quiet": 0, "remove": 1, "stdexcludes": 1, "stop": 0, "stopwait": 10, "storage": "local",
    "zstd": 1,
}


def verify_parameters(p: dict[str, Any]) -> None:
    """PVE::VZDump::verify_vzdump_parameters."""
    if p.get("all") and p.get("vmid"):
        raise param_error({"all": "option conflicts with option 'vmid'"})
    if p.get("exclude") and not p.get("all"):
        raise param_error({"exclude": "option only makes sense in combination with option "
                                      "'all'"})
    if not (p.get("all") or p.get("stop") or p.get("pool")) and not p.get("vmid"):
        raise param_error({"vmid": "property is missing"})
    if p.get("storage") and p.get("dumpdir"):
        raise param_error({"dumpdir": "option conflicts with option 'storage'"})


def guests(sim: Simulator, p: dict[str, Any]) -> list[int]:
    """The guests a job names: `all` (minus `exclude`), a `pool`'s members, or `vmid`."""
    if p.get("all"):
        excluded = {int(v) for v in split_list(str(p.get("exclude") or ""))}
        return sorted(v for v in sim.containers if v not in excluded)
    if p.get("pool"):
        pool = sim.pools.get(str(p["pool"]))
        return sorted(pool.vms) if pool else []
    return [int(v) for v in split_list(str(p.get("vmid") or ""))]


@route("POST", "/nodes/{node}/vzdump")
def vzdump(sim: Simulator, req: Request) -> Any:
    p = dict(req.params)
    node = p["node"]
    verify_parameters(p)
    with sim.lock:
        named = guests(sim, p)
        local = [v for v in named if v not in sim.containers or sim.containers[v].node == node]
        skipped = [v for v in named if v not in local]
        if p.get("stdout") and len(local) != 1:
            raise fail("you can only backup a single VM with option --stdout")
        access = access_of(sim, req)
        if access is not None and not req.auth.is_root:
            if p.get("storage"):
                access.check(req.auth, f"/storage/{p['storage']}", ["Datastore.AllocateSpace"])
            for vmid in local:
                access.check(req.auth, f"/vms/{vmid}", ["VM.Backup"])
        wid = str(local[0]) if len(local) == 1 else ""
        return sim.tasks.start(node, "vzdump", wid, req.auth.authid,
                               lambda ctx: run_job(ctx, node, p, local, skipped))


def _command(p: dict[str, Any]) -> str:
    args = [str(p.get("vmid") or "")] if p.get("vmid") else []
    for key, value in sorted(p.items()):
        if key in ("vmid", "node") or value is None:
            continue
        args.append(f"--{key} {value}")
    return "vzdump " + " ".join(a for a in args if a) + f" --node {p['node']}"


def run_job(ctx: TaskContext, node: str, p: dict[str, Any], local: list[int],
            skipped: list[int]) -> None:
    sim = ctx.sim
    ctx.log(f"INFO: starting new backup job: {_command(p)}")
    if skipped:
        ctx.log("INFO: skip external VMs: " + ", ".join(str(v) for v in skipped))
    with sim.lock:
        sdef = _target_storage(sim, node, p)
    failed = 0
    for vmid in local:
        try:
            backup_one(ctx, node, vmid, sdef, p)
        except TaskError as exc:
            ctx.log(f"ERROR: Backup of VM {vmid} failed - {exc}")
            failed += 1
    if failed:
        ctx.log("INFO: Backup job finished with errors")
        raise TaskError("job errors")
    ctx.log("INFO: Backup job finished successfully")


def _target_storage(sim: Simulator, node: str, p: dict[str, Any]) -> StorageDef:
    if p.get("dumpdir"):
        raise TaskError("dumpdir is not supported by the pxrun simulator; use a storage")
    sid = str(p.get("storage") or DEFAULTS["storage"])
    if sid not in sim.storages.defs:
        raise TaskError(f"storage '{sid}' does not exist")
    sdef = sim.storages.available(sid, node)
    if sdef is None:
        raise TaskError(f"storage '{sid}' is not available on node '{node}'")
    if "backup" not in sdef.content:
        raise TaskError(f"storage '{sid}' does not support backups")
    return sdef


def backup_one(ctx: TaskContext, node: str, vmid: int, sdef: StorageDef,
               p: dict[str, Any]) -> None:
    sim = ctx.sim
    started = time.time()
    with sim.lock:
        ct = sim.containers.get(vmid)
        if ct is None or ct.node != node:
            raise TaskError(f"unable to find configuration file for VM {vmid} on node "
                            f"'{node}'")
        if ct.lock:
            raise TaskError(f"CT is locked ({ct.lock})")
        ct.conf["lock"] = "backup"
        sim.commit()
    restart = False
    try:
        restart = _backup_locked(ctx, ct, sdef, p, started)
    finally:
        with sim.lock:
            if ct.conf.get("lock") == "backup":
                del ct.conf["lock"]
            sim.commit()
    if restart:
        ctx.log("INFO: restarting vm")
        do_start(ctx, ct)
    took = time.strftime("%H:%M:%S", time.gmtime(time.time() - started))
    ctx.log(f"INFO: Finished Backup of VM {vmid} ({took})")


def _backup_locked(ctx: TaskContext, ct: Container, sdef: StorageDef, p: dict[str, Any],
                   started: float) -> bool:
    """The backup itself while the container is locked; True if it must be started again."""
    sim = ctx.sim
    mode = str(p.get("mode") or DEFAULTS["mode"])
    compress = str(p.get("compress") or DEFAULTS["compress"])
    with sim.lock:
        ctx.log(f"INFO: Starting Backup of VM {ct.vmid} (lxc)")
        ctx.log("INFO: Backup started at " + time.strftime("%Y-%m-%d %H:%M:%S",
                                                           time.localtime(started)))
        ctx.log(f"INFO: status = {ct.status}")
        ctx.log(f"INFO: CT Name: {ct.conf.get('hostname', f'CT{ct.vmid}')}")
        lines, volids = backups.included(ct)
        for line in lines:
            ctx.log(f"INFO: {line}")
        if not ct.running:
            mode = "stop"
        elif mode == "snapshot" and not has_feature(sim, ct.conf, "snapshot", backup_only=True):
            ctx.log("INFO: mode failure - some volumes do not support snapshots")
            ctx.log("INFO: trying 'suspend' mode instead")
            mode = "suspend"
    restart = False
    if mode == "stop" and ct.running:
        ctx.log("INFO: stopping virtual guest")
        do_stop(ctx, ct)
        restart = True
    ctx.log(f"INFO: backup mode: {mode}")
    ctx.log(f"INFO: ionice priority: {p.get('ionice', DEFAULTS['ionice'])}")
    if mode == "snapshot":
        ctx.log("INFO: create storage snapshot 'vzdump'")
    elif mode == "suspend":
        ctx.log(f"INFO: starting first sync /proc/{ct.pid or 1}/root/ to /var/tmp/vzdumptmp")
        ctx.log("INFO: suspending guest")
        ctx.log("INFO: resuming guest")
    with sim.lock:
        name = backups.archive_name(ct.vmid, started, compress)
        location = sim.storages.location(sdef, ct.node)
        while f"{sdef.id}:backup/{name}" in sim.storages.volumes.get(location, {}):
            started += 1  # a second backup within one second: it finished a second later
            name = backups.archive_name(ct.vmid, started, compress)
    folder = "/var/lib/vz/dump" if sdef.type == "dir" else f"/mnt/pve/{sdef.id}/dump"
    ctx.log(f"INFO: creating vzdump archive '{folder}/{name}'")
    ctx.phase()
    with sim.lock:
        if ctx.fault():
            raise TaskError("command 'set -o pipefail && lxc-usernsexec -m u:0:100000:65536 "
                            "-m g:0:100000:65536 -- tar cpf - --totals --one-file-system ...' "
                            "failed: exit code 2")
        size = backups.archive_size(sim, ct, volids, compress)
        volid = f"{sdef.id}:backup/{name}"
        try:
            sim.storages.check_space(sdef.id, ct.node, volid, size)
        except AllocError:
            raise TaskError(f"vzdump archive '{folder}/{name}': write error - No space left "
                            "on device") from None
        notes = None
        if p.get("notes-template"):
            notes = backups.notes_from(str(p["notes-template"]), ct, sim)
        vol = backups.backup_volume(sdef.id, name, ct.vmid, size, started,
                                    backups.archived_config(ct), dict(ct.firewall), notes,
                                    bool(p.get("protected")))
        sim.storages.put(location, vol)
        if sim.storages.files is not None:
            keys = {key: str(mp["volume"]) for key, mp in mountpoints(ct.conf)
                    if str(mp["volume"]) in volids}
            sim.storages.files.archive(ct.vmid, keys, vol.volid)
        ctx.log(f"INFO: Total bytes written: {size * 2} ({size * 2 // (1 << 20)}MiB, "
                "118MiB/s)")
        ctx.log(f"INFO: archive file size: {size // (1 << 20)}MB")
        if notes:
            ctx.log("INFO: adding notes to backup")
        if p.get("protected"):
            ctx.log("INFO: marking backup as protected")
        _prune(ctx, location, ct.vmid, p)
        if mode == "snapshot":
            ctx.log("INFO: cleanup temporary 'vzdump' snapshot")
        sim.commit()
    return restart


def _prune(ctx: TaskContext, location: str, vmid: int, p: dict[str, Any]) -> None:
    if not int(p.get("remove", DEFAULTS["remove"])):
        return
    retention = str(p.get("prune-backups") or DEFAULTS["prune-backups"])
    doomed = backups.prune_list(backups.backups_of(ctx.sim, location, vmid), retention)
    if not doomed:
        return
    ctx.log(f"INFO: prune older backups with retention: {retention.replace(',', ', ')}")
    for vol in doomed:
        ctx.log(f"INFO: removing backup '{vol.volid}'")
        ctx.sim.storages.drop(location, vol.volid)
    ctx.log(f"INFO: pruned {len(doomed)} backup(s)")


@route("GET", "/nodes/{node}/vzdump/defaults")
def defaults(sim: Simulator, req: Request) -> Any:
    data = dict(DEFAULTS)
    if req.params.get("storage"):
        data["storage"] = req.params["storage"]
    return data


@route("GET", "/nodes/{node}/vzdump/extractconfig")
def extract_config(sim: Simulator, req: Request) -> Any:
    volid = str(req.params["volume"])
    with sim.lock:
        vol = find_backup(sim, req.params["node"], volid)
        return str(vol.extra.get("config", ""))


def find_backup(sim: Simulator, node: str, volid: str) -> Any:
    """The backup volume a volid names, or Proxmox's errors."""
    if ":" not in volid:
        raise fail(f"unable to parse volume ID '{volid}'")
    sid = volid.split(":", 1)[0]
    if sid not in sim.storages.defs:
        raise fail(f"storage '{sid}' does not exist")
    vol = sim.storages.find(volid, node)
    if vol is None:
        raise fail(f"volume '{volid}' does not exist")
    if vol.content != "backup":
        raise fail(f"volume '{volid}' is not a backup archive")
    return vol
