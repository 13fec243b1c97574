"""Cluster-wide reads: `/cluster/resources`, `/cluster/nextid`, `/cluster/status`.

`/cluster/resources` is fed by pvestatd's RRD cache on a real cluster, so a guest's power
state can lag (settings.resources_lag) and guests of an unreachable node show `unknown`;
clients that need the truth must ask `status/current`, as on real Proxmox.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pxrun.sim import ha
from pxrun.sim.acl import Access
from pxrun.sim.api import Request, fail, param_error, route

if TYPE_CHECKING:
    from pxrun.sim.containers import Container
    from pxrun.sim.state import Simulator

NEXTID_LOW, NEXTID_HIGH = 100, 1_000_000


def node_resource(sim: Simulator, name: str) -> dict[str, Any]:
    node = sim.nodes[name]
    item: dict[str, Any] = {"id": f"node/{name}", "type": "node", "node": name}
    if not sim.node_online(name):
        item["status"] = "offline"
        return item
    item.update({
        "status": "online", "cpu": 0.02, "maxcpu": node.cpus, "mem": sim.mem_used(name),
        "maxmem": node.maxmem, "disk": 6 * 1024**3, "maxdisk": 100 * 1024**3,
        "uptime": sim.uptime(name), "level": "", "cgroup-mode": 2,
    })
    return item


def guest_resource(sim: Simulator, ct: Container, pool: str | None = None) -> dict[str, Any]:
    status = ct.vmstatus(sim.nodes[ct.node].cpus, sim.pve9)
    item: dict[str, Any] = {"id": f"lxc/{ct.vmid}", "type": "lxc", "vmid": ct.vmid,
                            "node": ct.node, "name": status["name"], "template": 0}
    for key in ("maxmem", "maxdisk", "disk", "mem", "cpu", "uptime", "netin", "netout",
                "diskread", "diskwrite"):
        item[key] = status[key]
    item["maxcpu"] = status["cpus"]
    item["status"] = ct.status
    lag = sim.settings.resources_lag
    if lag > 0 and time.time() - ct.status_changed_at < lag:
        item["status"] = ct.prev_status
    if not sim.node_online(ct.node):
        item["status"] = "unknown"
    for key in ("tags", "lock", "template"):
        if key in status:
            item[key] = status[key]
    if pool:
        item["pool"] = pool
    managed = ha.resource(sim, ct.vmid)
    if managed is not None:
        item["hastate"] = ha.state_of(managed)
    return item


@route("GET", "/cluster/resources")
def resources(sim: Simulator, req: Request) -> Any:
    kind = req.params.get("type")
    out: list[dict[str, Any]] = []
    seen = _visible(sim, req)
    with sim.lock:
        if kind in (None, "vm"):
            pools = {vmid: p.poolid for p in sim.pools.values() for vmid in p.vms}
            out += [guest_resource(sim, ct, pools.get(ct.vmid))
                    for ct in sorted(sim.containers.values(), key=lambda c: c.vmid)
                    if seen(f"/vms/{ct.vmid}", ("VM.Audit",))]
        if kind in (None, "node"):
            out += [node_resource(sim, name) for name in sim.nodes
                    if seen(f"/nodes/{name}", ("Sys.Audit",))]
        if kind in (None, "storage"):
            for name in sim.nodes:
                online = sim.node_online(name)
                for sdef in sim.storages.on_node(name):
                    if not seen(f"/storage/{sdef.id}", ("Datastore.Audit",
                                                        "Datastore.AllocateSpace")):
                        continue
                    st = sim.storages.status_json(sdef, name)
                    item = {"id": f"storage/{name}/{sdef.id}", "type": "storage",
                            "storage": sdef.id, "node": name, "plugintype": sdef.type,
                            "status": "available" if online else "unknown",
                            "shared": st["shared"], "content": st["content"]}
                    if online:
                        item.update({"disk": st["used"], "maxdisk": st["total"]})
                    out.append(item)
        if kind is None:
            out += [{"id": f"/pool/{p.poolid}", "type": "pool", "pool": p.poolid}
                    for p in sim.pools.values() if seen(f"/pool/{p.poolid}", ("Pool.Audit",))]
    return out


def _visible(sim: Simulator, req: Request) -> Any:
    """What the caller may see in the resource list (Proxmox filters per object)."""
    if req.credentials is None or req.auth.is_root:
        return lambda path, privs: True
    access = Access(req.credentials, sim)
    return lambda path, privs: access.has(req.auth, path, privs, any_=True)


@route("GET", "/cluster/nextid")
def nextid(sim: Simulator, req: Request) -> Any:
    wanted = req.params.get("vmid")
    with sim.lock:
        if wanted is not None:
            if int(wanted) in sim.containers:
                raise param_error({"vmid": f"VM {wanted} already exists"})
            return str(wanted)
        for vmid in range(NEXTID_LOW, NEXTID_HIGH):
            if vmid not in sim.containers:
                return str(vmid)
    raise fail(f"unable to get any free VMID in range [{NEXTID_LOW}, {NEXTID_HIGH}]")


@route("GET", "/cluster/status")
def cluster_status(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        online = [n for n in sim.nodes if sim.node_online(n)]
        out: list[dict[str, Any]] = [{
            "id": "cluster", "type": "cluster", "name": sim.cluster_name,
            "nodes": len(sim.nodes), "quorate": 1 if len(online) * 2 > len(sim.nodes) else 0,
            "version": 3 + len(sim.nodes),
        }]
        first = next(iter(sim.nodes))
        for name, node in sim.nodes.items():
            out.append({"id": f"node/{name}", "type": "node", "name": name,
                        "nodeid": node.nodeid, "ip": node.ip, "level": "",
                        "local": 1 if name == first else 0,
                        "online": 1 if name in online else 0})
    return out
