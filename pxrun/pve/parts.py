"""Property strings <-> the spec's model parts: `Network`, `Mount`, `Device`, `Features`, ...

Each `parse_*` turns one raw Proxmox value into the spec type; each `print_*` turns the spec
type into the canonical string that the apply step PUTs. Pure functions; a value Proxmox
would refuse raises `ValueError` (`PropertyStringError` or pydantic's `ValidationError`).

Volumes: the spec names a volume by storage and size (`local-lvm:32`) while Proxmox stores
the allocated volid (`local-lvm:vm-101-disk-1,size=32G`). A container's own volumes are
observed in the spec's form, and the volid is returned alongside for the apply step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pxrun.pve.memo import by_value
from pxrun.pve.propstr import DEV, FEATURES, MP, NET, ROOTFS, parse_propstr, print_propstr
from pxrun.pve.values import GIB, parse_bool, parse_size, parse_startup, print_startup
from pxrun.pve.values import StartupOrder as _StartupOrder
from pxrun.spec.model import Device, Features, Mount, Network, RootFs, Startup

# --- networks ----------------------------------------------------------------------------

# spec field -> Proxmox key, where they differ
_NET_RENAMES = {"vlan": "tag", "host_managed": "host-managed"}
_NET_BOOLS = ("firewall", "link_down", "host_managed")


def parse_network(text: str) -> Network:
    """`name=eth0,bridge=vmbr0,hwaddr=...,ip=dhcp,type=veth` -> Network (`type` is always veth)."""
    tokens = parse_propstr(text, NET)
    fields: dict[str, Any] = {}
    for field in Network.model_fields:
        key = _NET_RENAMES.get(field, field)
        if key in tokens:
            fields[field] = tokens[key]
    for field in _NET_BOOLS:
        if field in fields:
            fields[field] = fields[field] == "1"
    return Network.model_validate(fields)


def print_network(net: Network, *, hwaddr: str | None = None) -> str:
    """Network -> canonical `net[n]` string.

    `hwaddr` is the observed MAC to keep when the spec leaves it unset: a net PUT without a
    MAC makes Proxmox generate a new one, which restarts the interface for nothing.
    """
    return _print_network(net, hwaddr)


@by_value
def _print_network(net: Network, hwaddr: str | None) -> str:
    tokens: dict[str, Any] = {}
    for field, value in net.model_dump(exclude_none=True).items():
        text = ";".join(str(v) for v in value) if field == "trunks" else value
        tokens[_NET_RENAMES.get(field, field)] = text
    if "hwaddr" not in tokens and hwaddr:
        tokens["hwaddr"] = hwaddr.upper()
    tokens["type"] = "veth"
    return print_propstr(tokens, NET)


# --- root filesystem and mount points ----------------------------------------------------

_OWN_VOLUME = re.compile(r"(?:\d+/)?(?:vm|subvol|base)-(?P<vmid>\d+)-disk-\d+(?:\.\w+)?")
_MOUNT_OPTION_BOOLS = ("acl", "quota", "replicate")


@dataclass(frozen=True, slots=True)
class RootVolume:
    """An observed `rootfs`: where it lives, how big it is, its options, and the volid."""

    storage: str
    size_gib: int | None
    options: RootFs | None
    volid: str


def size_to_gib(size: str | int | None) -> int | None:
    """A Proxmox size -> whole GiB, rounded down (at least 1).

    The spec counts disks in whole GiB. Rounding down means a disk that is smaller than a
    requested size still shows as needing a resize, and never as a shrink.
    """
    if size is None:
        return None
    return max(1, parse_size(size) // GIB)


def _mount_options(tokens: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {k: tokens[k] == "1" for k in _MOUNT_OPTION_BOOLS if k in tokens}
    if "mountoptions" in tokens:
        fields["mountoptions"] = tokens["mountoptions"]
    return fields


@by_value
def parse_rootfs(text: str) -> RootVolume:
    """`local-lvm:vm-101-disk-0,size=8G,acl=1` -> RootVolume(local-lvm, 8, RootFs(acl), volid).

    Memoised (the answer is frozen): one observed config asks for it once per rootfs row
    and once for its volid."""
    tokens = parse_propstr(text, ROOTFS)
    volid = tokens["volume"]
    storage = volid.split(":", 1)[0] if ":" in volid else ""
    options = _mount_options(tokens)
    return RootVolume(storage=storage, size_gib=size_to_gib(tokens.get("size")),
                      options=RootFs.model_validate(options) if options else None, volid=volid)


@by_value
def print_rootfs(volume: str, options: RootFs | None = None, size: str | None = None) -> str:
    """A rootfs string from a volid (or `storage:GiB` at create), its options and size."""
    tokens: dict[str, Any] = {"volume": volume, "size": size}
    if options is not None:
        tokens.update(options.model_dump(exclude_none=True))
        if options.mountoptions is not None:
            tokens["mountoptions"] = ";".join(options.mountoptions)
    return print_propstr(tokens, ROOTFS)


def is_own_volume(volid: str, vmid: int) -> bool:
    """Whether `volid` is a disk allocated for container `vmid` (vm-101-disk-0 and kin)."""
    _, sep, name = volid.partition(":")
    match = _OWN_VOLUME.fullmatch(name) if sep else None
    return match is not None and int(match["vmid"]) == vmid


def parse_mount(text: str, vmid: int) -> tuple[Mount, str | None]:
    """An `mp[n]` string -> (Mount, volid or None for a bind mount).

    A volume allocated for this container reads as `storage:GiB` (the spec's form for "this
    container's own disk"); any other volume keeps its volid and size; a host path (or
    `/dev/...`) is a bind mount.
    """
    tokens = parse_propstr(text, MP)
    volume = tokens["volume"]
    fields: dict[str, Any] = {"path": tokens["mp"], **_mount_options(tokens)}
    for spec_key, key in (("read_only", "ro"), ("backup", "backup"), ("shared", "shared"),
                          ("keepattrs", "keepattrs")):
        if key in tokens:
            fields[spec_key] = tokens[key] == "1"
    size = size_to_gib(tokens.get("size"))
    volid: str | None = None
    if volume.startswith("/"):
        fields["host_path"] = volume
        fields.pop("backup", None)
    else:
        volid = volume
        if is_own_volume(volume, vmid) and size is not None:
            fields["volume"] = f"{volume.split(':', 1)[0]}:{size}"
        else:
            fields["volume"] = volume
            fields["size"] = size
    return Mount.model_validate(fields), volid


def print_mount(mount: Mount, *, volid: str | None = None, size: str | None = None) -> str:
    """Mount -> canonical `mp[n]` string.

    `volid` (the observed volume) replaces a `storage:GiB` volume when the mount point
    exists already: PUTting `storage:GiB` again would allocate a second, empty volume.
    """
    return _print_mount(mount, volid, size)


@by_value
def _print_mount(mount: Mount, volid: str | None, size: str | None) -> str:
    tokens: dict[str, Any] = {
        "volume": mount.host_path or volid or mount.volume,
        "mp": mount.path, "ro": mount.read_only, "backup": mount.backup, "acl": mount.acl,
        "quota": mount.quota, "replicate": mount.replicate, "shared": mount.shared,
        "keepattrs": mount.keepattrs, "size": size,
    }
    if mount.mountoptions is not None:
        tokens["mountoptions"] = ";".join(mount.mountoptions)
    if size is None and volid is not None and mount.size_gib is not None:
        tokens["size"] = f"{mount.size_gib}G"
    return print_propstr(tokens, MP)


# --- devices, features, startup ----------------------------------------------------------


def parse_device(text: str) -> Device:
    """`/dev/dri/renderD128,gid=104` -> Device."""
    tokens = parse_propstr(text, DEV)
    fields: dict[str, Any] = {k: v for k, v in tokens.items() if k != "deny-write"}
    if "deny-write" in tokens:
        fields["deny_write"] = tokens["deny-write"] == "1"
    return Device.model_validate(fields)


@by_value
def print_device(device: Device) -> str:
    tokens: dict[str, Any] = device.model_dump(exclude_none=True)
    if "deny_write" in tokens:
        tokens["deny-write"] = tokens.pop("deny_write")
    return print_propstr(tokens, DEV)


def parse_features(text: str | None) -> Features | None:
    """`nesting=1,keyctl=1,mount=nfs;cifs` -> Features; empty -> None."""
    if not text:
        return None
    tokens = parse_propstr(text, FEATURES)
    fields: dict[str, Any] = {k: (v == "1" if k in FEATURES.booleans else v)
                              for k, v in tokens.items()}
    return Features.model_validate(fields) if fields else None


@by_value
def print_features(features: Features) -> str:
    tokens: dict[str, Any] = features.model_dump(exclude_none=True)
    if "mount" in tokens:
        tokens["mount"] = ";".join(tokens["mount"])
    return print_propstr(tokens, FEATURES)


def parse_startup_spec(text: str | None) -> Startup | None:
    """`order=2,up=30` -> Startup; empty -> None."""
    parsed = parse_startup(text)
    if parsed is None:
        return None
    return Startup(order=parsed.order, up=parsed.up, down=parsed.down)


def print_startup_spec(startup: Startup) -> str:
    return print_startup(_StartupOrder(startup.order, startup.up, startup.down))


def parse_flag(value: Any) -> bool:
    """A config boolean as the API returns it (int 0/1 in /config, string in /pending)."""
    return parse_bool(value if isinstance(value, str | int) else str(value))
