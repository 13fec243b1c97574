"""Parameter table: backups (`vzdump`, its defaults and config extraction) and backup jobs."""

from __future__ import annotations

from pxrun.sim.table_param import NODE, STORAGE_OPT, A, B, Endpoint, I, Param, S

# vzdump's options, shared by `POST /nodes/{node}/vzdump` and the backup jobs (jobs.cfg).
VZDUMP: dict[str, Param] = {
    "all": B(default=0),
    "bwlimit": I(minimum=0, default=0),
    "compress": S(enum=("0", "1", "gzip", "lzo", "zstd"), default="0"),
    "dumpdir": S(),
    "exclude": S(format="pve-vmid-list"),
    "exclude-path": A(),
    "fleecing": S(format="backup-fleecing"),
    "ionice": I(minimum=0, maximum=8, default=7),
    "lockwait": I(minimum=0, default=180),
    "mailnotification": S(enum=("always", "failure"), default="always"),
    "mailto": S(format="email-or-username-list"),
    "maxfiles": I(minimum=1),
    "mode": S(enum=("snapshot", "suspend", "stop"), default="snapshot"),
    "node": S(format="pve-node"),
    "notes-template": S(max_length=1024, requires="storage"),
    "notification-mode": S(enum=("auto", "legacy-sendmail", "notification-system"),
                           default="auto"),
    "pbs-change-detection-mode": S(enum=("legacy", "data", "metadata")),
    "performance": S(format="backup-performance"),
    "pigz": I(default=0),
    "pool": S(),
    "protected": B(requires="storage"),
    "prune-backups": S(format="prune-backups", default="keep-all=1"),
    "quiet": B(default=0),
    "remove": B(default=1),
    "script": S(),
    "stdexcludes": B(default=1),
    "stop": B(default=0),
    "stopwait": I(minimum=0, default=10),
    "storage": STORAGE_OPT,
    "tmpdir": S(),
    "vmid": S(format="pve-vmid-list"),
    "zstd": I(default=1),
}
JOB_ID = S(optional=False, pattern=r"\S+", max_length=50)
JOB: dict[str, Param] = {
    **VZDUMP,
    "comment": S(max_length=512),
    "dow": S(format="pve-day-of-week-list", requires="starttime"),
    "enabled": B(default=1),
    "repeat-missed": B(default=0),
    "schedule": S(format="pve-calendar-event", max_length=128),
    "starttime": S(pattern=r"\d{1,2}:\d{1,2}"),
}


def _ep(method: str, template: str, params: dict[str, Param], returns: str = "") -> Endpoint:
    return Endpoint(method, template, dict(params), returns)


ENDPOINTS: list[Endpoint] = [
    _ep("POST", "/nodes/{node}/vzdump",
        {**VZDUMP, "job-id": S(pattern=r"\S+", max_length=50), "stdout": B()}, "string"),
    _ep("GET", "/nodes/{node}/vzdump/defaults", {"node": NODE, "storage": STORAGE_OPT},
        "object"),
    _ep("GET", "/nodes/{node}/vzdump/extractconfig",
        {"node": NODE, "volume": S(optional=False)}, "string"),
    _ep("GET", "/cluster/backup", {}, "array"),
    _ep("POST", "/cluster/backup",
        {**JOB, "dow": JOB["dow"].but(default="mon,tue,wed,thu,fri,sat,sun"),
         "id": S(format="pve-configid")}, "null"),
    _ep("GET", "/cluster/backup/{id}", {"id": JOB_ID}, "object"),
    _ep("PUT", "/cluster/backup/{id}",
        {**JOB, "delete": S(format="pve-configid-list"), "id": JOB_ID}, "null"),
    _ep("DELETE", "/cluster/backup/{id}", {"id": JOB_ID}, "null"),
    _ep("GET", "/cluster/backup/{id}/included_volumes", {"id": JOB_ID}, "object"),
    _ep("GET", "/cluster/backup-info/not-backed-up", {}, "array"),
]
