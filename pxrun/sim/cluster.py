"""The cluster's hardware: nodes, storages with capacity and volumes, templates, bridges, pools.

Why storages are split into a definition and per-node instances: in Proxmox `storage.cfg`
is cluster-wide, but a non-shared storage such as `local-lvm` is a different disk on every
node with its own free space and volumes, while a shared one (NFS) is the same everywhere.
Placement, migration and capacity errors all follow from that distinction.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import asdict, dataclass, field
from typing import Any

GIB = 1024**3
MIB = 1024**2


class AllocError(Exception):
    """A storage cannot hold a new or bigger volume; the text is what the tool prints."""


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
class StorageDef:
    """One entry of storage.cfg."""

    id: str
    type: str  # dir | lvmthin | nfs
    content: list[str]
    shared: bool
    total: int  # bytes, per node for local storages
    nodes: list[str] | None = None  # None: all nodes


@dataclass
class Volume:
    volid: str
    size: int  # bytes
    content: str  # rootdir | images | vztmpl | iso
    vmid: int | None = None
    fmt: str = "raw"
    ctime: int = field(default_factory=lambda: int(time.time()))


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


def template_size(name: str) -> int:
    """A stable, plausible compressed size for a template file."""
    base = 3_000_000 if name.startswith("alpine") else 120_000_000
    return base + int(hashlib.sha1(name.encode()).hexdigest()[:6], 16) % 20_000_000


def template_format(name: str) -> str:
    for ext, fmt in ((".tar.zst", "tzst"), (".tar.gz", "tgz"), (".tar.xz", "txz"),
                     (".tar.bz2", "tbz2"), (".tar", "tar")):
        if name.endswith(ext):
            return fmt
    return "raw"


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


class Storages:
    """storage.cfg plus every volume, per node for local storages and once for shared ones."""

    def __init__(self) -> None:
        self.defs: dict[str, StorageDef] = {}
        self.volumes: dict[str, dict[str, Volume]] = {}  # location -> volid -> volume

    @staticmethod
    def location(sdef: StorageDef, node: str) -> str:
        return sdef.id if sdef.shared else f"{node}/{sdef.id}"

    def available(self, sid: str, node: str) -> StorageDef | None:
        sdef = self.defs.get(sid)
        if sdef is None or (sdef.nodes is not None and node not in sdef.nodes):
            return None
        return sdef

    def on_node(self, node: str) -> list[StorageDef]:
        return [s for s in self.defs.values() if self.available(s.id, node)]

    def vols(self, sid: str, node: str) -> dict[str, Volume]:
        return self.volumes.setdefault(self.location(self.defs[sid], node), {})

    def used(self, sid: str, node: str) -> int:
        return sum(v.size for v in self.vols(sid, node).values())

    def find(self, volid: str, node: str) -> Volume | None:
        sid = volid.split(":", 1)[0]
        if not self.available(sid, node):
            return None
        return self.vols(sid, node).get(volid)

    def volname(self, sid: str, node: str, vmid: int) -> str:
        """First free `vm-<vmid>-disk-<n>` on that storage, named as its type does."""
        sdef = self.defs[sid]
        existing = self.vols(sid, node)
        n = 0
        while True:
            if sdef.type == "lvmthin":
                volid = f"{sid}:vm-{vmid}-disk-{n}"
            else:
                volid = f"{sid}:{vmid}/vm-{vmid}-disk-{n}.raw"
            if volid not in existing:
                return volid
            n += 1

    def check_space(self, sid: str, node: str, volid: str, extra: int) -> None:
        sdef = self.defs[sid]
        if self.used(sid, node) + extra <= sdef.total:
            return
        name = volid.split(":", 1)[1]
        if sdef.type == "lvmthin":
            raise AllocError(
                f"lvcreate 'pve/{name}' error:   Cannot create new thin volume, free space in "
                "thin pool pve/data reached threshold.")
        path = "/var/lib/vz/images" if sdef.type == "dir" else f"/mnt/pve/{sid}/images"
        raise AllocError(
            f"unable to create image: qemu-img: {path}/{name}: Could not create "
            f"'{path}/{name}': No space left on device")

    def allocate(self, sid: str, node: str, vmid: int, size: int) -> Volume:
        volid = self.volname(sid, node, vmid)
        self.check_space(sid, node, volid, size)
        vol = Volume(volid=volid, size=size, content="rootdir", vmid=vmid)
        self.vols(sid, node)[volid] = vol
        return vol

    def resize(self, volid: str, node: str, size: int) -> None:
        vol = self.find(volid, node)
        if vol is None:
            raise AllocError(f"volume '{volid}' does not exist")
        sid = volid.split(":", 1)[0]
        self.check_space(sid, node, volid, size - vol.size)
        vol.size = size

    def free(self, volid: str, node: str) -> None:
        sid = volid.split(":", 1)[0]
        if self.available(sid, node):
            self.vols(sid, node).pop(volid, None)

    def add_template(self, sid: str, node: str, name: str) -> Volume:
        volid = f"{sid}:vztmpl/{name}"
        vol = Volume(volid=volid, size=template_size(name), content="vztmpl",
                     fmt=template_format(name))
        self.vols(sid, node)[volid] = vol
        return vol

    def status_json(self, sdef: StorageDef, node: str, active: bool = True) -> dict[str, Any]:
        used = self.used(sdef.id, node)
        return {
            "storage": sdef.id, "type": sdef.type, "content": ",".join(sorted(sdef.content)),
            "active": 1 if active else 0, "enabled": 1, "shared": 1 if sdef.shared else 0,
            "total": sdef.total, "used": used, "avail": max(0, sdef.total - used),
            "used_fraction": round(used / sdef.total, 6) if sdef.total else 0,
        }

    def config_json(self, sdef: StorageDef) -> dict[str, Any]:
        """One section of storage.cfg as `GET /storage[/{storage}]` returns it.

        pve-storage's `api_storage_config`: the section's keys plus `storage`, the file's
        `digest`, `content` as a comma list, `nodes` as a comma list when restricted, and
        `shared: 1` for storage types that are always shared (nfs).
        """
        item: dict[str, Any] = {"storage": sdef.id, "type": sdef.type,
                                **_type_keys(sdef), "content": ",".join(sorted(sdef.content))}
        if sdef.nodes is not None:
            item["nodes"] = ",".join(sdef.nodes)
        if sdef.shared:
            item["shared"] = 1
        item["digest"] = self.config_digest()
        return item

    def config_text(self) -> str:
        """storage.cfg as Proxmox writes it: `type: id` then tab-indented `key value` lines."""
        sections = []
        for sdef in self.defs.values():
            lines = [f"{sdef.type}: {sdef.id}"]
            keys = {**_type_keys(sdef), "content": ",".join(sorted(sdef.content))}
            if sdef.nodes is not None:
                keys["nodes"] = ",".join(sdef.nodes)
            lines += [f"\t{key} {value}" for key, value in keys.items()]
            sections.append("\n".join(lines) + "\n")
        return "\n".join(sections)

    def config_digest(self) -> str:
        """SHA1 hex of storage.cfg, like every cfs-backed config's `digest`."""
        return hashlib.sha1(self.config_text().encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "defs": [asdict(d) for d in self.defs.values()],
            "volumes": {loc: [asdict(v) for v in vols.values()]
                        for loc, vols in self.volumes.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Storages:
        out = cls()
        for item in data.get("defs", []):
            sdef = StorageDef(**item)
            out.defs[sdef.id] = sdef
        for loc, vols in data.get("volumes", {}).items():
            out.volumes[loc] = {v["volid"]: Volume(**v) for v in vols}
        return out


def _type_keys(sdef: StorageDef) -> dict[str, str]:
    """The type-specific storage.cfg keys of the default PVE installation's storages."""
    if sdef.type == "dir":
        return {"path": "/var/lib/vz"}
    if sdef.type == "lvmthin":
        return {"thinpool": "data", "vgname": "pve"}
    if sdef.type == "nfs":  # server: a documentation address (RFC 5737); nothing connects
        return {"export": f"/export/{sdef.id}", "path": f"/mnt/pve/{sdef.id}",
                "server": "192.0.2.10"}
    return {}


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
