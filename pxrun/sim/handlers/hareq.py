"""Power and migration requests for HA-managed containers (`hastart`, `hastop`, `hamigrate`).

pve-container hands these to the HA manager instead of acting: the caller's task only records
the request (`Requesting HA start for CT 101`) and sets the resource's state; the local
resource manager then runs the real task as root@pam on the container's node. A client that
waits for the caller's task and then reads `status/current` may see the old state for a
moment, as on a real cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim import ha
from pxrun.sim.api import Request

if TYPE_CHECKING:
    from pxrun.sim.containers import Container
    from pxrun.sim.state import Simulator
    from pxrun.sim.tasks import TaskContext

LRM_USER = "root@pam"


def ha_request(sim: Simulator, req: Request, ct: Container, kind: str, what: str,
               target: str | None = None, *, force_stop: bool = True) -> str:
    """Fork the `ha*` task for a request (caller holds sim.lock)."""
    sid = f"ct:{ct.vmid}"

    def work(ctx: TaskContext) -> None:
        where = f" to node '{target}'" if target else ""
        ctx.log(f"Requesting HA {what} for CT {ct.vmid}{where}")
        with sim.lock:
            item = ha.data(sim)["resources"].get(sid)
            if item is None:
                return
            if kind == "hastart":
                item["state"] = "started"
            elif kind == "hastop":
                item["state"] = "stopped"
            sim.commit()
            lrm(sim, ct, kind, target, force_stop=force_stop)

    return sim.tasks.start(ct.node, kind, str(ct.vmid), req.auth.authid, work)


def lrm(sim: Simulator, ct: Container, kind: str, target: str | None, *,
        force_stop: bool = True) -> None:
    """The local resource manager carrying a request out (caller holds sim.lock)."""
    from pxrun.sim.handlers.disks import migrate_worker
    from pxrun.sim.handlers.power import do_start, do_stop

    if kind == "hastart" and not ct.running:
        sim.tasks.start(ct.node, "vzstart", str(ct.vmid), LRM_USER,
                        lambda ctx: do_start(ctx, ct))
    elif kind == "hastop" and ct.running:
        sim.tasks.start(ct.node, "vzstop" if force_stop else "vzshutdown", str(ct.vmid),
                        LRM_USER, lambda ctx: do_stop(ctx, ct))
    elif kind == "hamigrate" and target:
        sim.tasks.start(ct.node, "vzmigrate", str(ct.vmid), LRM_USER,
                        migrate_worker(sim, ct, target, None))


def ha_status(sim: Simulator, vmid: int) -> dict[str, Any]:
    """The `ha` member of `status/current`."""
    item = ha.resource(sim, vmid)
    if item is None:
        return {"managed": 0}
    return {"managed": 1, "state": ha.state_of(item)}
