"""Property strings (`net0`, `rootfs`, `mp0`, `features`, `dev0`, `unused0`, `startup`).

Parsing and printing follow pve-common's `parse_property_string` / `print_property_string`
so the simulator accepts, rejects and stores exactly what Proxmox does:
- parts are split on `,`, blank parts skipped; `k=v` or, for the default key, a bare value;
- boolean keys accept 1|on|yes|true / 0|off|no|false and become 1/0;
- the result is checked like a schema object: missing required keys, types, formats, ranges;
- printing is canonical: default key first without `key=`, then the required keys sorted,
  then the rest sorted; disk sizes through `format_size`.

`parse` returns typed values (int for integers and booleans, float for numbers, byte counts
for `size`), which is what the simulator's model works with.
"""

from __future__ import annotations

import re
from typing import Any

from pxrun.sim import formats
from pxrun.sim.table_param import B, I, N, Param, S

_MOUNTOPT = r"(?:(discard|lazytime|noatime|nodev|noexec|nosuid))"
MOUNTOPTIONS = f"(?:{_MOUNTOPT}(;{_MOUNTOPT})*)"

_DISK_COMMON: dict[str, Param] = {
    "volume": S(optional=False, default_key=True, format="pve-lxc-mp-string"),
    "size": S(format="disk-size"),
    "acl": B(),
    "quota": B(),
    "ro": B(),
    "replicate": B(default=1),
    "shared": B(default=0),
    "mountoptions": S(pattern=MOUNTOPTIONS),
}

FORMATS: dict[str, dict[str, Param]] = {
    "net": {
        "name": S(optional=False, pattern=r"[-_.\w\d]+"),
        "bridge": S(pattern=r"[-_.\w\d]+"),
        "firewall": B(),
        "gw": S(format="ipv4"),
        "gw6": S(format="ipv6"),
        "host-managed": B(),
        "hwaddr": S(format="mac-addr"),
        "ip": S(format="pve-ipv4-config"),
        "ip6": S(format="pve-ipv6-config"),
        "link_down": B(),
        "mtu": I(minimum=64, maximum=65535),
        "rate": N(),
        "tag": I(minimum=1, maximum=4094),
        "trunks": S(pattern=r"(?:\d+(?:;\d+)*)"),
        "type": S(enum=("veth",)),
    },
    "rootfs": dict(_DISK_COMMON),
    "mp": {
        **_DISK_COMMON,
        "mp": S(optional=False, format="pve-lxc-mp-string"),
        "backup": B(),
        "keepattrs": B(default=0),
    },
    "features": {
        "force_rw_sys": B(default=0),
        "fuse": B(default=0),
        "keyctl": B(default=0),
        "mknod": B(default=0),
        "mount": S(pattern=r"(?:[a-zA-Z0-9_; ]+)"),
        "nesting": B(default=0),
    },
    "dev": {
        "path": S(default_key=True, format="pve-lxc-dev-string"),
        "deny-write": B(default=0),
        "gid": I(minimum=0),
        "mode": S(pattern=r"0[0-7]{3}"),
        "uid": I(minimum=0),
    },
    "unused": {"volume": S(optional=False, default_key=True, format="pve-volume-id")},
    "prune-backups": {
        "keep-all": B(),
        "keep-last": I(minimum=0),
        "keep-hourly": I(minimum=0),
        "keep-daily": I(minimum=0),
        "keep-weekly": I(minimum=0),
        "keep-monthly": I(minimum=0),
        "keep-yearly": I(minimum=0),
    },
    "backup-fleecing": {
        "enabled": B(default=0, default_key=True),
        "storage": S(format="pve-storage-id"),
    },
    "backup-performance": {
        "max-workers": I(minimum=1, maximum=256, default=16),
        "pbs-entries-max": I(minimum=1, default=1048576),
    },
}

STARTUP_KEYS = ("order", "up", "down")


class PropStrError(ValueError):
    """A parse/print failure. `message` is PVE's die text without the trailing newline;
    for schema failures it is `format error` and `errors` maps `<path>.<key>` to texts."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    def pve_text(self) -> str:
        """The text PVE's exception stringifies to (used after `invalid format - `)."""
        return f"{self.message}\n" + "".join(f"{k}: {v}\n" for k, v in sorted(self.errors.items()))


def default_key(fmt: str) -> str | None:
    return next((k for k, p in FORMATS[fmt].items() if p.default_key), None)


def _split_parts(fmt: str, text: str) -> dict[str, str]:
    schema = FORMATS[fmt]
    raw: dict[str, str] = {}
    seen_default: str | None = None
    for part in text.split(","):
        if re.match(r"^\s*$", part):
            continue
        if pair := re.match(r"^([^=]+)=(.+)$", part):
            key, value = pair.group(1), pair.group(2)
            if key in raw:
                raise PropStrError(f"duplicate key in comma-separated list property: {key}")
            sub = schema.get(key)
            if sub is None:
                raise PropStrError(f"invalid key in comma-separated list property: {key}")
            if sub.type == "boolean":
                value = _bool_text(value)
            raw[key] = value
        elif "=" not in part:
            if seen_default:
                raise PropStrError(
                    f"duplicate key in comma-separated list property: {seen_default}"
                )
            seen_default = default_key(fmt)
            if seen_default is None:
                raise PropStrError("value without key, but schema does not define a default key")
            if raw.get(seen_default) not in (None, "", "0"):  # Perl truthiness
                raise PropStrError(
                    f"duplicate key in comma-separated list property: {seen_default}"
                )
            raw[seen_default] = part
        else:
            raise PropStrError("missing key in comma-separated list property")
    return raw


def _bool_text(value: str) -> str:
    if re.fullmatch(r"(1|on|yes|true)\n?", value, re.I):
        return "1"
    if re.fullmatch(r"(0|off|no|false)\n?", value, re.I):
        return "0"
    return value


def parse(fmt: str, text: str, path: str | None = None) -> dict[str, Any]:
    """Parse and check a property string; typed values; PropStrError as PVE would die."""
    if fmt == "startup":
        found = formats.parse_startup(text)
        if found is None:
            raise PropStrError("unable to parse startup options")
        return dict(found)
    from pxrun.sim.validate import check_value  # local: validate imports this module

    schema = FORMATS[fmt]
    raw = _split_parts(fmt, text)
    errors: dict[str, str] = {}
    result: dict[str, Any] = {}
    for key, sub in schema.items():
        where = f"{path}.{key}" if path else key
        if key not in raw:
            if not sub.optional:
                errors[where] = "property is missing and it is not optional"
            continue
        ok, value, message = check_value(sub, raw[key])
        if not ok:
            errors[where] = message
        else:
            result[key] = value
    if errors:
        raise PropStrError("format error", errors)
    if "size" in result:
        result["size"] = formats.parse_size(result["size"])
    return result


def _value_text(key: str, sub: Param | None, value: Any) -> str:
    if sub is not None and sub.format == "disk-size":
        size = value if isinstance(value, int) else formats.parse_size(str(value))
        if size is None:
            raise PropStrError(f"value does not look like a valid disk size: {value}")
        return formats.format_size(size)
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, float):
        text = format(value, ".15g")
    else:
        text = str(value)
    if "," in text:
        raise PropStrError(f"illegal value with commas for {key}")
    return text


def print_(fmt: str, values: dict[str, Any]) -> str:
    """print_property_string: canonical order, None values left out."""
    if fmt == "startup":
        return ",".join(f"{k}={values[k]}" for k in STARTUP_KEYS if values.get(k) is not None)
    schema = FORMATS[fmt]
    data = {k: v for k, v in values.items() if v is not None}
    for key in data:
        if key not in schema:
            raise PropStrError(f"invalid key '{key}'")
    missing = sorted(k for k, p in schema.items() if not p.optional and k not in data)
    if missing:
        raise PropStrError(
            "format error", dict.fromkeys(missing, "property is missing and it is not optional")
        )
    dkey = default_key(fmt)
    order: list[str] = []
    if dkey in data:
        order.append(dkey)
    order += [k for k in sorted(data) if not schema[k].optional and k not in order]
    order += [k for k in sorted(data) if k not in order]
    parts = []
    for key in order:
        text = _value_text(key, schema[key], data[key])
        parts.append(text if key == dkey else f"{key}={text}")
    return ",".join(parts)


def canonical(fmt: str, text: str) -> str:
    """Parse then print: what Proxmox stores for a value it accepted."""
    return print_(fmt, parse(fmt, text))


def fmt_of(key: str) -> str | None:
    """The property-string format of a config key: `net3` → `net`, `rootfs` → `rootfs`."""
    if key in ("rootfs", "features", "startup"):
        return key
    found = re.fullmatch(r"(net|mp|dev|unused)(\d+)", key)
    return found.group(1) if found else None
