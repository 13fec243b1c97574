"""storage.cfg and every volume on it: capacity, naming, allocation, renames.

Why storages are split into a definition and per-node instances: in Proxmox `storage.cfg`
is cluster-wide, but a non-shared storage such as `local-lvm` is a different disk on every
node with its own free space and volumes, while a shared one (NFS) is the same everywhere.
Placement, migration and capacity errors all follow from that distinction.

Every change goes through a method here, which keeps two indexes current: bytes used per
location (so an allocation costs the same with 5 or 5,000 volumes) and volumes per owner
vmid (so a commit writes only the owners whose volumes changed, spec 0025).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any

GIB = 1024**3


class AllocError(Exception):
    """A storage cannot hold a new or bigger volume; the text is what the tool prints."""


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
    """One volume. Change it only through `Storages` (indexes and persistence)."""

    volid: str
    size: int  # bytes
    content: str  # rootdir | images | vztmpl | iso | backup | import
    vmid: int | None = None
    fmt: str = "raw"
    ctime: int = field(default_factory=lambda: int(time.time()))
    extra: dict[str, Any] = field(default_factory=dict)  # backups: notes, protected, config


# Snapshot/clone/template/rename support per storage type for raw container volumes, as
# pve-storage's `volume_has_feature` answers it (key: current | base | snap).
FEATURES: dict[str, dict[str, set[str]]] = {
    "lvmthin": {"snapshot": {"current"}, "clone": {"base", "snap"}, "template": {"current"},
                "copy": {"base", "current", "snap"}, "rename": {"current"}},
    "dir": {"snapshot": set(), "clone": set(), "template": {"current"},
            "copy": {"base", "current"}, "rename": {"current"}},
    "nfs": {"snapshot": set(), "clone": set(), "template": {"current"},
            "copy": {"base", "current"}, "rename": {"current"}},
}


def disk_name(volid: str) -> str:
    """`vm-101-disk-0` of `local-lvm:vm-101-disk-0` or `local:101/vm-101-disk-0.raw`."""
    name = volid.split(":", 1)[1].rsplit("/", 1)[-1]
    return name.removesuffix(".raw")


class Storages:
    """storage.cfg plus every volume, per node for local storages and once for shared ones."""

    def __init__(self) -> None:
        self.defs: dict[str, StorageDef] = {}
        self.volumes: dict[str, dict[str, Volume]] = {}  # location -> volid -> volume
        self._used: dict[str, int] = {}
        self._owned: dict[int | None, dict[tuple[str, str], Volume]] = {}
        self.dirty_owners: set[int | None] = set()
        # The files inside the volumes (volfiles.VolumeFiles), once a state dir is claimed.
        self.files: Any = None

    # -- where ---------------------------------------------------------------------------
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
        """The volumes of a storage on a node (read only: change them through methods)."""
        return self.volumes.get(self.location(self.defs[sid], node), {})

    def used(self, sid: str, node: str) -> int:
        return self._used.get(self.location(self.defs[sid], node), 0)

    def find(self, volid: str, node: str) -> Volume | None:
        sid = volid.split(":", 1)[0]
        if not self.available(sid, node):
            return None
        return self.vols(sid, node).get(volid)

    def owned(self, vmid: int | None) -> list[tuple[str, Volume]]:
        """(location, volume) of every volume owned by `vmid` (None: unowned)."""
        return [(loc, vol) for (loc, _), vol in self._owned.get(vmid, {}).items()]

    def owners(self) -> list[int | None]:
        return list(self._owned)

    # -- the only places volumes change -----------------------------------------------------
    def put(self, location: str, vol: Volume) -> Volume:
        vols = self.volumes.setdefault(location, {})
        old = vols.get(vol.volid)
        if old is not None:
            self._forget(location, old)
        vols[vol.volid] = vol
        self._used[location] = self._used.get(location, 0) + vol.size
        self._owned.setdefault(vol.vmid, {})[(location, vol.volid)] = vol
        self.dirty_owners.add(vol.vmid)
        return vol

    def _forget(self, location: str, vol: Volume) -> None:
        self._used[location] = self._used.get(location, 0) - vol.size
        owned = self._owned.get(vol.vmid, {})
        owned.pop((location, vol.volid), None)
        if not owned:
            self._owned.pop(vol.vmid, None)
        self.dirty_owners.add(vol.vmid)

    def drop(self, location: str, volid: str) -> Volume | None:
        """Free a volume; its files go too unless another node's storage has that volid."""
        vol = self._take(location, volid)
        if vol is not None and self.files is not None and not any(
                volid in vols for vols in self.volumes.values()):
            if vol.content == "backup":
                self.files.drop_archive(volid)
            else:
                self.files.remove(volid)
        return vol

    def _take(self, location: str, volid: str) -> Volume | None:
        vol = self.volumes.get(location, {}).pop(volid, None)
        if vol is not None:
            self._forget(location, vol)
        return vol

    def copy_files(self, source: str, target: str) -> None:
        """A volume's data was copied into another volume (migrate, move, clone)."""
        if self.files is not None:
            self.files.copy(source, target)

    def free(self, volid: str, node: str) -> None:
        sid = volid.split(":", 1)[0]
        if self.available(sid, node):
            self.drop(self.location(self.defs[sid], node), volid)

    def set_size(self, volid: str, node: str, size: int) -> None:
        vol = self.find(volid, node)
        if vol is None:
            raise AllocError(f"volume '{volid}' does not exist")
        location = self.location(self.defs[volid.split(":", 1)[0]], node)
        self._used[location] = self._used.get(location, 0) + size - vol.size
        vol.size = size
        self.dirty_owners.add(vol.vmid)

    def update_extra(self, vol: Volume, **values: Any) -> None:
        vol.extra.update(values)
        self.dirty_owners.add(vol.vmid)

    # -- naming and allocation -----------------------------------------------------------------
    def volname(self, sid: str, node: str, vmid: int, prefix: str = "vm") -> str:
        """First free `<prefix>-<vmid>-disk-<n>` on that storage, named as its type does.

        Like pve-storage's `find_free_diskname`, `vm-` and `base-` names share the numbers.
        """
        lvm = self.defs[sid].type == "lvmthin"
        existing = self.vols(sid, node)

        def volid(kind: str, n: int) -> str:
            name = f"{kind}-{vmid}-disk-{n}"
            return f"{sid}:{name}" if lvm else f"{sid}:{vmid}/{name}.raw"

        n = 0
        while volid("vm", n) in existing or volid("base", n) in existing:
            n += 1
        return volid(prefix, n)

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
        return self.put(self.location(self.defs[sid], node), vol)

    def resize(self, volid: str, node: str, size: int) -> None:
        vol = self.find(volid, node)
        if vol is None:
            raise AllocError(f"volume '{volid}' does not exist")
        self.check_space(volid.split(":", 1)[0], node, volid, size - vol.size)
        self.set_size(volid, node, size)

    def rename(self, volid: str, node: str, vmid: int, prefix: str = "vm") -> str:
        """pve-storage `rename_volume` / `vdisk_create_base`: the same data under a new name
        (and, for a new owner, the new owner's next free disk number)."""
        sid = volid.split(":", 1)[0]
        location = self.location(self.defs[sid], node)
        vol = self._take(location, volid)
        if vol is None:
            raise AllocError(f"volume '{volid}' does not exist")
        new = self.volname(sid, node, vmid, prefix)
        self.put(location, Volume(volid=new, size=vol.size, content=vol.content, vmid=vmid,
                                  fmt=vol.fmt, ctime=vol.ctime, extra=dict(vol.extra)))
        if self.files is not None:
            self.files.rename(volid, new)
        return new

    def has_feature(self, feature: str, volid: str, *, snapshot: bool = False) -> bool:
        """volume_has_feature for a raw container volume (base = a template's volume)."""
        sid = volid.split(":", 1)[0]
        sdef = self.defs.get(sid)
        if sdef is None or ":" not in volid or volid.startswith("/"):
            return False
        key = "snap" if snapshot else ("base" if disk_name(volid).startswith("base-")
                                       else "current")
        return key in FEATURES.get(sdef.type, {}).get(feature, set())

    def add_template(self, sid: str, node: str, name: str, size: int | None = None,
                     content: str = "vztmpl") -> Volume:
        folder = {"vztmpl": "vztmpl", "iso": "iso", "import": "import"}[content]
        volid = f"{sid}:{folder}/{name}"
        fmt = template_format(name) if content == "vztmpl" else name.rsplit(".", 1)[-1]
        vol = Volume(volid=volid, size=template_size(name) if size is None else size,
                     content=content, fmt=fmt)
        return self.put(self.location(self.defs[sid], node), vol)

    # -- reporting -------------------------------------------------------------------------------
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

    # -- persistence -----------------------------------------------------------------------------
    def defs_json(self) -> list[dict[str, Any]]:
        return [asdict(d) for d in self.defs.values()]

    def owner_json(self, owner: int | None) -> list[dict[str, Any]]:
        return [{"location": loc, **vars(vol)} for loc, vol in sorted(
            self.owned(owner), key=lambda item: (item[0], item[1].volid))]

    def load_owner(self, items: list[dict[str, Any]]) -> None:
        for raw in items:
            item = dict(raw)
            location = item.pop("location")
            self.put(location, Volume(**item))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Storages:
        """The layout-1 `state.json` form (defs + volumes per location)."""
        out = cls()
        for item in data.get("defs", []):
            sdef = StorageDef(**item)
            out.defs[sdef.id] = sdef
        for loc, vols in data.get("volumes", {}).items():
            for v in vols:
                out.put(loc, Volume(**v))
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
