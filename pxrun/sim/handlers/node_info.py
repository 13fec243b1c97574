"""Node information: DNS, time, version, syslog, journal, services, disks and /etc/hosts.

Per-node settings (DNS, time zone, hosts file, service states) live in the cluster document
(`sim.extra["node_config"][node]`). The logs are made from what the node did: one pvedaemon
line per task it started and ended, so a client reading syslog sees its own work. Disks are a
fixed, plausible inventory matching the node's storages.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from pxrun.sim.api import Request, WithTotal, fail, route
from pxrun.sim.formats import check_format
from pxrun.sim.handlers.version import version_info
from pxrun.sim.table_node import SERVICES
from pxrun.sim.tasks import TaskContext

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

SERVICE_NAMES = {"syslog": "rsyslog", "sshd": "ssh"}
STOPPED_BY_DEFAULT = frozenset({"ksmtuned", "proxmox-firewall", "spiceproxy"})


def _config(sim: Simulator, node: str) -> dict[str, Any]:
    nodes: dict[str, Any] = sim.extra.setdefault("node_config", {})
    found: dict[str, Any] = nodes.setdefault(node, {})
    return found


@route("GET", "/nodes/{node}/dns")
def get_dns(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        saved = _config(sim, req.params["node"]).get("dns")
    return dict(saved) if saved else {"search": "pxrun.lan", "dns1": "10.20.0.1"}


@route("PUT", "/nodes/{node}/dns")
def set_dns(sim: Simulator, req: Request) -> Any:
    values = {k: req.params[k] for k in ("search", "dns1", "dns2", "dns3") if k in req.params}
    with sim.lock:
        _config(sim, req.params["node"])["dns"] = values
        sim.commit()
    return None


@route("GET", "/nodes/{node}/time")
def get_time(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        zone = _config(sim, req.params["node"]).get("timezone", "UTC")
    now = int(time.time())
    return {"timezone": zone, "time": now, "localtime": now + time.localtime(now).tm_gmtoff}


@route("PUT", "/nodes/{node}/time")
def set_time(sim: Simulator, req: Request) -> Any:
    zone = str(req.params["timezone"])
    if zone != "UTC":
        try:
            check_format("pve-ct-timezone", zone)
        except ValueError:
            raise fail(f"Timezone '{zone}' does not exist") from None
    with sim.lock:
        _config(sim, req.params["node"])["timezone"] = zone
        sim.commit()
    return None


@route("GET", "/nodes/{node}/version")
def node_version(sim: Simulator, req: Request) -> Any:
    return version_info(sim)


def _log_lines(sim: Simulator, node: str) -> list[tuple[int, str]]:
    """(time, line) of the node's log: a pvedaemon line per task start and end."""
    lines: list[tuple[int, str]] = []
    with sim.lock:
        tasks = [t for t in sim.tasks.tasks.values() if t.node == node]
    for task in tasks:
        lines.append((task.starttime, f"pvedaemon[{task.pid}]: <{task.user}> starting task "
                                      f"{task.upid}"))
        if task.endtime is not None:
            lines.append((task.endtime, f"pvedaemon[{task.pid}]: <{task.user}> end task "
                                        f"{task.upid} {task.exitstatus}"))
    lines.sort()
    return lines


def _stamp(when: int, node: str, text: str) -> str:
    return time.strftime("%b %d %H:%M:%S ", time.localtime(when)) + f"{node} {text}"


@route("GET", "/nodes/{node}/syslog")
def syslog(sim: Simulator, req: Request) -> Any:
    node = req.params["node"]
    lines = [_stamp(t, node, text) for t, text in _log_lines(sim, node)]
    if req.params.get("service"):
        lines = [line for line in lines if str(req.params["service"]) in line]
    if not lines:
        lines = [_stamp(int(time.time()), node, "systemd[1]: Started pvedaemon.service - PVE "
                                                "API Daemon.")]
    start = int(req.params.get("start", 0))
    limit = int(req.params.get("limit", 50))
    chosen = lines[start:start + limit] if limit else lines[start:]
    return WithTotal([{"n": start + i + 1, "t": t} for i, t in enumerate(chosen)], len(lines))


@route("GET", "/nodes/{node}/journal")
def journal(sim: Simulator, req: Request) -> Any:
    node = req.params["node"]
    entries = _log_lines(sim, node)
    if req.params.get("since") is not None:
        entries = [e for e in entries if e[0] >= int(req.params["since"])]
    if req.params.get("until") is not None:
        entries = [e for e in entries if e[0] <= int(req.params["until"])]
    if req.params.get("lastentries"):
        entries = entries[-int(req.params["lastentries"]):]
    out = [time.strftime("%b %d %H:%M:%S ", time.localtime(t)) + f"{node} {text}"
           for t, text in entries]
    cursor = hashlib.sha1(f"{node}{len(entries)}".encode()).hexdigest()
    return [f"s={cursor[:32]};i=1", *out, f"s={cursor[:32]};i={len(out) + 1}"]


def _service_json(sim: Simulator, node: str, service: str) -> dict[str, Any]:
    states = _config(sim, node).get("services", {})
    running = states.get(service, service not in STOPPED_BY_DEFAULT)
    return {"service": service, "name": SERVICE_NAMES.get(service, service),
            "desc": f"{service} service", "state": "running" if running else "dead",
            "active-state": "active" if running else "inactive",
            "unit-state": "enabled" if service not in STOPPED_BY_DEFAULT else "disabled"}


@route("GET", "/nodes/{node}/services")
def services(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        return [_service_json(sim, req.params["node"], s) for s in SERVICES]


@route("GET", "/nodes/{node}/services/{service}")
def service_index(sim: Simulator, req: Request) -> Any:
    return [{"subdir": s} for s in ("state", "start", "stop", "restart", "reload")]


@route("GET", "/nodes/{node}/services/{service}/state")
def service_state(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        return _service_json(sim, req.params["node"], str(req.params["service"]))


def _service_action(action: str) -> Any:
    def handler(sim: Simulator, req: Request) -> Any:
        node, service = req.params["node"], str(req.params["service"])

        def work(ctx: TaskContext) -> None:
            ctx.phase()
            with sim.lock:
                states = _config(sim, node).setdefault("services", {})
                states[service] = action != "stop"
                sim.commit()

        with sim.lock:
            return sim.tasks.start(node, f"srv{action}", service, req.auth.authid, work)

    return handler


for _action in ("start", "stop", "restart", "reload"):
    route("POST", f"/nodes/{{node}}/services/{{service}}/{_action}")(_service_action(_action))


@route("GET", "/nodes/{node}/disks/list")
def disks(sim: Simulator, req: Request) -> Any:
    node = req.params["node"]
    with sim.lock:
        index = list(sim.nodes).index(node)
    serial = hashlib.sha1(node.encode()).hexdigest()[:12].upper()
    items = [
        {"devpath": "/dev/nvme0n1", "size": 512 * 1024**3, "model": "Simulated NVMe SSD",
         "serial": f"S{serial}", "vendor": "unknown", "type": "nvme", "health": "PASSED",
         "used": "LVM", "gpt": 1, "mounted": 0, "osdid": -1, "osdid-list": [],
         "wwn": f"eui.0025385{index}91b0{serial[:6].lower()}", "rpm": 0},
        {"devpath": "/dev/sda", "size": 2 * 1024**4, "model": "Simulated HDD",
         "serial": f"Z{serial}", "vendor": "ATA", "type": "hdd", "health": "PASSED",
         "gpt": 1, "mounted": 0, "osdid": -1, "osdid-list": [], "rpm": 7200,
         "wwn": f"0x5000c500{index}{serial[:7].lower()}"},
    ]
    if req.params.get("type") == "unused":
        items = [i for i in items if not i.get("used")]
    return items


def _hosts_text(sim: Simulator, node: str) -> str:
    saved = _config(sim, node).get("hosts")
    if saved is not None:
        return str(saved)
    lines = ["127.0.0.1 localhost.localdomain localhost"]
    lines += [f"{n.ip} {n.name}.pxrun.lan {n.name}" for n in sim.nodes.values()]
    lines += ["", "::1     ip6-localhost ip6-loopback", "fe00::0 ip6-localnet"]
    return "\n".join(lines) + "\n"


@route("GET", "/nodes/{node}/hosts")
def get_hosts(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        text = _hosts_text(sim, req.params["node"])
    return {"data": text, "digest": hashlib.sha1(text.encode()).hexdigest()}


@route("POST", "/nodes/{node}/hosts")
def set_hosts(sim: Simulator, req: Request) -> Any:
    node = req.params["node"]
    with sim.lock:
        current = hashlib.sha1(_hosts_text(sim, node).encode()).hexdigest()
        if req.params.get("digest") and req.params["digest"] != current:
            raise fail("detected modified configuration - file changed by other user? "
                       "Try again.")
        _config(sim, node)["hosts"] = str(req.params["data"])
        sim.commit()
    return None
