"""Storage endpoints: storage.cfg (`/storage`), per-node storage status, content listing,
volume info and download-url."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim import backups
from pxrun.sim.api import Request, fail, param_error, route
from pxrun.sim.handlers.nodes import start_download
from pxrun.sim.storages import StorageDef, Volume

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator
    from pxrun.sim.tasks import TaskContext


def storage_on(sim: Simulator, node: str, sid: str) -> StorageDef:
    if sid not in sim.storages.defs:
        raise fail(f"storage '{sid}' does not exist")
    sdef = sim.storages.available(sid, node)
    if sdef is None:
        raise fail(f"storage '{sid}' is not available on node '{node}'")
    return sdef


@route("GET", "/storage")
def storage_config_index(sim: Simulator, req: Request) -> Any:
    """The cluster-wide storage configuration (storage.cfg), optionally of one type."""
    kind = req.params.get("type")
    with sim.lock:
        return [sim.storages.config_json(sdef) for sdef in sim.storages.defs.values()
                if not kind or sdef.type == kind]


@route("GET", "/storage/{storage}")
def storage_config_read(sim: Simulator, req: Request) -> Any:
    sid = req.params["storage"]
    with sim.lock:
        sdef = sim.storages.defs.get(sid)
        if sdef is None:
            raise fail(f"storage '{sid}' does not exist")
        return sim.storages.config_json(sdef)


@route("GET", "/nodes/{node}/storage")
def list_storage(sim: Simulator, req: Request) -> Any:
    p = req.params
    node = p["node"]
    with sim.lock:
        out = []
        for sdef in sim.storages.on_node(node):
            if p.get("storage") and sdef.id != p["storage"]:
                continue
            if p.get("content"):
                wanted = set(str(p["content"]).replace(";", ",").split(","))
                if not wanted <= set(sdef.content):
                    continue
            target = p.get("target")
            if target and target != node and not (
                    sdef.shared and sim.storages.available(sdef.id, target)):
                continue
            item = sim.storages.status_json(sdef, node)
            if p.get("format"):
                item["format"] = {"raw": 1, "subvol": 1} if sdef.type != "lvmthin" \
                    else {"raw": 1}
                item["formats"] = {"default": "raw", "supported": ["raw", "subvol"]
                                   if sdef.type != "lvmthin" else ["raw"]}
                item["select_existing"] = 0
            out.append(item)
        return out


@route("GET", "/nodes/{node}/storage/{storage}")
def storage_index(sim: Simulator, req: Request) -> Any:
    return [{"subdir": s} for s in ("content", "download-url", "file-restore", "import-metadata",
                                    "prunebackups", "rrd", "rrddata", "status", "upload")]


@route("GET", "/nodes/{node}/storage/{storage}/status")
def storage_status(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        sdef = storage_on(sim, req.params["node"], req.params["storage"])
        item = sim.storages.status_json(sdef, req.params["node"])
        item.pop("used_fraction", None)
        return item


def volume_json(vol: Volume) -> dict[str, Any]:
    if vol.content == "backup":
        return backups.content_json(vol)
    item: dict[str, Any] = {"volid": vol.volid, "content": vol.content, "format": vol.fmt,
                            "size": vol.size, "ctime": vol.ctime}
    if vol.vmid is not None:
        item["vmid"] = vol.vmid
        item["used"] = vol.size // 5
    return item


@route("GET", "/nodes/{node}/storage/{storage}/content")
def list_content(sim: Simulator, req: Request) -> Any:
    p = req.params
    with sim.lock:
        storage_on(sim, p["node"], p["storage"])
        vols = sorted(sim.storages.vols(p["storage"], p["node"]).values(), key=lambda v: v.volid)
        out = []
        for vol in vols:
            if p.get("content") and vol.content != p["content"]:
                continue
            if p.get("vmid") is not None and vol.vmid != int(p["vmid"]):
                continue
            out.append(volume_json(vol))
        return out


def _find(sim: Simulator, req: Request) -> Volume:
    node, volume = req.params["node"], str(req.params["volume"])
    sid = req.params.get("storage")
    if sid and ":" not in volume:
        volume = f"{sid}:{volume}"
    if ":" not in volume:
        raise param_error({"volume": f"unable to parse volume ID '{volume}'"})
    storage_on(sim, node, volume.split(":", 1)[0])
    vol = sim.storages.find(volume, node)
    if vol is None:
        raise fail(f"volume '{volume}' does not exist")
    return vol


@route("GET", "/nodes/{node}/storage/{storage}/content/{volume}")
def volume_info(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        vol = _find(sim, req)
        sid, name = vol.volid.split(":", 1)
        base = "/dev/pve" if sim.storages.defs[sid].type == "lvmthin" else "/var/lib/vz/images"
        if vol.content in ("vztmpl", "iso", "backup"):
            base = {"vztmpl": "/var/lib/vz/template/cache", "iso": "/var/lib/vz/template/iso",
                    "backup": "/var/lib/vz/dump"}[vol.content]
            name = name.split("/", 1)[1]
        info: dict[str, Any] = {"path": f"{base}/{name}", "size": vol.size,
                                "used": vol.size // 5 if vol.content == "rootdir" else vol.size,
                                "format": vol.fmt}
        if vol.content == "backup":
            info["notes"] = vol.extra.get("notes", "")
            info["protected"] = 1 if vol.extra.get("protected") else 0
        return info


@route("PUT", "/nodes/{node}/storage/{storage}/content/{volume}")
def update_volume(sim: Simulator, req: Request) -> Any:
    """Notes and protection of a backup (`update_volume_attribute`)."""
    with sim.lock:
        vol = _find(sim, req)
        for attr in ("notes", "protected"):
            if req.params.get(attr) is None:
                continue
            if vol.content != "backup":
                raise fail(f"only backups support attribute '{attr}'")
            value = req.params[attr]
            sim.storages.update_extra(vol, **{attr: value if attr == "notes" else int(value)})
        sim.commit()
    return None


@route("DELETE", "/nodes/{node}/storage/{storage}/content/{volume}")
def delete_volume(sim: Simulator, req: Request) -> Any:
    """An `imgdel` task (id `[<owner vmid>@]<storage>`), as pve-storage's Content.pm forks.

    With `delay`, wait up to that many seconds: `null` if the task finished in time (its error
    text as a 500 if it failed), else the UPID.
    """
    node = req.params["node"]
    with sim.lock:
        vol = _find(sim, req)
        if vol.vmid is not None and vol.vmid in sim.containers:
            ct = sim.containers[vol.vmid]
            if vol.volid in ct.volumes():
                raise fail(f"volume '{vol.volid}' is still in use by CT {vol.vmid}")
        volid, sid = vol.volid, vol.volid.split(":", 1)[0]

        def work(ctx: TaskContext) -> None:
            ctx.phase()
            with sim.lock:
                sim.storages.free(volid, node)
            ctx.log(f"Removed volume '{volid}'")

        owner = f"{vol.vmid}@" if vol.vmid is not None else ""
        upid = sim.tasks.start(node, "imgdel", f"{owner}{sid}", req.auth.authid, work)
        thread = sim.tasks.threads.get(upid)
    delay = req.params.get("delay")
    if not delay:
        return upid
    if thread is not None:
        thread.join(float(delay))
    with sim.lock:
        task = sim.tasks.tasks.get(upid)
        status = task.exitstatus if task is not None else "OK"
    if status is None:
        return upid
    if status != "OK" and not status.startswith("WARNINGS"):
        raise fail(status)
    return None


@route("POST", "/nodes/{node}/storage/{storage}/download-url")
def download_url(sim: Simulator, req: Request) -> Any:
    p = req.params
    with sim.lock:
        sdef = storage_on(sim, p["node"], p["storage"])
        if p["content"] not in sdef.content:
            raise fail(f"storage '{sdef.id}' does not support '{p['content']}' content")
        if p["content"] != "vztmpl":
            raise fail("only container templates can be downloaded in the simulator")
        return start_download(sim, req, p["node"], sdef.id, str(p["filename"]))
