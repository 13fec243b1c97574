"""Proxmox property strings (`net0`, `rootfs`, `mp0`, `features`, `dev0`): tokenize and print.

A property string is `key=value` pairs joined by `,`, where one *default key* may be given
without `key=`. Proxmox stores and returns them re-printed canonically
(`PVE::JSONSchema::print_property_string`): the default key's value first, bare; then the
required keys sorted; then every other key sorted. We print the same way so that what apply
PUTs is byte-for-byte what a later GET returns, and a round trip never shows as a change.

This module knows only the *shape* of each format (keys, default key, required keys, which
keys are booleans or sizes); mapping to the spec's model types lives in `parts.py`. The
simulator has its own, schema-driven copy of this logic on purpose (specs/0001).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pxrun.pve.values import format_size, parse_bool


class PropertyStringError(ValueError):
    """A property string that Proxmox itself would refuse (unknown key, duplicate, bad value)."""


@dataclass(frozen=True, slots=True)
class PropFormat:
    """The shape of one property-string format, as far as parsing and printing need it."""

    name: str
    keys: frozenset[str]
    default_key: str | None = None
    required: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()
    sizes: frozenset[str] = frozenset()


_MOUNT_COMMON = frozenset({"volume", "acl", "mountoptions", "quota", "replicate", "ro", "shared",
                           "size"})

NET = PropFormat(
    name="net[n]",
    keys=frozenset({"name", "bridge", "firewall", "gw", "gw6", "host-managed", "hwaddr", "ip",
                    "ip6", "link_down", "mtu", "rate", "tag", "trunks", "type"}),
    required=frozenset({"name"}),
    booleans=frozenset({"firewall", "host-managed", "link_down"}),
)
ROOTFS = PropFormat(
    name="rootfs",
    keys=_MOUNT_COMMON,
    default_key="volume",
    required=frozenset({"volume"}),
    booleans=frozenset({"acl", "quota", "replicate", "ro", "shared"}),
    sizes=frozenset({"size"}),
)
MP = PropFormat(
    name="mp[n]",
    keys=_MOUNT_COMMON | {"mp", "backup", "keepattrs"},
    default_key="volume",
    required=frozenset({"volume", "mp"}),
    booleans=frozenset({"acl", "backup", "keepattrs", "quota", "replicate", "ro", "shared"}),
    sizes=frozenset({"size"}),
)
FEATURES = PropFormat(
    name="features",
    keys=frozenset({"force_rw_sys", "fuse", "keyctl", "mknod", "mount", "nesting"}),
    booleans=frozenset({"force_rw_sys", "fuse", "keyctl", "mknod", "nesting"}),
)
DEV = PropFormat(
    name="dev[n]",
    keys=frozenset({"path", "deny-write", "gid", "mode", "uid"}),
    default_key="path",
    booleans=frozenset({"deny-write"}),
)
UNUSED = PropFormat(
    name="unused[n]",
    keys=frozenset({"volume"}),
    default_key="volume",
    required=frozenset({"volume"}),
)

_BY_KEY_PREFIX: dict[str, PropFormat] = {
    "net": NET, "mp": MP, "dev": DEV, "unused": UNUSED,
}


def format_for_key(config_key: str) -> PropFormat | None:
    """The property-string format of a config key (`net3` -> NET, `rootfs` -> ROOTFS), or None."""
    if config_key == "rootfs":
        return ROOTFS
    if config_key == "features":
        return FEATURES
    prefix = config_key.rstrip("0123456789")
    if prefix != config_key and prefix in _BY_KEY_PREFIX:
        return _BY_KEY_PREFIX[prefix]
    return None


def parse_propstr(text: str, fmt: PropFormat) -> dict[str, str]:
    """Split a property string into {key: value}; booleans come back as "1"/"0".

    Like Proxmox: empty parts are skipped, a part without `=` is the default key's value,
    a key given twice is an error, and required keys must be present.
    """
    values: dict[str, str] = {}
    for part in text.split(","):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            if fmt.default_key is None:
                raise PropertyStringError(f"{fmt.name}: value without key, but schema does not "
                                          f"define a default key: {part!r}")
            if fmt.default_key in values:
                raise PropertyStringError(f"{fmt.name}: duplicate key in comma-separated list "
                                          f"property: {fmt.default_key}")
            key, value = fmt.default_key, part
        elif key not in fmt.keys:
            raise PropertyStringError(f"{fmt.name}: invalid format - unknown key {key!r}")
        elif key in values:
            raise PropertyStringError(f"{fmt.name}: duplicate key in comma-separated list "
                                      f"property: {key}")
        if key in fmt.booleans:
            try:
                value = "1" if parse_bool(value) else "0"
            except ValueError as exc:
                raise PropertyStringError(f"{fmt.name}: {key}: {exc}") from None
        values[key] = value
    missing = sorted(fmt.required - values.keys())
    if missing:
        raise PropertyStringError(f"{fmt.name}: property is missing and it is not optional: "
                                  f"{', '.join(missing)}")
    return values


def print_propstr(values: Mapping[str, str | int | float | bool], fmt: PropFormat) -> str:
    """Print {key: value} canonically, exactly as Proxmox stores it.

    Booleans print as 1/0, size keys through `format_size` (so `8192M` prints as `8G`).
    None values are skipped, so callers can pass optional fields straight through.
    """
    unknown = sorted(set(values) - fmt.keys)
    if unknown:
        raise PropertyStringError(f"{fmt.name}: unknown key(s) {', '.join(unknown)}")
    parts: list[str] = []
    done: set[str] = set()

    def add(key: str, bare: bool) -> None:
        if key in done or values.get(key) is None:
            return
        done.add(key)
        text = _value_text(key, values[key], fmt)
        if "," in text:
            raise PropertyStringError(f"{fmt.name}: illegal value with commas for {key}")
        parts.append(text if bare else f"{key}={text}")

    if fmt.default_key is not None:
        add(fmt.default_key, bare=True)
    for key in sorted(values):
        if key in fmt.required:
            add(key, bare=False)
    for key in sorted(values):
        add(key, bare=False)
    return ",".join(parts)


def _value_text(key: str, value: str | int | float | bool, fmt: PropFormat) -> str:
    if key in fmt.booleans:
        if isinstance(value, float):
            value = int(value)
        return "1" if parse_bool(value) else "0"
    if key in fmt.sizes:
        return format_size(value if isinstance(value, int | str) else int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Parts Proxmox fills in itself when a write leaves them out: a network's MAC, the size of a
# volume it allocated.
_GENERATED: dict[str, frozenset[str]] = {
    NET.name: frozenset({"hwaddr"}), ROOTFS.name: frozenset({"size"}),
    MP.name: frozenset({"size"}),
}
_ALLOCATION = re.compile(r"^(?P<storage>[A-Za-z][\w.-]*):\d+(?:\.\d+)?$")  # `local-lvm:8`


def holds(config_key: str, written: str, found: str) -> bool:
    """Whether `found`, read back from a config, is what writing `written` to `config_key`
    leaves there: the same text, or for a property string the same parts plus only those
    Proxmox fills in itself (a generated MAC; for a `storage:GiB` allocation, a volume on
    that storage and its size). Used after a lost answer, to tell our own write from
    someone else's."""
    written, found = written.rstrip("\n"), found.rstrip("\n")
    if written == found:
        return True
    fmt = format_for_key(config_key)
    if fmt is None:
        return False
    try:
        want, have = parse_propstr(written, fmt), parse_propstr(found, fmt)
    except PropertyStringError:
        return False
    if set(have) - set(want) - _GENERATED.get(fmt.name, frozenset()):
        return False
    for key, value in want.items():
        allocation = _ALLOCATION.match(value) if key == "volume" else None
        if allocation is not None:
            if not have.get(key, "").startswith(f"{allocation['storage']}:"):
                return False
        elif have.get(key, "").upper() != value.upper() if key == "hwaddr" else \
                have.get(key) != value:
            return False
    return True
