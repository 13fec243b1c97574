"""Bulk actions: a node's `startall`/`stopall`/`migrateall` and the cluster-wide
`/cluster/bulk-action/guest/*` (Proxmox VE 9).

As pve-manager's: one task for the whole action that starts one ordinary task per guest
(`vzstart`, `vzshutdown`, `vzmigrate`, `vzsuspend`) and waits for each; `startall` takes the
guests with `onboot` set (all of `vms`, or all with `force`) in `startup` order, `stopall`
the running ones in reverse order. Task types of the cluster-wide actions (`bulkstart`, ...)
and the node they run on (the first online node) are the simulator's choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim import formats
from pxrun.sim.api import ApiError, Request, fail, route
from pxrun.sim.handlers.disks import migrate_worker
from pxrun.sim.handlers.power import do_start, do_stop
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.containers import Container
    from pxrun.sim.state import Simulator


def _order(ct: Container) -> tuple[int, int]:
    startup = formats.parse_startup(ct.conf.get("startup", "")) or {}
    return (int(startup.get("order", 1_000_000)), ct.vmid)


def _chosen(sim: Simulator, node: str | None, vms: Any) -> list[Container]:
    wanted = {int(v) for v in (vms if isinstance(vms, list) else
                               formats.split_list(str(vms or "")))}
    return sorted((ct for ct in sim.containers.values()
                   if (node is None or ct.node == node) and (not wanted or ct.vmid in wanted)),
                  key=_order)


def _each(ctx: TaskContext, user: str, guests: list[Container], kind: str, verb: str,
          worker: Any) -> None:
    """Start one task per guest and wait for it; a failed guest fails the bulk task."""
    sim = ctx.sim
    failed = []
    for ct in guests:
        ctx.log(f"{verb} CT {ct.vmid}")
        with sim.lock:
            upid = sim.tasks.start(ct.node, kind, str(ct.vmid), user, worker(ct))
            thread = sim.tasks.threads.get(upid)
        if thread is not None:
            thread.join()
        with sim.lock:
            status = sim.tasks.tasks[upid].exitstatus
        if status != "OK":
            ctx.log(f"{verb} CT {ct.vmid} failed: {status}")
            failed.append(ct.vmid)
    if failed:
        raise TaskError(f"{len(failed)} guest(s) failed: {', '.join(map(str, failed))}")


def _start(ct: Container) -> Any:
    return lambda ctx: do_start(ctx, ct)


def _stop(ct: Container) -> Any:
    return lambda ctx: do_stop(ctx, ct)


@route("POST", "/nodes/{node}/startall")
def startall(sim: Simulator, req: Request) -> Any:
    node, p = req.params["node"], req.params
    with sim.lock:
        guests = [ct for ct in _chosen(sim, node, p.get("vms")) if not ct.running
                  and not ct.is_template
                  and (p.get("force") or p.get("vms") or ct.conf.get("onboot") == "1")]
        return sim.tasks.start(node, "startall", "", req.auth.authid,
                               lambda ctx: _each(ctx, req.auth.authid, guests, "vzstart",
                                                 "Starting", _start))


@route("POST", "/nodes/{node}/stopall")
def stopall(sim: Simulator, req: Request) -> Any:
    node, p = req.params["node"], req.params
    with sim.lock:
        guests = [ct for ct in reversed(_chosen(sim, node, p.get("vms"))) if ct.running]
        return sim.tasks.start(node, "stopall", "", req.auth.authid,
                               lambda ctx: _each(ctx, req.auth.authid, guests, "vzshutdown",
                                                 "Stopping", _stop))


def _migrate_to(sim: Simulator, target: str) -> Any:
    return lambda ct: migrate_worker(sim, ct, target, None)


@route("POST", "/nodes/{node}/migrateall")
def migrateall(sim: Simulator, req: Request) -> Any:
    node, p = req.params["node"], req.params
    target = str(p["target"])
    with sim.lock:
        if target == node:
            raise fail("target is local node.")
        if target not in sim.nodes:
            raise fail(f"no such cluster node '{target}'")
        guests = _chosen(sim, node, p.get("vms"))
        return sim.tasks.start(node, "migrateall", "", req.auth.authid,
                               lambda ctx: _each(ctx, req.auth.authid, guests, "vzmigrate",
                                                 "Migrating", _migrate_to(sim, target)))


# -- cluster-wide (PVE 9) ----------------------------------------------------------------------


def _pve9(sim: Simulator, req: Request) -> None:
    if not sim.pve9:
        raise ApiError(501, f"Method '{req.method} {req.path}' not implemented")


@route("GET", "/cluster/bulk-action")
def bulk_index(sim: Simulator, req: Request) -> Any:
    _pve9(sim, req)
    return [{"name": "guest"}]


@route("GET", "/cluster/bulk-action/guest")
def bulk_guest_index(sim: Simulator, req: Request) -> Any:
    _pve9(sim, req)
    return [{"name": n} for n in ("start", "shutdown", "suspend", "migrate")]


def _bulk(sim: Simulator, req: Request, kind: str, verb: str, each_kind: str, worker: Any,
          pick: Any) -> Any:
    _pve9(sim, req)
    with sim.lock:
        online = [n for n in sim.nodes if sim.node_online(n)]
        if not online:
            raise fail("no online node")
        guests = [ct for ct in _chosen(sim, None, req.params.get("vms")) if pick(ct)]
        user = req.auth.authid
        return sim.tasks.start(online[0], kind, "", user,
                               lambda ctx: _each(ctx, user, guests, each_kind, verb, worker))


@route("POST", "/cluster/bulk-action/guest/start")
def bulk_start(sim: Simulator, req: Request) -> Any:
    return _bulk(sim, req, "bulkstart", "Starting", "vzstart", _start,
                 lambda ct: not ct.running and not ct.is_template)


@route("POST", "/cluster/bulk-action/guest/shutdown")
def bulk_shutdown(sim: Simulator, req: Request) -> Any:
    return _bulk(sim, req, "bulkshutdown", "Stopping", "vzshutdown", _stop,
                 lambda ct: ct.running)


@route("POST", "/cluster/bulk-action/guest/suspend")
def bulk_suspend(sim: Simulator, req: Request) -> Any:
    return _bulk(sim, req, "bulksuspend", "Suspending", "vzsuspend",
                 lambda ct: lambda ctx: ctx.phase(), lambda ct: ct.running)


@route("POST", "/cluster/bulk-action/guest/migrate")
def bulk_migrate(sim: Simulator, req: Request) -> Any:
    target = str(req.params["target"])
    return _bulk(sim, req, "bulkmigrate", "Migrating", "vzmigrate", _migrate_to(sim, target),
                 lambda ct: ct.node != target)
