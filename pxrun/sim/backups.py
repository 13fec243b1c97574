"""Backup archives as a storage keeps them: names, the archived config, notes, pruning.

A vzdump archive of a container is a volume `<storage>:backup/vzdump-lxc-<vmid>-<time>.<ext>`
with content `backup`, subtype `lxc`, owned by the vmid. What matters for restore is inside
the archive: `etc/vzdump/pct.conf`, the container's config without its lock, snapshots,
parent and pending changes (VZDump/LXC.pm). The simulator keeps that text (and the firewall
config) with the volume; the archive's size is what the backed-up mount points would compress
to. Pruning follows pve-storage's `prune_mark_backup_group` for `keep-last` and `keep-all`;
the other keep-* options are accepted and keep everything (documented in spec 0026).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from pxrun.sim import conffile, propstr
from pxrun.sim.guest import backup_enabled, is_volume, mountpoints
from pxrun.sim.storages import Volume

if TYPE_CHECKING:
    from pxrun.sim.containers import Container
    from pxrun.sim.state import Simulator

EXTENSIONS = {"0": "tar", "1": "tar.lzo", "gzip": "tar.gz", "lzo": "tar.lzo", "zstd": "tar.zst"}
ARCHIVE_RE = re.compile(r"^vzdump-(lxc|qemu|openvz)-(\d+)-(\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d)\."
                        r"(tar|tar\.gz|tar\.lzo|tar\.zst|tgz)$")


def archive_name(vmid: int, when: float, compress: str) -> str:
    stamp = time.strftime("%Y_%m_%d-%H_%M_%S", time.localtime(when))
    return f"vzdump-lxc-{vmid}-{stamp}.{EXTENSIONS.get(compress, 'tar.zst')}"


def archived_config(ct: Container) -> str:
    """pct.conf as vzdump stores it: no lock, snapshots, parent or pending section."""
    conf = {k: v for k, v in ct.conf.items() if k not in ("lock", "parent")}
    return conffile.render(conf, ct.raw_lxc, {}, [], {})


def included(ct: Container) -> tuple[list[str], list[str]]:
    """(log lines saying what is in the backup, volids that are)."""
    lines, volids = [], []
    for key, mp in mountpoints(ct.conf):
        path = "/" if key == "rootfs" else str(mp.get("mp", ""))
        if backup_enabled(key, mp):
            lines.append(f"including mount point {key} ('{path}') in backup")
            volids.append(str(mp["volume"]))
        elif is_volume(mp):
            lines.append(f"excluding volume mount point {key} ('{path}') from backup "
                         "(disabled)")
        else:
            kind = "device" if str(mp["volume"]).startswith("/dev/") else "bind"
            lines.append(f"excluding {kind} mount point {key} ('{path}') from backup "
                         "(not a volume)")
    return lines, volids


def archive_size(sim: Simulator, ct: Container, volids: list[str], compress: str) -> int:
    """Bytes of data in the backed-up volumes (a twentieth of their size), compressed."""
    data = 0
    for volid in volids:
        vol = sim.storages.find(volid, ct.node)
        data += (vol.size if vol is not None else 0) // 20
    ratio = {"0": 1.0, "gzip": 0.45, "lzo": 0.55, "1": 0.55}.get(compress, 0.4)
    return max(1 << 20, int(data * ratio)) + 10240


def notes_from(template: str, ct: Container, sim: Simulator) -> str:
    """The notes template's `{{guestname}}`, `{{node}}`, `{{vmid}}` and `{{cluster}}`."""
    values = {"guestname": ct.conf.get("hostname", f"CT{ct.vmid}"), "node": ct.node,
              "vmid": str(ct.vmid), "cluster": sim.cluster_name}
    text = re.sub(r"\{\{(\w+)\}\}", lambda m: values.get(m.group(1), m.group(0)), template)
    return text.replace("\\n", "\n")


def backup_volume(sid: str, name: str, vmid: int, size: int, when: float, config: str,
                  firewall: dict[str, Any], notes: str | None, protected: bool) -> Volume:
    fmt = name.split(".", 1)[1]
    extra: dict[str, Any] = {"subtype": "lxc", "config": config}
    if firewall:
        extra["firewall"] = firewall
    if notes:
        extra["notes"] = notes
    if protected:
        extra["protected"] = 1
    return Volume(volid=f"{sid}:backup/{name}", size=size, content="backup", vmid=vmid,
                  fmt=fmt, ctime=int(when), extra=extra)


def backups_of(sim: Simulator, location: str, vmid: int) -> list[Volume]:
    return sorted((v for loc, v in sim.storages.owned(vmid)
                   if loc == location and v.content == "backup"), key=lambda v: v.ctime)


def prune_list(backups: list[Volume], retention: str) -> list[Volume]:
    """Which backups (oldest first) a retention setting removes; protected ones never."""
    try:
        keep = propstr.parse("prune-backups", retention) if retention else {}
    except propstr.PropStrError:
        keep = {}
    if keep.get("keep-all") or not keep.get("keep-last"):
        return []
    candidates = [v for v in backups if not v.extra.get("protected")]
    last = int(keep["keep-last"])
    return candidates[:-last] if len(candidates) > last else []


def content_json(vol: Volume) -> dict[str, Any]:
    """A backup's entry in `GET .../content` (pve-storage list_volumes)."""
    item: dict[str, Any] = {"volid": vol.volid, "content": "backup", "format": vol.fmt,
                            "size": vol.size, "ctime": vol.ctime, "vmid": vol.vmid,
                            "subtype": vol.extra.get("subtype", "lxc")}
    if vol.extra.get("notes"):
        item["notes"] = vol.extra["notes"]
    if vol.extra.get("protected"):
        item["protected"] = 1
    return item
