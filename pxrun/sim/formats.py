"""Named value formats of the Proxmox VE API, with Proxmox's own error texts.

A schema parameter may name a format (`format: pve-vmid`); PVE's `check_format` then calls
the registered verifier, and a failure becomes `invalid format - <die text>`. The die texts
end in a newline (Perl `die "...\\n"`), and that newline reaches the client inside the
`errors` map, so `FormatError.text` carries it verbatim. A `-list` suffix splits the value
with `split_list` and checks every item; `-opt` skips empty values.

Written from pve-common `JSONSchema.pm`/`Tools.pm`, pve-container `LXC/Config.pm`,
pve-storage and pve-access-control. The client side has its own copies on purpose
(specs/0001).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path


class FormatError(ValueError):
    """A verifier's `die` text, newline(s) included, as Proxmox puts it in `errors`."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


_OCTET = r"(?:25[0-5]|(?:2[0-4]|1[0-9]|[1-9])?[0-9])"
IPV4RE = rf"(?:(?:{_OCTET}\.){{3}}{_OCTET})"
_H16 = r"(?:[0-9a-fA-F]{1,4})"
_LS32 = rf"(?:(?:{_H16}:{_H16})|{IPV4RE})"
IPV6RE = (
    "(?:"
    rf"(?:(?:(?:{_H16}:){{6}}){_LS32})|"
    rf"(?:(?:::(?:{_H16}:){{5}}){_LS32})|"
    rf"(?:(?:(?:{_H16})?::(?:{_H16}:){{4}}){_LS32})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}){_LS32})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}){_LS32})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,3}}{_H16})?::(?:{_H16}:){{1}}){_LS32})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,4}}{_H16})?::){_LS32})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,5}}{_H16})?::){_H16})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,6}}{_H16})?::))"
    ")"
)


def perl_match(pattern: str, value: str, flags: int = 0) -> re.Match[str] | None:
    """`$value =~ m/^$pattern$/`: Perl's `$` also matches before one trailing newline."""
    return re.match(f"^{pattern}$", value, flags)


def split_list(text: str) -> list[str]:
    """PVE::Tools::split_list: NUL-separated if a NUL is present, else `,` `;` whitespace."""
    if "\0" in text:
        return text.split("\0")
    return [item for item in re.split(r"[,;\s]+", text) if item]


def _rx(pattern: str, message: str, flags: int = 0) -> Callable[[str], None]:
    def verify(value: str) -> None:
        if not perl_match(pattern, value, flags):
            raise FormatError(message.format(value=value))

    return verify


def _cidr(value: str, addr: str, low: int, high: int) -> bool:
    found = perl_match(rf"(?:{addr})(?:/(\d+))", value)
    return bool(found and low < int(found.group(1)) <= high)


def verify_cidrv4(value: str) -> None:
    if not _cidr(value, IPV4RE, 7, 32):
        raise FormatError("value does not look like a valid IPv4 CIDR network\n")


def verify_cidrv6(value: str) -> None:
    if not _cidr(value, IPV6RE, 7, 128):
        raise FormatError("value does not look like a valid IPv6 CIDR network\n")


def verify_ipv4_config(value: str) -> None:
    if value in ("dhcp", "manual") or _cidr(value, IPV4RE, 7, 32):
        return
    raise FormatError("value does not look like a valid ipv4 network configuration\n")


def verify_ipv6_config(value: str) -> None:
    if value in ("auto", "dhcp", "manual") or _cidr(value, IPV6RE, 7, 128):
        return
    raise FormatError("value does not look like a valid ipv6 network configuration\n")


verify_ip = _rx(f"(?:{IPV4RE}|{IPV6RE})", "value does not look like a valid IP address\n")
verify_iface = _rx(
    r"[a-z][a-z0-9_]{1,20}([:.]\d+)?", "invalid network interface name '{value}'\n", re.I
)


def verify_ip_with_ll_iface(value: str) -> None:
    """lxc-ip-with-ll-iface: an IP, or a link-local IPv6 with `%iface` (pve-container)."""
    found = perl_match(r"(fe80:[^%]+)%(.*)", value)
    if found:
        try:
            verify_ip(found.group(1))
            verify_iface(found.group(2))
        except FormatError:
            pass
        else:
            return
    verify_ip(value)


SIZE_RE = r"(\d+(?:\.\d+)?)([KMGT](?:iB)?)?"
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int | None:
    """PVE's parse_size: bytes, or K/M/G/T (binary, optional `iB`); None if unparsable."""
    found = perl_match(SIZE_RE, text)
    if not found:
        return None
    number, unit = found.group(1), found.group(2)
    factor = _UNITS[unit[0]] if unit else 1
    if "." in number:
        return int(float(number) * factor)
    return int(number) * factor


def format_size(size: int) -> str:
    """PVE's format_size: the largest exact unit, `8G`, `512M`, `1536M`, or plain bytes."""
    size = int(size)
    for unit in ("T", "G", "M", "K"):
        if size and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def verify_disk_size(value: str) -> None:
    if parse_size(value) is None:
        raise FormatError(f"value does not look like a valid disk size: {value}\n")


def parse_startup(text: str) -> dict[str, int] | None:
    """pve_parse_startup_order: `[order=]N`, `up=N`, `down=N`, comma separated."""
    if not text or text == "0":
        return None
    result: dict[str, int] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if found := perl_match(r"(order=)?(\d+)", part):
            result["order"] = int(found.group(2))
        elif found := perl_match(r"(up|down)=(\d+)", part):
            result[found.group(1)] = int(found.group(2))
        else:
            return None
    return result


def verify_startup(value: str) -> None:
    if parse_startup(value) is None:
        raise FormatError("unable to parse startup options\n")


TAG_RE = r"[a-z0-9_][a-z0-9_\-+.]*"


def normalize_tags(text: str) -> str:
    """get_unique_tags with default tag-style: lowercase, de-duplicate, sort, join with `;`."""
    tags = split_list(text)
    for tag in tags:
        if not perl_match(TAG_RE, tag, re.I):
            raise FormatError("invalid characters in tag\n")
    return ";".join(sorted({tag.lower() for tag in tags}))


def verify_mp_string(value: str) -> None:
    if re.search(r"/\.\.?/", value) or re.search(r"/\.\.?$", value) or value.startswith("../"):
        raise FormatError(f"{value} contains illegal character sequences\n")


def verify_dev_string(value: str) -> None:
    if (
        re.search(r"/\.\.?/", value)
        or re.search(r"/\.\.?$", value)
        or not value.startswith("/dev/")
    ):
        raise FormatError(f"{value} is not a valid device path\n")


def _zone_names() -> frozenset[str]:
    tab = Path("/usr/share/zoneinfo/zone.tab")
    if not tab.is_file():
        return frozenset()
    names = set()
    for line in tab.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) > 2:
            names.add(fields[2])
    return frozenset(names)


_ZONES: frozenset[str] | None = None


def verify_ct_timezone(value: str) -> None:
    """`host`, `UTC`, or a zone listed in zone.tab (any sane name when the host has none)."""
    global _ZONES  # noqa: PLW0603 - read zone.tab once, lazily
    if value in ("host", "UTC"):
        return
    if _ZONES is None:
        _ZONES = _zone_names()
    known = (
        value in _ZONES if _ZONES else bool(perl_match(r"[A-Za-z][\w+\-]*(?:/[\w+\-]+)*", value))
    )
    if not known:
        raise FormatError(f"invalid time zone '{value}'\n")


def verify_poolid(value: str) -> None:
    part = r"[A-Za-z0-9.\-_]+"
    if perl_match(rf"{part}(?:/{part})*", value) and value.count("/") > 2:
        raise FormatError(f"pool name '{value}' nested too deeply (max levels = 3)\n")
    if not perl_match(rf"{part}(?:/{part}){{0,2}}", value):
        raise FormatError(f"invalid pool ID '{value}'\n")


CONTENT_TYPES = ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import")


def verify_content(value: str) -> None:
    if value not in CONTENT_TYPES:
        raise FormatError(f"invalid content type '{value}'\n")


PRIVILEGES = frozenset(
    (
        "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate",
        "Datastore.Audit", "Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use",
        "Permissions.Modify", "Pool.Allocate", "Pool.Audit", "Realm.Allocate", "Realm.AllocateUser",
        "SDN.Allocate", "SDN.Audit", "SDN.Use", "Sys.AccessNetwork", "Sys.Audit", "Sys.Console",
        "Sys.Incoming", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog", "User.Modify", "VM.Allocate",
        "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU",
        "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory",
        "VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.GuestAgent.Audit",
        "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
        "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.PowerMgmt", "VM.Replicate", "VM.Snapshot",
        "VM.Snapshot.Rollback",
    )
)  # fmt: skip


def verify_priv(value: str) -> None:
    if value not in PRIVILEGES:
        raise FormatError(f"invalid privilege '{value}'\n")


def verify_storage_id(value: str) -> None:
    if not perl_match(r"[a-z][a-z0-9\-_.]*[a-z0-9]", value, re.I):
        raise FormatError(f"storage ID '{value}' contains illegal characters\n")


def verify_storage_pair(value: str) -> None:
    """storage-pair: `1`, `sid` or `src:dst` (parse_idmap on one entry, messages nested)."""

    def bad(entry: str, inner: FormatError) -> FormatError:
        return FormatError(f"entry '{entry}' contains invalid ID - {inner.text}\n\n")

    if value == "1":
        return
    found = perl_match(r"([^:]+):([^:]+)", value)
    try:
        if found:
            verify_storage_id(found.group(1))
            verify_storage_id(found.group(2))
        else:
            verify_storage_id(value)
    except FormatError as error:
        raise bad(value, error) from None


VERIFIERS: dict[str, Callable[[str], None]] = {
    "string": lambda value: None,
    "pve-vmid": _rx(r"[1-9][0-9]{2,8}", "value does not look like a valid VM ID\n"),
    "pve-node": _rx(
        r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)", "value does not look like a valid node name\n"
    ),
    "pve-storage-id": verify_storage_id,
    "pve-configid": _rx(r"[a-z][a-z0-9_-]+", "invalid configuration ID '{value}'\n", re.I),
    "pve-poolid": verify_poolid,
    "pve-realm": _rx(r"[A-Za-z][A-Za-z0-9.\-_]+", "value does not look like a valid realm\n"),
    "pve-iface": verify_iface,
    "pve-tag": _rx(TAG_RE, "invalid characters in tag\n", re.I),
    "pve-volume-id": _rx(
        r"([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)", "unable to parse volume ID '{value}'\n", re.I | re.S
    ),
    "pve-priv": verify_priv,
    "pve-storage-content": verify_content,
    "pve-task-status-type": _rx(r"(ok|error|warning|unknown)", "invalid status '{value}'\n", re.I),
    "storage-pair": verify_storage_pair,
    "pve-startup-order": verify_startup,
    "pve-ct-timezone": verify_ct_timezone,
    "pve-lxc-mp-string": verify_mp_string,
    "pve-lxc-dev-string": verify_dev_string,
    "dns-name": _rx(
        r"(([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)",
        "value does not look like a valid DNS name\n",
    ),
    "lxc-ip-with-ll-iface": verify_ip_with_ll_iface,
    "mac-addr": _rx(
        r"[a-f0-9][02468ace](?::[a-f0-9]{2}){5}",
        "value does not look like a valid unicast MAC address\n",
        re.I,
    ),
    "ip": verify_ip,
    "ipv4": _rx(IPV4RE, "value does not look like a valid IPv4 address\n"),
    "ipv6": _rx(IPV6RE, "value does not look like a valid IPv6 address\n"),
    "CIDRv4": verify_cidrv4,
    "CIDRv6": verify_cidrv6,
    "pve-ipv4-config": verify_ipv4_config,
    "pve-ipv6-config": verify_ipv6_config,
    "disk-size": verify_disk_size,
    "urlencoded": _rx(r"[-%a-zA-Z0-9_.!~*'()]*", "invalid urlencoded string: {value}\n"),
}


def _verifier(base: str) -> Callable[[str], None] | None:
    found = VERIFIERS.get(base)
    if found is None:
        from pxrun.sim import formats_extra  # imports this module: looked up lazily

        found = formats_extra.VERIFIERS.get(base)
    return found


@functools.lru_cache(maxsize=512)
def _format_name(name: str) -> tuple[str, str | None]:
    """`pve-configid-list` → (`pve-configid`, `list`)."""
    found = re.fullmatch(r"(.*?)(?:-(list|opt))?", name)
    assert found is not None
    return found.group(1), found.group(2)


def known_format(name: str) -> bool:
    """Whether `name` (with an optional -list/-opt suffix) is a format we can check."""
    return _verifier(re.sub(r"-(list|opt)$", "", name)) is not None


def check_format(name: str, value: str) -> None:
    """PVE's check_format for a named format; raises FormatError with the die text."""
    base, kind = _format_name(name)
    verify = _verifier(base)
    if verify is None:
        raise FormatError(f"undefined format '{name}'\n")
    if kind == "list":
        for item in split_list(value):
            verify(item)
    elif kind == "opt":
        if value and value != "0":
            verify(value)
    else:
        verify(value)
