"""Power operations: status/current, start, stop, shutdown, reboot (suspend/resume as no-ops).

The pre-checks that Proxmox runs before forking (`CT 101 already running`, `CT 101 not
running`, reboot's `VM 101 not running`) fail the HTTP call; lock checks and the rest run
inside the worker and fail the task. Start and reboot apply pending changes first, as
`vm_start` does; shutdown alone does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim import ha, idmap, propstr, rootfs
from pxrun.sim.api import Request, fail, param_error, route
from pxrun.sim.containers import Container
from pxrun.sim.handlers.config import Change
from pxrun.sim.handlers.hareq import ha_request, ha_status
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator


def _lock_ok(ct: Container, skiplock: bool) -> None:
    lock = ct.conf.get("lock")
    if lock and lock != "mounted" and not skiplock:
        raise TaskError(f"CT is locked ({lock})")


def do_start(ctx: TaskContext, ct: Container, skiplock: bool = False) -> None:
    """vm_start inside a worker: apply pending, check, then run."""
    sim = ctx.sim
    vmid = ct.vmid
    ctx.phase(0.5)
    with sim.lock:
        _lock_ok(ct, skiplock)
        if ct.conf.get("template") == "1":
            raise TaskError("you can't start a CT if it's a template")
        change = Change(sim, ct)
        change.apply_pending(hotplug=False)
        change.commit()
        for text in change.errors.values():
            ctx.warn(text)
        if ct.conf.get("unprivileged") == "1":
            for key in [k for k in ct.conf if k == "rootfs" or k.startswith("mp")]:
                fmt = "rootfs" if key == "rootfs" else "mp"
                if propstr.parse(fmt, ct.conf[key]).get("quota"):
                    raise TaskError("Quotas are not supported by unprivileged containers.")
        for key in sorted(k for k in ct.conf if k.startswith("net")):
            bridge = str(propstr.parse("net", ct.conf[key]).get("bridge", ""))
            if bridge and sim.bridge(ct.node, bridge) is None:
                ctx.log(f"bridge '{bridge}' does not exist")
                raise TaskError(f"startup for container '{vmid}' failed")
        if ct.conf.get("unprivileged") == "1" or idmap.mappings(ct.raw_lxc) is not None:
            node_root = (rootfs.nodefs_dir(sim.state_dir, ct.node)
                         if sim.state_dir is not None else None)
            refusals = idmap.refused(ct.raw_lxc, node_root)
            for line in refusals:
                ctx.log(line)
            if refusals:
                raise TaskError(f"startup for container '{vmid}' failed")
        sim.commit()
    ctx.phase(0.5)
    with sim.lock:
        if ctx.fault():
            ctx.log(f"lxc-start: {vmid}: ../src/lxc/lxccontainer.c: wait_on_daemonized_start: "
                    "878 Received container state \"ABORTING\" instead of \"RUNNING\"")
            raise TaskError(f"startup for container '{vmid}' failed")
        ct.set_status("running")
        ct.pid = sim.rng.randint(10_000, 4_000_000)
        for key in sorted(k for k in ct.conf if k.startswith("net")):
            net = propstr.parse("net", ct.conf[key])
            if net.get("ip") == "dhcp" and net.get("bridge"):
                sim.dhcp.lease(str(net["bridge"]), str(net["hwaddr"]))
        sim.commit()


def do_stop(ctx: TaskContext, ct: Container, log: bool = True) -> None:
    ctx.phase()
    with ctx.sim.lock:
        ct.set_status("stopped")
        ct.pid = None
        ctx.sim.commit()


def _ct(sim: Simulator, req: Request) -> Container:
    return sim.ct_on(req.params["node"], int(req.params["vmid"]))


def _skiplock(req: Request) -> bool:
    if req.params.get("skiplock") and not req.auth.is_root:
        raise param_error({"skiplock": "Only root may use this option."})
    return bool(req.params.get("skiplock"))


@route("GET", "/nodes/{node}/lxc/{vmid}/status")
def status_index(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        _ct(sim, req)
    return [{"subdir": s} for s in ("current", "start", "stop", "shutdown", "reboot",
                                    "suspend", "resume")]


@route("GET", "/nodes/{node}/lxc/{vmid}/status/current")
def status_current(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        data = ct.vmstatus(sim.nodes[ct.node].cpus, sim.pve9)
        data["ha"] = ha_status(sim, ct.vmid)
        return data


@route("POST", "/nodes/{node}/lxc/{vmid}/status/start")
def start(sim: Simulator, req: Request) -> Any:
    skiplock = _skiplock(req)
    with sim.lock:
        ct = _ct(sim, req)
        if ct.running:
            raise fail(f"CT {ct.vmid} already running")
        if ha.managed(sim, ct.vmid):
            return ha_request(sim, req, ct, "hastart", "start")
        return sim.tasks.start(ct.node, "vzstart", str(ct.vmid), req.auth.authid,
                               lambda ctx: do_start(ctx, ct, skiplock))


@route("POST", "/nodes/{node}/lxc/{vmid}/status/stop")
def stop(sim: Simulator, req: Request) -> Any:
    skiplock = _skiplock(req)
    with sim.lock:
        ct = _ct(sim, req)
        if not ct.running:
            raise fail(f"CT {ct.vmid} not running")
        if ha.managed(sim, ct.vmid):
            return ha_request(sim, req, ct, "hastop", "stop")
        if req.params.get("overrule-shutdown"):
            for task in sim.tasks.running_for(ct.vmid, "vzshutdown"):
                sim.tasks.stop(task.upid)

        def work(ctx: TaskContext) -> None:
            with sim.lock:
                _lock_ok(ct, skiplock)
            do_stop(ctx, ct)

        return sim.tasks.start(ct.node, "vzstop", str(ct.vmid), req.auth.authid, work)


@route("POST", "/nodes/{node}/lxc/{vmid}/status/shutdown")
def shutdown(sim: Simulator, req: Request) -> Any:
    force = bool(req.params.get("forceStop"))
    with sim.lock:
        ct = _ct(sim, req)
        if not ct.running:
            raise fail(f"CT {ct.vmid} not running")
        if ha.managed(sim, ct.vmid):
            return ha_request(sim, req, ct, "hastop", "shutdown", force_stop=False)

        def work(ctx: TaskContext) -> None:
            with sim.lock:
                _lock_ok(ct, False)
            ctx.phase()
            if ctx.fault():  # the guest ignores the shutdown request until the timeout
                if not force:
                    raise TaskError("container did not stop")
                ctx.log("container did not stop within timeout, killing it")
            do_stop(ctx, ct)

        return sim.tasks.start(ct.node, "vzshutdown", str(ct.vmid), req.auth.authid, work)


@route("POST", "/nodes/{node}/lxc/{vmid}/status/reboot")
def reboot(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        if not ct.running:
            raise fail(f"VM {ct.vmid} not running")

        def work(ctx: TaskContext) -> None:
            do_stop(ctx, ct)
            do_start(ctx, ct)

        return sim.tasks.start(ct.node, "vzreboot", str(ct.vmid), req.auth.authid, work)


def _noop(kind: str) -> Any:
    def handler(sim: Simulator, req: Request) -> Any:
        with sim.lock:
            ct = _ct(sim, req)
            if not ct.running:
                raise fail(f"CT {ct.vmid} not running")
            return sim.tasks.start(ct.node, kind, str(ct.vmid), req.auth.authid,
                                   lambda ctx: ctx.phase())

    return handler


route("POST", "/nodes/{node}/lxc/{vmid}/status/suspend")(_noop("vzsuspend"))
route("POST", "/nodes/{node}/lxc/{vmid}/status/resume")(_noop("vzresume"))


def _link_local(mac: str) -> str:
    """The EUI-64 link-local address a veth gets from its MAC."""
    parts = [int(x, 16) for x in mac.split(":")]
    parts[0] ^= 0x02
    eui = [*parts[:3], 255, 254, *parts[3:]]
    groups = [f"{(eui[i] << 8) | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups)


def _iface(name: str, mac: str, v4: tuple[str, int] | None, v6: list[tuple[str, int]]) -> Any:
    addrs = []
    item: dict[str, Any] = {"name": name, "hwaddr": mac, "hardware-address": mac}
    if v4:
        item["inet"] = f"{v4[0]}/{v4[1]}"
        addrs.append({"ip-address": v4[0], "ip-address-type": "inet", "prefix": v4[1]})
    if v6:
        item["inet6"] = f"{v6[0][0]}/{v6[0][1]}"
        addrs += [{"ip-address": a, "ip-address-type": "inet6", "prefix": n} for a, n in v6]
    item["ip-addresses"] = addrs
    return item


@route("GET", "/nodes/{node}/lxc/{vmid}/interfaces")
def interfaces(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        if not ct.running:
            raise fail(f"CT {ct.vmid} not running")
        out = [_iface("lo", "00:00:00:00:00:00", ("127.0.0.1", 8), [("::1", 128)])]
        for key in sorted((k for k in ct.conf if k.startswith("net")), key=lambda k: int(k[3:])):
            net = propstr.parse("net", ct.conf[key])
            mac = str(net["hwaddr"])
            v4: tuple[str, int] | None = None
            ip = str(net.get("ip", ""))
            if ip == "dhcp" and net.get("bridge"):
                v4 = sim.dhcp.lease(str(net["bridge"]), mac)
            elif "/" in ip:
                addr, prefix = ip.split("/", 1)
                v4 = (addr, int(prefix))
            v6: list[tuple[str, int]] = []
            ip6 = str(net.get("ip6", ""))
            if "/" in ip6:
                addr6, prefix6 = ip6.split("/", 1)
                v6.append((addr6, int(prefix6)))
            v6.append((_link_local(mac), 64))
            out.append(_iface(str(net["name"]), mac.lower(), v4, v6))
        return out
