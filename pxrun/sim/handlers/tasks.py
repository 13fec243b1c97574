"""Task endpoints: list, status, log and stop, as `PVE::API2::Tasks` answers them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim.acl import Access
from pxrun.sim.api import Request, WithTotal, param_error, route
from pxrun.sim.tasks import Task, decode_upid

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

# Finished tasks per node in `/cluster/tasks` (PVE keeps a short recent list there).
CLUSTER_FINISHED = 50


def _task(sim: Simulator, req: Request) -> Task:
    upid = str(req.params["upid"])
    if decode_upid(upid) is None:
        raise param_error({"upid": "unable to parse worker upid"})
    task = sim.tasks.tasks.get(upid)
    if task is None or task.node != req.params["node"]:
        raise param_error({"upid": "no such task"})
    return task


@route("GET", "/nodes/{node}/tasks")
def list_tasks(sim: Simulator, req: Request) -> Any:
    p = req.params
    source = p.get("source", "archive")
    auditor = req.credentials is None or req.auth.is_root or Access(req.credentials, sim).has(
        req.auth, f"/nodes/{p['node']}", ["Sys.Audit"])
    with sim.lock:
        items = [t for t in sim.tasks.tasks.values() if t.node == p["node"]
                 and (auditor or t.user == req.auth.authid)]
        if source == "archive":
            items = [t for t in items if not t.running]
        elif source == "active":
            items = [t for t in items if t.running]
        if p.get("vmid") is not None:
            items = [t for t in items if t.id == str(p["vmid"])]
        if p.get("typefilter"):
            items = [t for t in items if t.type == p["typefilter"]]
        if p.get("userfilter"):
            items = [t for t in items if p["userfilter"] in t.user]
        if p.get("since") is not None:
            items = [t for t in items if t.starttime >= int(p["since"])]
        if p.get("until") is not None:
            items = [t for t in items if t.starttime <= int(p["until"])]
        if p.get("errors"):
            items = [t for t in items if not t.running and _kind(t) == "error"]
        if p.get("statusfilter"):
            wanted = {s.strip() for s in str(p["statusfilter"]).replace(";", ",").split(",")}
            items = [t for t in items if _kind(t) in wanted]
        items.sort(key=lambda t: (t.starttime, t.pid), reverse=True)
        start = int(p.get("start", 0))
        limit = int(p.get("limit", 50))
        page = items[start:start + limit] if limit else items[start:]
        return WithTotal([t.list_json() for t in page], len(items))


def _kind(task: Task) -> str:
    status = task.exitstatus
    if status is None:
        return "running"
    if status == "OK":
        return "ok"
    if status.startswith("WARNINGS"):
        return "warning"
    if status == "unexpected status":
        return "unknown"
    return "error"


@route("GET", "/nodes/{node}/tasks/{upid}")
def task_index(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        _task(sim, req)
    return [{"name": "log"}, {"name": "status"}]


def _own_or(sim: Simulator, req: Request, task: Task, privilege: str) -> None:
    """Someone else's task needs `privilege` on the node (the tasks API's inner check)."""
    if req.credentials is None or req.auth.is_root or task.user == req.auth.authid:
        return
    Access(req.credentials, sim).check(req.auth, f"/nodes/{req.params['node']}", [privilege])


@route("GET", "/nodes/{node}/tasks/{upid}/status")
def task_status(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        task = _task(sim, req)
        _own_or(sim, req, task, "Sys.Audit")
        return task.status_json()


@route("GET", "/nodes/{node}/tasks/{upid}/log")
def task_log(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        task = _task(sim, req)
        _own_or(sim, req, task, "Sys.Audit")
        lines = list(task.log)
    if req.params.get("download"):
        return "\n".join(lines) + "\n"
    start = int(req.params.get("start", 0))
    limit = int(req.params.get("limit", 50))
    if not lines:
        return WithTotal([{"n": 1, "t": "no content"}], 1)
    chosen = lines[start:start + limit] if limit else lines[start:]
    return WithTotal([{"n": start + i + 1, "t": t} for i, t in enumerate(chosen)], len(lines))


@route("DELETE", "/nodes/{node}/tasks/{upid}")
def stop_task(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        task = _task(sim, req)
        _own_or(sim, req, task, "Sys.Modify")
        sim.tasks.stop(task.upid)
    return None


@route("GET", "/cluster/tasks")
def cluster_tasks(sim: Simulator, req: Request) -> Any:
    """The cluster's task list (pvestatd's kvstore): every running task and the newest
    finished ones of every node, newest first."""
    with sim.lock:
        running = [t for t in sim.tasks.tasks.values() if t.running]
        finished: list[Task] = []
        for node in sim.nodes:
            done = [t for t in sim.tasks.tasks.values() if t.node == node and not t.running]
            done.sort(key=lambda t: (t.starttime, t.pid), reverse=True)
            finished += done[:CLUSTER_FINISHED]
        items = sorted(running + finished, key=lambda t: (t.starttime, t.pid), reverse=True)
        out = []
        for task in items:
            item = task.list_json()
            item["saved"] = "1" if not task.running else "0"
            out.append(item)
        return out
