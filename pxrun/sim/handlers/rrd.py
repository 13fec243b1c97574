"""RRD statistics (`rrddata`) of nodes, containers and storages: plausible series.

pvestatd feeds round-robin databases every ten seconds; the API returns 70 points per
timeframe (one minute apart for `hour`, 30 minutes for `day`, 3 hours for `week`, 12 hours
for `month`, a week for `year`, as PVE 9's RRD layout), each `{time, ...}`. The simulator
computes them from the object's current size and state with a deterministic wobble: a running
container shows CPU, memory, network and disk traffic, a stopped one only its maximums, a
storage its real used bytes. `MAX` is a little above `AVERAGE`.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from pxrun.sim.api import Request, route
from pxrun.sim.handlers.storage import storage_on

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

STEPS = {"hour": 60, "day": 1800, "week": 10800, "month": 43200, "year": 604800,
         "decade": 6048000}
POINTS = 70


def _times(timeframe: str) -> list[int]:
    step = STEPS[timeframe]
    end = int(time.time()) // step * step
    return [end - (POINTS - 1 - i) * step for i in range(POINTS)]


def _wave(seed: int, t: int, step: int) -> float:
    """A value in [0, 1) that wanders smoothly and repeatably over time."""
    x = t / step
    return (math.sin(x / 5 + seed) + math.sin(x / 13 + seed * 1.7) + 2) / 4


def _peak(value: float, cf: str | None) -> float:
    return value * 1.2 if cf == "MAX" else value


@route("GET", "/nodes/{node}/rrddata")
def node_rrd(sim: Simulator, req: Request) -> Any:
    node_name, frame, cf = req.params["node"], str(req.params["timeframe"]), req.params.get("cf")
    with sim.lock:
        node = sim.nodes[node_name]
        used = sim.mem_used(node_name)
    step, seed = STEPS[frame], node.nodeid
    out = []
    for t in _times(frame):
        w = _wave(seed, t, step)
        out.append({"time": t, "cpu": round(_peak(0.02 + 0.3 * w, cf), 4),
                    "iowait": round(_peak(0.002 * w, cf), 5), "maxcpu": node.cpus,
                    "loadavg": round(_peak(0.1 + node.cpus * 0.2 * w, cf), 2),
                    "memtotal": node.maxmem, "memused": int(_peak(used * (0.9 + 0.1 * w), cf)),
                    "swaptotal": 8 * 1024**3, "swapused": int(64 * 1024**2 * w),
                    "roottotal": 100 * 1024**3, "rootused": 6 * 1024**3,
                    "netin": round(_peak(2e5 + 4e6 * w, cf), 1),
                    "netout": round(_peak(1e5 + 2e6 * w, cf), 1)})
    return out


@route("GET", "/nodes/{node}/lxc/{vmid}/rrddata")
def ct_rrd(sim: Simulator, req: Request) -> Any:
    frame, cf = str(req.params["timeframe"]), req.params.get("cf")
    with sim.lock:
        ct = sim.ct_on(req.params["node"], int(req.params["vmid"]))
        status = ct.vmstatus(sim.nodes[ct.node].cpus, sim.pve9)
        running, started = ct.running, ct.started_at or time.time()
    step = STEPS[frame]
    out = []
    for t in _times(frame):
        item: dict[str, Any] = {"time": t, "maxcpu": status["cpus"], "maxmem": status["maxmem"],
                                "maxdisk": status["maxdisk"]}
        if running and t >= started - step:
            w = _wave(ct.vmid, t, step)
            item.update({
                "cpu": round(_peak(0.01 + 0.25 * w, cf), 4),
                "mem": int(_peak(status["maxmem"] * (0.1 + 0.3 * w), cf)),
                "disk": int(status["maxdisk"] * 0.2),
                "netin": round(_peak(1e3 + 5e5 * w, cf), 1),
                "netout": round(_peak(5e2 + 2e5 * w, cf), 1),
                "diskread": round(_peak(4e3 + 1e6 * w, cf), 1),
                "diskwrite": round(_peak(2e3 + 5e5 * w, cf), 1)})
        out.append(item)
    return out


@route("GET", "/nodes/{node}/storage/{storage}/rrddata")
def storage_rrd(sim: Simulator, req: Request) -> Any:
    node, frame = req.params["node"], str(req.params["timeframe"])
    with sim.lock:
        sdef = storage_on(sim, node, req.params["storage"])
        used, total = sim.storages.used(sdef.id, node), sdef.total
    step = STEPS[frame]
    points = _times(frame)
    # The past grew towards what is used now.
    return [{"time": t, "total": total,
             "used": int(used * (0.7 + 0.3 * i / (POINTS - 1)) * (0.98 + 0.02 * _wave(
                 len(sdef.id), t, step)))} for i, t in enumerate(points)]
