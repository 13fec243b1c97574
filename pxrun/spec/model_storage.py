"""Root filesystem options, mount points (`mp0`..`mp255`) and devices (`dev0`..`dev255`).

A mount point is exactly one of: a new volume (`volume: local-lvm:32`, storage and GiB), an
existing volume (`volume: local-lvm:vm-101-disk-1`), or a bind mount (`host_path: /mnt/x`).
Sizes are whole GiB, like the rootfs `disk`: Proxmox's `STORAGE:SIZE` allocation takes GiB.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import BeforeValidator, model_validator

from pxrun.spec.model_base import SpecModel
from pxrun.spec.rules import (
    MAX_GIB,
    MAX_ID,
    MOUNT_OPTIONS,
    AbsPath,
    DevicePath,
    FileMode,
    HostPath,
    VolumeId,
    between,
    fail,
    split_list,
)

MountOption = Literal["discard", "lazytime", "noatime", "nodev", "noexec", "nosuid"]
MountOptions = Annotated[list[MountOption] | None, BeforeValidator(split_list)]
SizeGiB = Annotated[int, between("size", 1, MAX_GIB)]
_NEW_VOLUME = re.compile(r"(?P<storage>[a-z][a-z0-9\-_.]*[a-z0-9]):(?P<size>\d+)", re.I)

assert set(MOUNT_OPTIONS) == set(get_args(MountOption))  # one list, spelled twice for mypy


class RootFs(SpecModel):
    """Options of the root filesystem; its storage is `storage`, its size `resources.disk`."""

    acl: bool | None = None
    """Explicitly enable or disable ACL support."""
    quota: bool | None = None
    """Enable user quotas inside the container (not with zfs subvolumes)."""
    mountoptions: MountOptions = None
    """Extra mount options: discard, lazytime, noatime, nodev, noexec, nosuid."""
    replicate: bool | None = None
    """Include the volume in storage replication (Proxmox default: yes)."""


class Mount(SpecModel):
    """A mount point: a new or existing volume, or a bind mount of a host directory."""

    path: AbsPath
    """Where it is mounted inside the container (absolute, no '..')."""
    volume: VolumeId | None = None
    """'storage:GiB' for a new volume (local-lvm:32) or an existing volume id."""
    host_path: HostPath | None = None
    """A host directory to bind-mount (root@pam only in Proxmox)."""
    size: SizeGiB | None = None
    """Size in GiB of an existing volume; growing it resizes the volume."""
    read_only: bool | None = None
    """Mount read-only (Proxmox's `ro`)."""
    backup: bool | None = None
    """Include the volume in backups (volume mount points only)."""
    acl: bool | None = None
    """Explicitly enable or disable ACL support."""
    quota: bool | None = None
    """Enable user quotas inside the container."""
    replicate: bool | None = None
    """Include the volume in storage replication."""
    shared: bool | None = None
    """Mark a bind mount as available on every node (it must already be shared)."""
    keepattrs: bool | None = None
    """PVE 9: inherit owner and mode from the mount point directory."""
    mountoptions: MountOptions = None
    """Extra mount options: discard, lazytime, noatime, nodev, noexec, nosuid."""

    @model_validator(mode="after")
    def _one_source(self) -> Mount:
        if (self.volume is None) == (self.host_path is None):
            raise fail("a mount needs exactly one of volume or host_path")
        if self.host_path is not None and (self.size is not None or self.backup is not None):
            raise fail("size and backup apply to volumes, not to a host_path bind mount")
        if self.is_new_volume and self.size is not None:
            raise fail("give the size of a new volume in volume ('storage:GiB'), not in size")
        new = _NEW_VOLUME.fullmatch(self.volume or "")
        if new is not None and (len(new["size"]) > 12 or int(new["size"]) > MAX_GIB):
            shown = new["size"] if len(new["size"]) <= 40 else f"{new['size'][:37]}..."
            raise fail(f"a new volume's size must be at most {MAX_GIB} GiB (Proxmox counts "
                       f"bytes in 64 bits), got {shown}")
        return self

    @property
    def kind(self) -> Literal["new", "volume", "bind"]:
        """new: allocated from `storage:GiB`; volume: an existing volid; bind: host_path."""
        if self.host_path is not None:
            return "bind"
        return "new" if self.is_new_volume else "volume"

    @property
    def is_new_volume(self) -> bool:
        return self.volume is not None and _NEW_VOLUME.fullmatch(self.volume) is not None

    @property
    def storage(self) -> str | None:
        """The storage of a volume mount point, None for a bind mount."""
        return None if self.volume is None else self.volume.split(":", 1)[0]

    @property
    def size_gib(self) -> int | None:
        """The desired size: from `storage:GiB` for a new volume, else `size`."""
        match = _NEW_VOLUME.fullmatch(self.volume or "")
        return int(match["size"]) if match else self.size


class Device(SpecModel):
    """A device node passed through to the container (root@pam only in Proxmox)."""

    path: DevicePath
    """The device on the host, under /dev/ (e.g. /dev/dri/renderD128)."""
    mode: FileMode | None = None
    """Access mode of the device node, e.g. 0660."""
    uid: Annotated[int, between("uid", 0, MAX_ID)] | None = None
    """Owner of the device node inside the container."""
    gid: Annotated[int, between("gid", 0, MAX_ID)] | None = None
    """Group of the device node inside the container."""
    deny_write: bool | None = None
    """Deny the container write access to the device."""
