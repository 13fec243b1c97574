"""Parameter table: node information (dns, time, version, logs, services, disks, hosts) and
bulk actions (`startall`/`stopall`/`migrateall`, `/cluster/bulk-action/guest/*`)."""

from __future__ import annotations

from pxrun.sim.table_param import NODE, STORAGE, VMID, A, B, Endpoint, I, Param, S

SERVICES = (
    "chrony", "corosync", "cron", "ksmtuned", "lxcfs", "postfix", "proxmox-firewall",
    "pve-cluster", "pve-firewall", "pve-ha-crm", "pve-ha-lrm", "pve-lxc-syscalld", "pvedaemon",
    "pvefw-logger", "pveproxy", "pvescheduler", "pvestatd", "qmeventd", "spiceproxy", "sshd",
    "syslog", "systemd-journald", "systemd-timesyncd",
)  # fmt: skip
SERVICE = {"node": NODE, "service": S(optional=False, enum=SERVICES)}
DAY = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$"
WORKERS = I(minimum=1, maximum=64)


def _ep(method: str, template: str, params: dict[str, Param], returns: str = "") -> Endpoint:
    return Endpoint(method, template, dict(params), returns)


FRAMES = ("hour", "day", "week", "month", "year")
CF = S(enum=("AVERAGE", "MAX"))

ENDPOINTS: list[Endpoint] = [
    _ep("GET", "/nodes/{node}/rrddata",
        {"node": NODE, "cf": CF, "timeframe": S(optional=False, enum=(*FRAMES, "decade"))},
        "array"),
    _ep("GET", "/nodes/{node}/lxc/{vmid}/rrddata",
        {"node": NODE, "vmid": VMID, "cf": CF, "timeframe": S(optional=False, enum=FRAMES)},
        "array"),
    _ep("GET", "/nodes/{node}/storage/{storage}/rrddata",
        {"node": NODE, "storage": STORAGE, "cf": CF,
         "timeframe": S(optional=False, enum=FRAMES)}, "array"),
    _ep("GET", "/nodes/{node}/dns", {"node": NODE}, "object"),
    _ep("PUT", "/nodes/{node}/dns", {"node": NODE, "dns1": S(format="ip"),
                                     "dns2": S(format="ip"), "dns3": S(format="ip"),
                                     "search": S(optional=False)}, "null"),
    _ep("GET", "/nodes/{node}/time", {"node": NODE}, "object"),
    _ep("PUT", "/nodes/{node}/time", {"node": NODE, "timezone": S(optional=False)}, "null"),
    _ep("GET", "/nodes/{node}/version", {"node": NODE}, "object"),
    _ep("GET", "/nodes/{node}/syslog", {
        "node": NODE, "limit": I(minimum=0), "service": S(max_length=128),
        "since": S(pattern=DAY), "start": I(minimum=0), "until": S(pattern=DAY)}, "array"),
    _ep("GET", "/nodes/{node}/journal", {
        "node": NODE, "endcursor": S(), "lastentries": I(minimum=0), "since": I(minimum=0),
        "startcursor": S(), "until": I(minimum=0)}, "array"),
    _ep("GET", "/nodes/{node}/services", {"node": NODE}, "array"),
    _ep("GET", "/nodes/{node}/services/{service}", SERVICE, "array"),
    _ep("GET", "/nodes/{node}/services/{service}/state", SERVICE, "object"),
    *(_ep("POST", f"/nodes/{{node}}/services/{{service}}/{action}", SERVICE, "string")
      for action in ("start", "stop", "restart", "reload")),
    _ep("GET", "/nodes/{node}/disks/list", {
        "node": NODE, "include-partitions": B(default=0), "skipsmart": B(default=0),
        "type": S(enum=("unused", "journal_disks"))}, "array"),
    _ep("GET", "/nodes/{node}/hosts", {"node": NODE}, "object"),
    _ep("POST", "/nodes/{node}/hosts", {"node": NODE, "data": S(optional=False),
                                        "digest": S(max_length=64)}, "null"),
    _ep("POST", "/nodes/{node}/startall", {
        "node": NODE, "force": B(), "max-workers": WORKERS,
        "vms": S(format="pve-vmid-list")}, "string"),
    _ep("POST", "/nodes/{node}/stopall", {
        "node": NODE, "force-stop": B(default=1), "max-workers": WORKERS,
        "timeout": I(minimum=0, maximum=7200, default=180),
        "vms": S(format="pve-vmid-list")}, "string"),
    _ep("POST", "/nodes/{node}/migrateall", {
        "node": NODE, "max-workers": WORKERS, "maxworkers": WORKERS, "target": NODE,
        "vms": S(format="pve-vmid-list"), "with-local-disks": B()}, "string"),
    _ep("GET", "/cluster/bulk-action", {}, "array"),
    _ep("GET", "/cluster/bulk-action/guest", {}, "array"),
    _ep("POST", "/cluster/bulk-action/guest/start", {
        "max-workers": WORKERS.but(default=4), "maxworkers": WORKERS.but(default=4),
        "timeout": I(), "vms": A()}, "string"),
    _ep("POST", "/cluster/bulk-action/guest/shutdown", {
        "force-stop": B(default=1), "max-workers": WORKERS.but(default=4),
        "maxworkers": WORKERS.but(default=4), "timeout": I(default=180), "vms": A()},
        "string"),
    _ep("POST", "/cluster/bulk-action/guest/suspend", {
        "max-workers": WORKERS.but(default=4), "maxworkers": WORKERS.but(default=4),
        "statestorage": S(format="pve-storage-id", requires="to-disk"),
        "to-disk": B(default=0), "vms": A()}, "string"),
    _ep("POST", "/cluster/bulk-action/guest/migrate", {
        "max-workers": WORKERS.but(default=1), "maxworkers": WORKERS.but(default=1),
        "online": B(), "target": NODE, "vms": A(), "with-local-disks": B()}, "string"),
]
