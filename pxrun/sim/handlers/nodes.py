"""Node endpoints: the index, node status, bridges (`network`) and the template catalog.

Why `aplinfo` lives here: in Proxmox it is a node endpoint (`pveam` runs per node), and the
download task it starts lands the template on that node's storage only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim.api import Request, fail, param_error, route
from pxrun.sim.cluster import CATALOG, catalog_entries
from pxrun.sim.handlers.cluster import node_resource
from pxrun.sim.handlers.version import version_info
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

NODE_SUBDIRS = ["aplinfo", "apt", "capabilities", "ceph", "certificates", "config", "disks",
                "dns", "firewall", "hardware", "hosts", "journal", "lxc", "netstat", "network",
                "qemu", "query-url-metadata", "replication", "report", "rrd", "rrddata",
                "scan", "sdn", "services", "spiceshell", "startall", "status", "stopall",
                "storage", "subscription", "syslog", "tasks", "termproxy", "time", "version",
                "vncshell", "vzdump", "wakeonlan"]


@route("GET", "/nodes")
def list_nodes(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        out = []
        for name in sim.nodes:
            item = node_resource(sim, name)
            item.pop("cgroup-mode", None)
            if item["status"] == "online":
                item["ssl_fingerprint"] = _fingerprint(name)
            out.append(item)
        return out


def _fingerprint(name: str) -> str:
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


@route("GET", "/nodes/{node}")
def node_index(sim: Simulator, req: Request) -> Any:
    return [{"name": name} for name in NODE_SUBDIRS]


@route("GET", "/nodes/{node}/status")
def node_status(sim: Simulator, req: Request) -> Any:
    name = req.params["node"]
    with sim.lock:
        node = sim.nodes[name]
        used = sim.mem_used(name)
        info = version_info(sim)
        kernel = "6.14.11-4-pve" if sim.pve9 else "6.8.12-15-pve"
        return {
            "cpu": 0.02, "wait": 0.0, "uptime": sim.uptime(name),
            "loadavg": ["0.15", "0.10", "0.05"],
            "cpuinfo": {"cores": node.cpus // 2 or 1, "cpus": node.cpus, "sockets": 1,
                        "model": "Simulated CPU @ 3.00GHz", "mhz": "3000.000",
                        "hvm": "1", "flags": "fpu vme de pse tsc msr pae"},
            "memory": {"total": node.maxmem, "used": used, "free": node.maxmem - used,
                       "available": node.maxmem - used},
            "swap": {"total": 8 * 1024**3, "used": 0, "free": 8 * 1024**3},
            "rootfs": {"total": 100 * 1024**3, "used": 6 * 1024**3, "free": 94 * 1024**3,
                       "avail": 89 * 1024**3},
            "ksm": {"shared": 0},
            "boot-info": {"mode": "efi", "secureboot": 0},
            "current-kernel": {"sysname": "Linux", "release": kernel, "machine": "x86_64",
                               "version": f"#1 SMP PREEMPT_DYNAMIC PMX {kernel}"},
            "kversion": f"Linux {kernel}",
            "pveversion": f"pve-manager/{info['version']}/{info['repoid'][:16]}",
        }


@route("GET", "/nodes/{node}/network")
def list_network(sim: Simulator, req: Request) -> Any:
    kind = req.params.get("type")
    with sim.lock:
        bridges = sim.bridges.get(req.params["node"], [])
        items = [b.to_json(i + 3) for i, b in enumerate(bridges)]
    if kind is None:
        eth = [{"iface": f"eno{i}", "type": "eth", "method": "manual", "method6": "manual",
                "active": 1, "exists": 1, "families": ["inet"], "priority": i}
               for i in (1, 2)]
        return eth + items
    if kind in ("bridge", "any_bridge", "any_local_bridge"):
        return items
    return []


@route("GET", "/nodes/{node}/network/{iface}")
def get_network(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        for item in list_network(sim, Request("GET", req.path, req.template,
                                              {"node": req.params["node"]}, req.auth)):
            if item["iface"] == req.params["iface"]:
                return item
    raise fail(f"interface '{req.params['iface']}' does not exist")


@route("GET", "/nodes/{node}/aplinfo")
def aplinfo(sim: Simulator, req: Request) -> Any:
    return catalog_entries()


@route("POST", "/nodes/{node}/aplinfo")
def apl_download(sim: Simulator, req: Request) -> Any:
    node, storage, template = req.params["node"], req.params["storage"], req.params["template"]
    if template not in {name for name, *_ in CATALOG}:
        raise param_error({"template": "no such template"})
    with sim.lock:
        sdef = sim.storages.available(storage, node)
        if sdef is None:
            raise fail(f"storage '{storage}' does not exist")
        if "vztmpl" not in sdef.content:
            raise fail(f"storage '{storage}' does not support templates")
        return start_download(sim, req, node, storage, template)


def start_download(sim: Simulator, req: Request, node: str, storage: str, name: str) -> str:
    """Fork a `download` task that places `name` on `storage` (caller holds sim.lock)."""

    def work(ctx: TaskContext) -> None:
        ctx.log(f"downloading http://download.proxmox.com/images/system/{name} to "
                f"/var/lib/vz/template/cache/{name}")
        ctx.phase(0.8)
        if ctx.fault():
            raise TaskError("download failed: 500 Can't connect to download.proxmox.com:443")
        with sim.lock:
            vol = sim.storages.add_template(storage, node, name)
            ctx.log(f"download of '{name}' finished ({vol.size} bytes)")
            ctx.log("calculating checksum...OK, checksum verified")
        ctx.phase(0.2)

    return sim.tasks.start(node, "download", name, req.auth.authid, work)
