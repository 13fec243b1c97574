"""The files inside volumes follow the volumes: renames, copies, snapshots, backups.

The node shell mounts each mount point volume from `<state_dir>/volumes/<volid>/` and each
root file system from `<state_dir>/rootfs/<vmid>/` (rootfs.py). Whatever the API does to a
volume must do the same to those files, or data written into `/srv/data` would stay behind
when the volume is migrated, moved, reassigned, cloned, snapshotted, rolled back, backed up
or restored. `Storages` calls `rename` and `remove` itself (every rename and every freed
volume goes through it); the handlers call the rest, where they know what is copied.
Snapshots and backup archives keep their copies under `snapshots/` and `backups/`, which
the volume pruning at start leaves alone.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote

from pxrun.sim import rootfs


def _copy(src: Path, dst: Path) -> None:
    shutil.rmtree(dst, ignore_errors=True)
    if src.is_dir():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst, symlinks=True)


class VolumeFiles:
    """File operations of one state directory (attached to `Storages.files` when claimed)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    # -- what Storages calls -------------------------------------------------------------------
    def rename(self, old: str, new: str) -> None:
        rootfs.rename_volume_dir(self.state_dir, old, new)

    def remove(self, volid: str) -> None:
        rootfs.remove_volume_dir(self.state_dir, volid)
        base = self.state_dir / "snapshots"
        if base.is_dir():
            for entry in base.glob(quote(volid, safe="") + "@*"):
                shutil.rmtree(entry, ignore_errors=True)

    # -- what handlers call ----------------------------------------------------------------------
    def copy(self, source: str, target: str) -> None:
        if source != target:
            rootfs.copy_volume_dir(self.state_dir, source, target)

    def copy_rootfs(self, source_vmid: int, target_vmid: int) -> None:
        _copy(rootfs.rootfs_dir(self.state_dir, source_vmid),
              rootfs.rootfs_dir(self.state_dir, target_vmid))

    def _snap(self, key: str, name: str) -> Path:
        return self.state_dir / "snapshots" / f"{quote(key, safe='')}@{name}"

    def snapshot(self, vmid: int, volids: Iterable[str], name: str) -> None:
        _copy(rootfs.rootfs_dir(self.state_dir, vmid), self._snap(f"rootfs-{vmid}", name))
        for volid in volids:
            _copy(rootfs.volume_dir(self.state_dir, volid), self._snap(volid, name))

    def rollback(self, vmid: int, volids: Iterable[str], name: str) -> None:
        if self._snap(f"rootfs-{vmid}", name).is_dir():
            _copy(self._snap(f"rootfs-{vmid}", name), rootfs.rootfs_dir(self.state_dir, vmid))
        for volid in volids:
            if self._snap(volid, name).is_dir():
                _copy(self._snap(volid, name), rootfs.volume_dir(self.state_dir, volid))

    def drop_snapshot(self, vmid: int, volids: Iterable[str], name: str) -> None:
        for key in (f"rootfs-{vmid}", *volids):
            shutil.rmtree(self._snap(key, name), ignore_errors=True)

    def _archive(self, archive: str) -> Path:
        return self.state_dir / "backups" / quote(archive, safe="")

    def archive(self, vmid: int, volumes: Mapping[str, str], archive: str) -> None:
        """vzdump: the root file system and each backed-up mount point (by config key)."""
        base = self._archive(archive)
        _copy(rootfs.rootfs_dir(self.state_dir, vmid), base / "rootfs")
        for key, volid in volumes.items():
            if key != "rootfs":
                _copy(rootfs.volume_dir(self.state_dir, volid), base / key)

    def restore(self, archive: str, vmid: int, volumes: Mapping[str, str]) -> None:
        """restore: what the archive holds goes into the new volumes (by config key)."""
        base = self._archive(archive)
        if (base / "rootfs").is_dir():
            _copy(base / "rootfs", rootfs.rootfs_dir(self.state_dir, vmid))
        for key, volid in volumes.items():
            if key != "rootfs" and (base / key).is_dir():
                _copy(base / key, rootfs.volume_dir(self.state_dir, volid))

    def drop_archive(self, archive: str) -> None:
        shutil.rmtree(self._archive(archive), ignore_errors=True)
