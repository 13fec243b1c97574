"""Resource pools: `/pools` (PVE 8.1+ style, poolid as a parameter) and legacy `/pools/{poolid}`.

Creating an existing pool fails (`pool 'x' already exists`), which makes POST /pools an
atomic test-and-set that pxrun uses as a cluster-wide lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim.api import Request, fail, route
from pxrun.sim.cluster import Pool
from pxrun.sim.formats import split_list

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator


def _members(sim: Simulator, pool: Pool, kind: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if kind in (None, "lxc"):
        for vmid in sorted(pool.vms):
            ct = sim.containers.get(vmid)
            if ct is None:
                continue
            status = ct.vmstatus(sim.nodes[ct.node].cpus, sim.pve9)
            out.append({"id": f"lxc/{vmid}", "type": "lxc", "vmid": vmid, "node": ct.node,
                        "name": status["name"], "status": ct.status,
                        "maxmem": status["maxmem"], "maxdisk": status["maxdisk"],
                        "uptime": status["uptime"], "template": 0})
    if kind in (None, "storage"):
        for sid in sorted(pool.storage):
            for node in sim.nodes:
                if sim.storages.available(sid, node):
                    out.append({"id": f"storage/{node}/{sid}", "type": "storage",
                                "storage": sid, "node": node})
    return out


def _pool(sim: Simulator, poolid: str) -> Pool:
    pool = sim.pools.get(poolid)
    if pool is None:
        raise fail(f"pool '{poolid}' does not exist")
    return pool


@route("GET", "/pools")
def list_pools(sim: Simulator, req: Request) -> Any:
    poolid, kind = req.params.get("poolid"), req.params.get("type")
    with sim.lock:
        if poolid:
            pool = _pool(sim, str(poolid))
            item: dict[str, Any] = {"poolid": pool.poolid, "members": _members(sim, pool, kind)}
            if pool.comment:
                item["comment"] = pool.comment
            return [item]
        out = []
        for pool in sorted(sim.pools.values(), key=lambda p: p.poolid):
            entry: dict[str, Any] = {"poolid": pool.poolid}
            if pool.comment:
                entry["comment"] = pool.comment
            out.append(entry)
        return out


@route("POST", "/pools")
def create_pool(sim: Simulator, req: Request) -> Any:
    poolid = str(req.params["poolid"])
    with sim.lock:
        if poolid in sim.pools:
            raise fail(f"create pool failed: pool '{poolid}' already exists")
        sim.pools[poolid] = Pool(poolid=poolid, comment=str(req.params.get("comment") or ""))
        sim.commit()
    return None


def _update(sim: Simulator, poolid: str, p: dict[str, Any]) -> None:
    with sim.lock:
        pool = _pool(sim, poolid)
        if "comment" in p:
            pool.comment = str(p["comment"] or "")
        remove = bool(p.get("delete"))
        for item in split_list(str(p.get("vms") or "")):
            vmid = int(item)
            if remove:
                if vmid in pool.vms:
                    pool.vms.remove(vmid)
                continue
            if vmid not in sim.containers:
                raise fail(f"update pool failed: no such VM '{vmid}'")
            owner = sim.pool_of(vmid)
            if owner == poolid:
                continue
            if owner is not None:
                if not p.get("allow-move"):
                    raise fail(f"update pool failed: VM {vmid} is already a pool member")
                sim.pools[owner].vms.remove(vmid)
            pool.vms.append(vmid)
        for sid in split_list(str(p.get("storage") or "")):
            if remove:
                if sid in pool.storage:
                    pool.storage.remove(sid)
            elif sid not in sim.storages.defs:
                raise fail(f"update pool failed: no such storage '{sid}'")
            elif sid not in pool.storage:
                pool.storage.append(sid)
        sim.commit()


@route("PUT", "/pools")
def update_pool(sim: Simulator, req: Request) -> Any:
    _update(sim, str(req.params["poolid"]), req.params)
    return None


def _delete(sim: Simulator, poolid: str) -> None:
    with sim.lock:
        pool = _pool(sim, poolid)
        if pool.vms or pool.storage:
            raise fail(f"delete pool failed: pool '{poolid}' is not empty")
        del sim.pools[poolid]
        sim.commit()


@route("DELETE", "/pools")
def delete_pool(sim: Simulator, req: Request) -> Any:
    _delete(sim, str(req.params["poolid"]))
    return None


@route("GET", "/pools/{poolid}")
def read_pool(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        pool = _pool(sim, str(req.params["poolid"]))
        data: dict[str, Any] = {"members": _members(sim, pool, req.params.get("type"))}
        if pool.comment:
            data["comment"] = pool.comment
        return data


@route("PUT", "/pools/{poolid}")
def update_pool_legacy(sim: Simulator, req: Request) -> Any:
    _update(sim, str(req.params["poolid"]), req.params)
    return None


@route("DELETE", "/pools/{poolid}")
def delete_pool_legacy(sim: Simulator, req: Request) -> Any:
    _delete(sim, str(req.params["poolid"]))
    return None

