"""The cluster's hardware: nodes, storages with capacity and volumes, templates, bridges, pools.

Why storages are split into a definition and per-node instances: in Proxmox `storage.cfg`
is cluster-wide, but a non-shared storage such as `local-lvm` is a different disk on every
node with its own free space and volumes, while a shared one (NFS) is the same everywhere.
Placement, migration and capacity errors all follow from that distinction.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from dataclasses import dataclass, field
from typing import Any

from pxrun.sim.storages import StorageDef, Storages

GIB = 1024**3
MIB = 1024**2


@dataclass
class Node:
    name: str
    cpus: int
    maxmem: int  # bytes
    base_mem: int  # bytes the host itself uses
    online: bool = True
    boot_time: float = field(default_factory=lambda: time.time() - 86400)
    nodeid: int = 1
    ip: str = "10.0.0.1"


@dataclass
class Pool:
    poolid: str
    comment: str = ""
    vms: list[int] = field(default_factory=list)
    storage: list[str] = field(default_factory=list)


# The template catalog served by /nodes/{node}/aplinfo: (template file, os, version, headline).
CATALOG: list[tuple[str, str, str, str]] = [
    ("debian-12-standard_12.7-1_amd64.tar.zst", "debian-12", "12.7-1", "Debian 12 (standard)"),
    ("debian-13-standard_13.1-2_amd64.tar.zst", "debian-13", "13.1-2", "Debian 13 (standard)"),
    ("ubuntu-22.04-standard_22.04-1_amd64.tar.zst", "ubuntu-22.04", "22.04-1",
     "Ubuntu 22.04 Jammy (standard)"),
    ("ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "ubuntu-24.04", "24.04-2",
     "Ubuntu 24.04 Noble (standard)"),
    ("alpine-3.20-default_20240908_amd64.tar.xz", "alpine-3.20", "3.20-0", "Alpine Linux 3.20"),
    ("alpine-3.21-default_20241217_amd64.tar.xz", "alpine-3.21", "3.21-0", "Alpine Linux 3.21"),
    ("alpine-3.22-default_20250617_amd64.tar.xz", "alpine-3.22", "3.22-0", "Alpine Linux 3.22"),
    ("rockylinux-9-default_20240912_amd64.tar.xz", "rockylinux-9", "9-0", "Rocky Linux 9"),
]
SEED_TEMPLATE = CATALOG[0][0]


def catalog_entries() -> list[dict[str, Any]]:
    """aplinfo records as pveam parses them from aplinfo.dat."""
    out = []
    for name, os_name, version, headline in CATALOG:
        digest = hashlib.sha512(name.encode()).hexdigest()
        package = name.split("_", 1)[0]
        out.append({
            "template": name, "package": package, "version": version, "type": "lxc",
            "os": os_name, "section": "system", "headline": headline,
            "description": f"{headline}: a minimal system image.",
            "location": f"http://download.proxmox.com/images/system/{name}",
            "infopage": "https://pve.proxmox.com/wiki/Linux_Container",
            "maintainer": "Proxmox Support Team <support@proxmox.com>",
            "architecture": "amd64", "sha512sum": digest, "source": "http://download.proxmox.com",
        })
    return out


def ostype_of(template: str) -> str:
    """What `pct create` detects from /etc/os-release inside the template."""
    name = template.rsplit("/", 1)[-1].lower()
    for os_name in ("debian", "ubuntu", "alpine", "centos", "fedora", "archlinux", "opensuse",
                    "devuan", "gentoo", "nixos"):
        if name.startswith(os_name):
            return os_name
    if name.startswith(("rockylinux", "almalinux")):
        return "centos"
    return "unmanaged"


@dataclass
class Bridge:
    iface: str
    cidr: str  # the host's address on the bridge
    gateway: str | None
    ports: str
    mtu: int = 1500
    vlan_aware: bool = False

    def to_json(self, priority: int) -> dict[str, Any]:
        iface = ipaddress.ip_interface(self.cidr)
        data: dict[str, Any] = {
            "iface": self.iface, "type": "bridge", "method": "static", "method6": "manual",
            "active": 1, "autostart": 1, "exists": 1, "families": ["inet"],
            "bridge_ports": self.ports, "bridge_stp": "off", "bridge_fd": "0",
            "cidr": self.cidr, "address": str(iface.ip), "netmask": str(iface.netmask.exploded),
            "priority": priority,
        }
        if self.vlan_aware:
            data["bridge_vlan_aware"] = 1
        if self.gateway:
            data["gateway"] = self.gateway
        if self.mtu != 1500:
            data["mtu"] = self.mtu
        return data


# Per-bridge DHCP networks (the bridges are the same L2 segment on every node).
DHCP_NETS = {"vmbr0": "10.20.0.0/24", "vmbr1": "10.30.0.0/24"}


class Dhcp:
    """Leases per bridge, keyed by MAC so a container keeps its address across restarts."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, str]] = {}  # bridge -> mac -> ip

    def lease(self, bridge: str, mac: str) -> tuple[str, int] | None:
        net_text = DHCP_NETS.get(bridge)
        if net_text is None:
            return None
        net = ipaddress.ip_network(net_text)
        table = self.leases.setdefault(bridge, {})
        mac = mac.upper()
        if mac not in table:
            taken = set(table.values())
            for host in list(net.hosts())[99:]:
                if str(host) not in taken:
                    table[mac] = str(host)
                    break
            else:
                return None
        return table[mac], net.prefixlen

    def leases_of(self, ct: Any) -> dict[str, dict[str, str]]:
        """The leases held by a container's interfaces (persisted with the container)."""
        out: dict[str, dict[str, str]] = {}
        for key, value in ct.conf.items():
            if not key.startswith("net"):
                continue
            mac = _NET_MAC.search(value)
            bridge = _NET_BRIDGE.search(value)
            if mac and bridge:
                ip = self.leases.get(bridge.group(1), {}).get(mac.group(1).upper())
                if ip:
                    out.setdefault(bridge.group(1), {})[mac.group(1).upper()] = ip
        return out


_NET_MAC = re.compile(r"(?:^|,)hwaddr=([0-9A-Fa-f:]{17})")
_NET_BRIDGE = re.compile(r"(?:^|,)bridge=([^,]+)")


def default_storages(node_names: list[str]) -> Storages:
    out = Storages()
    out.defs["local"] = StorageDef("local", "dir", ["backup", "iso", "rootdir", "vztmpl"],
                                   False, 100 * GIB)
    out.defs["local-lvm"] = StorageDef("local-lvm", "lvmthin", ["images", "rootdir"], False,
                                       400 * GIB)
    out.defs["nfs-shared"] = StorageDef("nfs-shared", "nfs", ["backup", "images", "rootdir"],
                                        True, 2048 * GIB)
    for node in node_names:
        out.add_template("local", node, SEED_TEMPLATE)
    return out


def default_bridges(node_names: list[str]) -> dict[str, list[Bridge]]:
    out: dict[str, list[Bridge]] = {}
    for i, node in enumerate(node_names, start=1):
        bridges = [Bridge("vmbr0", f"10.20.0.{i + 1}/24", "10.20.0.1", "eno1")]
        if i != len(node_names):  # the last node lacks vmbr1: placement has something to check
            bridges.append(Bridge("vmbr1", f"10.30.0.{i + 1}/24", None, "eno2",
                                  vlan_aware=True))
        out[node] = bridges
    return out
