"""Proxmox's own value rules (formats, ranges, enums) as reusable annotated types.

Why here and not in the simulator: decision 0001 keeps the simulator's validators apart from
the client's, so a bug in one is caught by the other. These rules follow
`reference/pve-lxc-api.md` A4 and Part C, but speak to the spec's user: messages are short,
name the spec key, and never contain a secret value.

Each rule is a `Check` put into `Annotated[...]`: it validates after pydantic's own type
coercion (so `"20"` rendered by Jinja still becomes the int 20) and adds the matching JSON
Schema keywords, so editors show the same limits the loader enforces.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator, GetCoreSchemaHandler, GetJsonSchemaHandler, SecretStr
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema


def fail(message: str) -> PydanticCustomError:
    """An error whose message is exactly `message` (no "Value error, " prefix)."""
    return PydanticCustomError("pxrun_value", message)


@dataclass(frozen=True)
class Check:
    """Annotated metadata: run `func` after type validation; add `schema` to the JSON Schema."""

    func: Callable[[Any], Any]
    schema: dict[str, Any] = field(default_factory=dict)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.func, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        result = handler(schema)
        result.update(self.schema)
        return result

    def __hash__(self) -> int:  # dict fields make the dataclass unhashable otherwise
        return id(self)


def _num(value: float) -> str:
    """9.99e8 reads badly in a message: print whole numbers as integers (and a number of
    4,000 digits as its first ones)."""
    text = str(int(value)) if isinstance(value, int) or float(value).is_integer() else str(value)
    return text if len(text) <= 24 else f"{text[:20]}... ({len(text)} digits)"


def between(what: str, lo: float | None = None, hi: float | None = None) -> Check:
    """A numeric range check: "vlan must be between 1 and 4094, got 5000".

    NaN and infinities are refused too: YAML's `.nan` compares false with every bound, and
    Proxmox has no use for either.
    """

    def check(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            raise fail(f"{what} must be a finite number, got {value}")
        low = lo is not None and value < lo
        high = hi is not None and value > hi
        if not (low or high):
            return value
        if lo is not None and hi is not None:
            raise fail(f"{what} must be between {_num(lo)} and {_num(hi)}, got {_num(value)}")
        if lo is not None:
            raise fail(f"{what} must be at least {_num(lo)}, got {_num(value)}")
        raise fail(f"{what} must be at most {_num(hi or 0)}, got {_num(value)}")

    schema: dict[str, Any] = {}
    if lo is not None:
        schema["minimum"] = lo
    if hi is not None:
        schema["maximum"] = hi
    return Check(check, schema)


_compiled = functools.cache(re.compile)
"""re.compile, remembered without limit (`re`'s own cache may drop a pattern)."""


def matches(what: str, pattern: str, hint: str, *, flags: int = 0, max_len: int = 0) -> Check:
    """A full-match regular expression check; `hint` says in words what is expected.

    The expression is compiled on first use: most commands check a few of the thirty-odd
    patterns, and compiling them all was a tenth of the models' import.
    """

    def check(value: str) -> str:
        if max_len and len(value) > max_len:
            raise fail(f"{what} must be at most {max_len} characters, got {len(value)}")
        if not _compiled(pattern, flags).fullmatch(value):
            raise fail(f"{what} {value!r} is not valid: {hint}")
        return value

    schema: dict[str, Any] = {"pattern": _json_pattern(pattern, flags)}
    if max_len:
        schema["maxLength"] = max_len
    return Check(check, schema)


def longest(what: str, max_len: int) -> Check:
    """A length limit: "description must be at most 8192 characters, got 9000"."""

    def check(value: str) -> str:
        if len(value) > max_len:
            raise fail(f"{what} must be at most {max_len} characters, got {len(value)}")
        return value

    return Check(check, {"maxLength": max_len})


def _json_pattern(pattern: str, flags: int) -> str:
    """JSON Schema patterns have no flags: spell case-insensitivity out for letters a-z."""
    anchored = f"^(?:{pattern})$"
    if flags & re.IGNORECASE:
        return anchored.replace("a-z", "a-zA-Z")
    return anchored


# --- identifiers -------------------------------------------------------------------------

_DNS_LABEL = r"[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?"
DNS_NAME_RE = rf"{_DNS_LABEL}(\.{_DNS_LABEL})*"


def _check_dns_name(what: str) -> Check:
    def check(value: str) -> str:
        if len(value) > 255:
            raise fail(f"{what} must be at most 255 characters, got {len(value)}")
        if not re.fullmatch(DNS_NAME_RE, value) or any(len(p) > 63 for p in value.split(".")):
            raise fail(
                f"{what} {value!r} is not a valid DNS name: labels of letters, digits "
                "and inner hyphens, joined by dots"
            )
        return value

    return Check(check, {"pattern": f"^{DNS_NAME_RE}$", "maxLength": 255})


# --- sizes -------------------------------------------------------------------------------

MAX_BYTES = 2**63 - 1
"""Proxmox's real limit on sizes. Its API schema gives memory, swap and volume sizes no
maximum ("16 - N"), but it stores them in bytes as 64-bit integers: `maxmem` and `maxswap`
are MiB x 1048576, `maxdisk` and a volume's `size=` are bytes, and the kernel's cgroup
`memory.max` is a 64-bit byte count. A larger value could only fail at apply time."""
MAX_MIB = MAX_BYTES >> 20
MAX_GIB = MAX_BYTES >> 30
MAX_ID = 2**32 - 2
"""Linux user and group ids are 32 bits, and 2**32 - 1 means "no id"."""

VmId = Annotated[int, between("vmid", 100, 999_999_999)]
Hostname = Annotated[str, _check_dns_name("hostname")]
DnsName = Annotated[str, _check_dns_name("search domain")]
ContainerName = Annotated[
    str,
    matches("container name", r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?",
            "lowercase letters, digits and inner hyphens (it is the default hostname)"),
]
StackName = Annotated[str, matches("stack", r"[a-z0-9_-]+", "lowercase letters, digits, - and _")]
NODE_RE = r"[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?"
NodeName = Annotated[str, matches("node", NODE_RE, "a Proxmox node name")]
StorageId = Annotated[
    str,
    matches("storage", r"[a-z][a-z0-9\-_.]*[a-z0-9]",
            "a storage ID (letters, digits, - _ .; at least 2 characters)", flags=re.I),
]
PoolId = Annotated[
    str,
    matches("pool", r"[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}",
            "letters, digits, . - _ with at most two / levels"),
]
Tag = Annotated[
    str,
    matches("tag", r"[a-z0-9_][a-z0-9_\-+.]*",
            "letters, digits, _ - + . and not starting with - + .", flags=re.I),
]
BridgeName = Annotated[str, matches("bridge", r"[-_.\w]+", "letters, digits, - _ .")]
IfaceName = Annotated[str, matches("interface name", r"[-_.\w]+", "letters, digits, - _ .")]

VOLID_RE = r"([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)"
VolumeId = Annotated[str, matches("volume", VOLID_RE, "'storage:volume'", flags=re.I)]
HookScript = Annotated[
    str,
    matches("hookscript", r"[a-z][a-z0-9\-_.]*[a-z0-9]:snippets/[^/,]+", "'storage:snippets/file'",
            flags=re.I),
]


# --- network -----------------------------------------------------------------------------


def _ip_config(what: str, version: int, keywords: tuple[str, ...]) -> Check:
    lo, hi = (8, 32) if version == 4 else (8, 128)

    def check(value: str) -> str:
        if value in keywords:
            return value
        try:
            iface = ipaddress.ip_interface(value)
        except ValueError:
            iface = None
        if iface is None or iface.version != version or "/" not in value:
            words = " | ".join(keywords)
            raise fail(f"{what} must be {words} or an IPv{version} address/prefix, got {value!r}")
        if not lo <= iface.network.prefixlen <= hi:
            prefix = iface.network.prefixlen
            raise fail(f"{what} prefix must be between {lo} and {hi}, got /{prefix}")
        return value

    return Check(check, {"examples": [*keywords, "10.0.0.2/24" if version == 4 else "fd00::2/64"]})


def _ip_address(what: str, version: int | None) -> Check:
    def check(value: str) -> str:
        try:
            addr = ipaddress.ip_address(value.split("%", 1)[0] if version is None else value)
        except ValueError:
            addr = None
        if addr is None or (version is not None and addr.version != version):
            kind = f"an IPv{version} address" if version else "an IP address"
            raise fail(f"{what} must be {kind}, got {value!r}")
        return value

    return Check(check)


def _mac(value: str) -> str:
    if not re.fullmatch(r"[a-f0-9][02468ace](?::[a-f0-9]{2}){5}", value, re.I):
        raise fail(f"hwaddr must be a unicast MAC address like BC:24:11:00:00:01, got {value!r}")
    return value.upper()  # Proxmox stores upper case; normalizing keeps plans free of case noise


IPv4Config = Annotated[str, _ip_config("ip", 4, ("dhcp", "manual"))]
IPv6Config = Annotated[str, _ip_config("ip6", 6, ("auto", "dhcp", "manual"))]
IPv4Address = Annotated[str, _ip_address("gw", 4)]
IPv6Address = Annotated[str, _ip_address("gw6", 6)]
Nameserver = Annotated[str, _ip_address("nameserver", None)]
MacAddress = Annotated[
    str, Check(_mac, {"pattern": "^[a-fA-F0-9][02468aceACE](?::[a-fA-F0-9]{2}){5}$"})
]
VlanId = Annotated[int, between("vlan", 1, 4094)]
Mtu = Annotated[int, between("mtu", 64, 65535)]
Rate = Annotated[float, between("rate", 0)]


# --- paths, devices, mount options -------------------------------------------------------


def _abs_path(what: str, prefix: str = "/") -> Check:
    def check(value: str) -> str:
        if not value.startswith(prefix):
            raise fail(f"{what} must start with {prefix}, got {value!r}")
        if ".." in value.split("/"):
            raise fail(f"{what} must not contain a '..' segment, got {value!r}")
        if "," in value:
            raise fail(f"{what} must not contain a comma, got {value!r}")
        return value

    return Check(check, {"pattern": f"^{re.escape(prefix)}"})


AbsPath = Annotated[str, _abs_path("path")]
HostPath = Annotated[str, _abs_path("host_path")]
DevicePath = Annotated[str, _abs_path("device path", "/dev/")]


def octal_mode(value: Any) -> Any:
    """YAML 1.1 reads an unquoted 0660 as the int 432: turn it back into "0660"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"0{value:03o}"
    return value


FileMode = Annotated[
    str, BeforeValidator(octal_mode), matches("mode", r"0[0-7]{3}", "an octal mode like 0660")
]

MOUNT_OPTIONS = ("discard", "lazytime", "noatime", "nodev", "noexec", "nosuid")
FsType = Annotated[str, matches("mount fs type", r"[a-zA-Z0-9_]+", "letters, digits and _")]


def split_list(value: Any) -> Any:
    """Accept Proxmox's `a;b` / `a,b c` list spelling as well as a YAML list."""
    if isinstance(value, str):
        return [part for part in re.split(r"[;,\s]+", value) if part]
    return value


# --- secrets and keys --------------------------------------------------------------------


def _password(value: SecretStr) -> SecretStr:
    if len(value.get_secret_value()) < 5:
        raise fail("password must be at least 5 characters")  # never echo the value
    return value


Password = Annotated[SecretStr, Check(_password, {"minLength": 5})]

_SSH_KEY_TYPES = ("ssh-", "ecdsa-", "sk-ssh-", "sk-ecdsa-")


def _ssh_key(value: str) -> str:
    parts = value.split()
    if len(parts) < 2 or not parts[0].startswith(_SSH_KEY_TYPES):
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise fail(f"ssh key must be an OpenSSH public key like 'ssh-ed25519 AAAA...', "
                   f"got {shown!r}")
    return value


SshPublicKey = Annotated[str, Check(_ssh_key, {"pattern": "^(ssh-|ecdsa-|sk-)"})]
