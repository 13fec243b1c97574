"""`pxrun list`'s data: one row per guest, managed or not, across the cluster.

Cost: one `cluster/resources`, one `nodes/{n}/lxc` per online node (live power state), and
one config read per listed container (the marker names its stack and spec name; static IPs
come from the config), all but the first concurrent. `live_ips=True` adds one `interfaces`
call per running container, for addresses handed out by DHCP.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pxrun.connect.client import ProxmoxClient
from pxrun.errors import NotFoundError, UnreachableError
from pxrun.observe.assemble import live_status, parse_resources
from pxrun.observe.fetch import DEFAULT_WORKERS
from pxrun.pve.marker import TAG_PREFIX, split_description, stack_of_tag
from pxrun.pve.propstr import NET, ROOTFS, PropertyStringError, parse_propstr
from pxrun.pve.values import MIB, parse_size, parse_tags

_SEEN_ERRORS = (UnreachableError, NotFoundError)


@dataclass(frozen=True)
class GuestRow:
    """What `pxrun list` shows for one guest. Sizes: memory MiB, disk GiB."""

    vmid: int
    name: str  # the spec name when a marker claims it, else the hostname
    node: str
    status: str
    stack: str | None
    type: str = "lxc"
    cores: float = 0
    memory: int = 0
    disk: float = 0
    ips: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    hostname: str = ""
    template: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"vmid": self.vmid, "name": self.name, "node": self.node, "status": self.status,
                "stack": self.stack, "type": self.type, "cores": self.cores,
                "memory": self.memory, "disk": self.disk, "ips": list(self.ips),
                "tags": list(self.tags), "hostname": self.hostname, "template": self.template}


def list_guests(client: ProxmoxClient, *, include_vms: bool = False,
                live_ips: bool = False, workers: int = DEFAULT_WORKERS) -> list[GuestRow]:
    """Every LXC container (and with `include_vms` QEMU guests and templates), by vmid."""
    nodes, _, guests = parse_resources(client.get("cluster/resources"))
    online = {n for n, info in nodes.items() if info.online}
    wanted = [g for g in guests.values()
              if include_vms or (g.type == "lxc" and not g.template)]
    cts = [g for g in wanted if g.type == "lxc" and g.node in online]
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="list") as pool:
        lists = [pool.submit(_quiet, client.get, f"nodes/{n}/lxc") for n in sorted(online)]
        configs = {g.vmid: pool.submit(_quiet, client.get,
                                       f"nodes/{g.node}/lxc/{g.vmid}/config", current=1)
                   for g in cts}
        live: dict[int, str] = {}
        for future in lists:
            if isinstance(answer := future.result(), list):
                live.update(live_status(answer))
        ifaces = {g.vmid: pool.submit(_quiet, client.get,
                                      f"nodes/{g.node}/lxc/{g.vmid}/interfaces")
                  for g in cts if live_ips and live.get(g.vmid, g.status) == "running"}
        rows = []
        for guest in wanted:
            status = live.get(guest.vmid, guest.status) if guest.node in online else "unknown"
            config = configs[guest.vmid].result() if guest.vmid in configs else None
            addrs = ifaces[guest.vmid].result() if guest.vmid in ifaces else None
            rows.append(_row(guest.model_dump(), status,
                             config if isinstance(config, dict) else None,
                             addrs if isinstance(addrs, list) else None))
    return rows


def _quiet(get: Any, path: str, **params: Any) -> Any:
    try:
        return get(path, **params)
    except _SEEN_ERRORS as exc:
        return exc


def _row(guest: dict[str, Any], status: str, config: dict[str, Any] | None,
         interfaces: list[dict[str, Any]] | None) -> GuestRow:
    """One row from the resources entry, the config (if read) and live interfaces. Pure."""
    tags: tuple[str, ...] = guest["tags"]
    stacks = [s for s in map(stack_of_tag, tags) if s]
    stack: str | None = stacks[0] if len(stacks) == 1 else None
    name = guest["name"] or f"CT{guest['vmid']}"
    cores, memory = guest["maxcpu"], guest["maxmem"] // MIB
    disk = round(guest["maxdisk"] / 1024**3, 1)
    ips: tuple[str, ...] = ()
    hostname = name
    if config is not None:
        _, marker = split_description(config.get("description"))
        if marker is not None:
            stack, name = marker.stack, marker.name
        hostname = str(config.get("hostname") or hostname)
        cores = config.get("cores") or cores
        memory = int(config.get("memory") or memory)
        disk = _rootfs_gib(config.get("rootfs")) or disk
        ips = _config_ips(config)
        with contextlib.suppress(ValueError):  # keep the resources' spelling then
            tags = parse_tags(config.get("tags"))
    if interfaces is not None:
        ips = tuple(_live_ips(interfaces)) or ips
    user_tags = tuple(t for t in tags if not t.startswith(TAG_PREFIX))
    return GuestRow(vmid=guest["vmid"], name=name, node=guest["node"], status=status,
                    stack=stack, type=guest["type"], cores=cores, memory=memory, disk=disk,
                    ips=ips, tags=user_tags, hostname=hostname, template=guest["template"])


def _rootfs_gib(text: Any) -> float:
    try:
        size = parse_propstr(str(text or ""), ROOTFS).get("size")
        return round(parse_size(size) / 1024**3, 1) if size else 0
    except ValueError:
        return 0


def _config_ips(config: dict[str, Any]) -> tuple[str, ...]:
    """Static addresses without prefix; `dhcp`/`auto` as such (live ones need --ips)."""
    out: list[str] = []
    for key in sorted(k for k in config if k.startswith("net") and k[3:].isdigit()):
        try:
            tokens = parse_propstr(str(config[key]), NET)
        except PropertyStringError:
            continue
        for family in ("ip", "ip6"):
            value = tokens.get(family)
            if value and value != "manual":
                out.append(value.split("/", 1)[0])
    return tuple(out)


def _live_ips(interfaces: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for iface in interfaces:
        if iface.get("name") == "lo":
            continue
        for key in ("inet", "inet6"):
            addr = str(iface.get(key) or "").split("/", 1)[0]
            if addr and not addr.lower().startswith("fe80:"):  # link-local says nothing
                out.append(addr)
    return out
