"""Backup jobs (`/cluster/backup`, jobs.cfg) and which guests no job backs up.

Jobs are kept in the cluster document (`sim.extra["backup_jobs"]`). As pve-manager's
`API2/Backup.pm`: an id is generated when none is given (`backup-<hex>-<hex>`), a job needs a
`schedule` (or the legacy `starttime` + `dow`, converted to one) and what to back up (`vmid`,
`all` or `pool`), `enabled` defaults to 1, property strings come back parsed as objects, and
the list shows each job's `next-run`. The simulator does not run jobs on their schedule.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from pxrun.sim import propstr
from pxrun.sim.api import Request, fail, param_error, route
from pxrun.sim.formats import split_list
from pxrun.sim.guest import backup_enabled, is_volume, mountpoints
from pxrun.sim.handlers.backup import guests, verify_parameters

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

KEY = "backup_jobs"
OBJECTS = ("prune-backups", "fleecing", "performance")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _jobs(sim: Simulator) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = sim.extra.setdefault(KEY, {})
    return jobs


def _schedule(values: dict[str, Any]) -> None:
    """`starttime` + `dow` (old style) become a calendar event, as convert_to_schedule."""
    start = values.pop("starttime", None)
    dow = values.pop("dow", None)
    if start and not values.get("schedule"):
        days = split_list(str(dow or ",".join(_DAYS)))
        prefix = "" if len(days) == 7 else ",".join(days) + " "
        values["schedule"] = prefix + str(start)


def _job_json(job_id: str, job: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": job_id, "type": "vzdump", **job}
    for key in OBJECTS:
        if isinstance(data.get(key), str):
            fmt = "prune-backups" if key == "prune-backups" else f"backup-{key}"
            data[key] = propstr.parse(fmt, data[key])
    return data


def _next_run(job: dict[str, Any]) -> int:
    """A plausible next start: today or tomorrow at the schedule's HH:MM (else in an hour)."""
    now = time.time()
    text = str(job.get("schedule", "")).split()[-1] if job.get("schedule") else ""
    try:
        hour, minute = (int(x) for x in text.split(":")[:2])
    except ValueError:
        return int(now) + 3600
    local = time.localtime(now)
    at = time.mktime((local.tm_year, local.tm_mon, local.tm_mday, hour, minute, 0, 0, 0, -1))
    return int(at if at > now else at + 86400)


@route("GET", "/cluster/backup")
def list_jobs(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        out = []
        for job_id, job in sorted(_jobs(sim).items()):
            item = _job_json(job_id, job)
            if job.get("enabled", 1):
                item["next-run"] = _next_run(job)
            out.append(item)
        return out


@route("POST", "/cluster/backup")
def create_job(sim: Simulator, req: Request) -> Any:
    values = dict(req.params)
    job_id = str(values.pop("id", None) or f"backup-{uuid.uuid4().hex[:8]}-"
                                               f"{uuid.uuid4().hex[:4]}")
    _schedule(values)
    if not values.get("schedule"):
        raise param_error({"schedule": "property is missing and it is not optional"})
    verify_parameters(values)
    values.setdefault("enabled", 1)
    with sim.lock:
        jobs = _jobs(sim)
        if job_id in jobs:
            raise fail(f"Job with ID '{job_id}' already exists")
        jobs[job_id] = values
        sim.commit()
    return None


def _job(sim: Simulator, job_id: str) -> dict[str, Any]:
    job = _jobs(sim).get(job_id)
    if job is None:
        raise fail(f"Job '{job_id}' does not exist")
    return job


@route("GET", "/cluster/backup/{id}")
def read_job(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        return _job_json(req.params["id"], _job(sim, req.params["id"]))


@route("PUT", "/cluster/backup/{id}")
def update_job(sim: Simulator, req: Request) -> Any:
    values = dict(req.params)
    job_id = values.pop("id")
    delete = split_list(str(values.pop("delete", "") or ""))
    with sim.lock:
        job = dict(_job(sim, job_id))
        for key in delete:
            job.pop(key, None)
        _schedule(values)
        job.update(values)
        if not job.get("schedule"):
            raise param_error({"schedule": "property is missing and it is not optional"})
        verify_parameters(job)
        _jobs(sim)[job_id] = job
        sim.commit()
    return None


@route("DELETE", "/cluster/backup/{id}")
def delete_job(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        _job(sim, req.params["id"])
        del _jobs(sim)[req.params["id"]]
        sim.commit()
    return None


@route("GET", "/cluster/backup/{id}/included_volumes")
def included_volumes(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        job = _job(sim, req.params["id"])
        children = []
        for vmid in guests(sim, job):
            ct = sim.containers.get(vmid)
            if ct is None:
                children.append({"id": vmid, "type": "unknown"})
                continue
            volumes = []
            for key, mp in mountpoints(ct.conf):
                if backup_enabled(key, mp):
                    reason = "mountpoint" if key != "rootfs" else "rootfs"
                else:
                    reason = "not a volume" if not is_volume(mp) else "backup=0"
                volumes.append({"id": key, "name": str(mp["volume"]),
                                "included": 1 if backup_enabled(key, mp) else 0,
                                "reason": reason})
            children.append({"id": vmid, "type": "lxc", "children": volumes,
                             "name": ct.conf.get("hostname", f"CT{vmid}")})
        return {"children": children}


@route("GET", "/cluster/backup-info/not-backed-up")
def not_backed_up(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        covered: set[int] = set()
        for job in _jobs(sim).values():
            if job.get("enabled", 1):
                covered.update(guests(sim, job))
        return [{"vmid": vmid, "type": "lxc", "name": ct.conf.get("hostname", f"CT{vmid}")}
                for vmid, ct in sorted(sim.containers.items())
                if vmid not in covered and not ct.is_template]


def purge_from_jobs(sim: Simulator, vmid: int) -> None:
    """`purge` on destroy: the vmid leaves every job's list (a job left empty goes too)."""
    jobs = _jobs(sim)
    for job_id, job in list(jobs.items()):
        if not job.get("vmid"):
            continue
        left = [v for v in split_list(str(job["vmid"])) if int(v) != vmid]
        if left:
            job["vmid"] = ",".join(left)
        else:
            del jobs[job_id]
