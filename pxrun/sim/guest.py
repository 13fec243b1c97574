"""What several operations ask of a container's config: its mount points, which features
its storages offer, and the snapshot copy of a config.

Why one module: snapshot, vzdump (snapshot mode), clone, template and `GET feature` must agree
on the same answer (pve-container's `has_feature`), so it is written once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pxrun.sim import propstr

if TYPE_CHECKING:
    from pxrun.sim.containers import Container
    from pxrun.sim.state import Simulator

MOUNT_KEY = re.compile(r"^(rootfs|mp\d+)$")
# Keys `__snapshot_copy_config` leaves out of a snapshot (and a rollback out of the config).
NOT_SNAPSHOTTED = frozenset({"snapshots", "snapstate", "snaptime", "vmstate", "lock", "digest",
                             "description", "pending"})


def mount_sort(key: str) -> int:
    """foreach_volume order: rootfs first, then mp0, mp1, ... numerically."""
    return -1 if key == "rootfs" else int(key[2:])


def mountpoints(conf: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key, parsed value) of rootfs and every mpN, in foreach_volume order."""
    for key in sorted((k for k in conf if MOUNT_KEY.match(k)), key=mount_sort):
        try:
            yield key, propstr.parse("rootfs" if key == "rootfs" else "mp", str(conf[key]))
        except propstr.PropStrError:
            continue


def is_volume(mp: Mapping[str, Any]) -> bool:
    """A storage volume, not a bind mount (`/path`) or a device (`/dev/...`)."""
    volume = str(mp.get("volume", ""))
    return not volume.startswith("/") and ":" in volume


def backup_enabled(key: str, mp: Mapping[str, Any]) -> bool:
    """mountpoint_backup_enabled: rootfs always; a volume mount point only with backup=1."""
    return key == "rootfs" or (is_volume(mp) and bool(mp.get("backup")))


def has_feature(sim: Simulator, conf: Mapping[str, Any], feature: str, *,
                snapshot: bool = False, backup_only: bool = False) -> bool:
    """pve-container `has_feature`: every (backed-up) mount point's volume supports it.
    A bind or device mount never does."""
    for key, mp in mountpoints(conf):
        if backup_only and not backup_enabled(key, mp):
            continue
        if not is_volume(mp):
            return False
        if not sim.storages.has_feature(feature, str(mp["volume"]), snapshot=snapshot):
            return False
    return True


def snapshot_copy(conf: Mapping[str, Any]) -> dict[str, Any]:
    """`__snapshot_copy_config`: everything but the bookkeeping, the description and unusedN."""
    return {k: v for k, v in conf.items()
            if k not in NOT_SNAPSHOTTED and not k.startswith("unused")}


def referenced_volumes(ct: Container) -> set[str]:
    """Every managed volume the config, its pending section or a snapshot refers to."""
    return set(ct.volumes()) | set(ct.snapshot_volumes())
