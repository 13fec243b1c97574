"""One row per option: everything pxrun knows about a container option, in one place.

A row ties a spec field (its dotted path; `*` stands for a slot such as net0) to the Proxmox
config key behind it and says how a change is carried out (`ChangeKind`, from reference
A3.2 and DESIGN §6), who may write it (`root_only`, reference A6), how the spec value prints
as the canonical text Proxmox stores (`printer`) and reads back (`parser`), what an absent
key means (`default`, and `absent` for the parts of a property string), the one spelling
compared (`canonical`), and whether the cluster holds the field at all (`spec_only`).

Adding an option is adding one row here plus its spec model field; a test proves every
spec field has a row and that printing then parsing round-trips every row. Every consumer
derives from this table (`config.py`): the planner's policy lookups and printers, observe's
parser and default tables, the root@pam-only checks of plan and doctor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from types import MappingProxyType
from typing import Any

from pxrun.pve import access, rawlxc
from pxrun.pve.marker import normalize_notes, split_description, stack_tag
from pxrun.pve.parts import (
    parse_device,
    parse_features,
    parse_flag,
    parse_mount,
    parse_network,
    parse_rootfs,
    parse_startup_spec,
    print_device,
    print_features,
    print_mount,
    print_network,
    print_rootfs,
    print_startup_spec,
)
from pxrun.pve.values import normalize_tags, parse_tags, split_list
from pxrun.spec.model import Container, Features, IdMap, RootFs


class ChangeKind(StrEnum):
    """How a change of the field is carried out."""

    LIVE = "live"  # PUT config; a running container applies it at once
    PENDING = "pending"  # PUT config; a running container holds it until restarted
    RESIZE = "resize"  # grow a volume online; a shrink replaces (rootfs) or is an error
    MOUNT = "mount"  # mp slot: add = hot-add, remove = detach, size/storage/options by kind
    DEVICE = "device"  # dev slot: PUT config, pending on a running container
    MIGRATE = "migrate"  # node: migrate (restart mode)
    MOVE_VOLUME = "move_volume"  # storage of rootfs: move_volume with the container stopped
    POOL = "pool"  # pool membership (not a config key)
    POWER = "power"  # desired power state
    PROVISION = "provision"  # re-run changed provisioning steps inside the container
    RAW = "raw"  # raw lxc.* lines: the config file, edited as root over node SSH; restart
    HA = "ha"  # the container's HA resource (`/cluster/ha/resources`), not a config key
    REPLACE = "replace"  # cannot change in place: delete-then-create
    NOT_COMPARED = "not-compared"  # no cluster-side value (identity, lifecycle, ordering)


@dataclass(frozen=True)
class Site:
    """What printing or parsing a value needs beyond the value: the stack (its ownership
    tag), the container's vmid (its own volumes), the node's CPU count (a config without
    `cores` may use them all), and for an existing container what is observed: a net PUT
    keeps the generated MAC, a volume PUT names the allocated volid, not `storage:GiB`."""

    stack: str = ""
    vmid: int = 0
    cpus: int | None = None
    have: Container | None = None
    volids: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


Printer = Callable[[Container, str, Site], str | None]
"""(container, config key, site) -> the canonical text to write; None: the spec leaves it."""
Parser = Callable[[str, Site], Any]
"""(config text, site) -> the spec value at the row's path (None: reads as absent)."""


@dataclass(frozen=True)
class Option:
    """One row: a spec field, the Proxmox option behind it, and everything about it.

    `key` is the config key (`net[n]` for a slot row: the slot's own key); several rows may
    read one key (`rootfs` holds storage, size and options), exactly one prints it.
    `default` is the spec value an absent key means (a callable gets the Site); `absent`
    does the same per part of a property string (`firewall` absent = false). `mask`
    narrows what is compared of an observed value the spec sets (raw lines Proxmox wrote
    itself count only when the spec names their key).
    """

    path: str
    kind: ChangeKind
    key: str | None = None
    printer: Printer | None = None
    parser: Parser | None = None
    default: Any = None
    absent: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    root_only: access.RootRule | None = None
    canonical: Callable[[Any], Any] | None = None
    spec_only: bool = False
    mask: Callable[[Any, Any], Any] | None = None  # (want, have) -> the part of have compared


# --- printers and parsers of the rows ---------------------------------------------------


def _text(path: str, to_text: Callable[[Any], str] = str) -> Printer:
    get = attrgetter(path)

    def printer(container: Container, key: str, site: Site) -> str | None:
        value = get(container)
        return None if value is None else to_text(value)

    return printer


def _read(convert: Callable[[str], Any]) -> Parser:
    return lambda text, site: convert(text)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _spaced(items: list[str]) -> str:
    return " ".join(items)


def _list_or_none(text: str) -> list[str] | None:
    return split_list(text) or None


def _empty_as_none(value: Any) -> Any:
    return value or None


def _print_tags(container: Container, key: str, site: Site) -> str:
    """The user's tags plus the stack's ownership tag, as Proxmox stores them."""
    return ";".join(normalize_tags([*(container.tags or []), stack_tag(site.stack)]))


def _parse_tags(text: str, site: Site) -> list[str]:
    own = stack_tag(site.stack) if site.stack else None
    return [t for t in parse_tags(text) if t != own]


def _print_env(env: dict[str, str]) -> str:
    return "\0".join(f"{k}={v}" for k, v in env.items())


def _parse_env(text: str) -> dict[str, str] | None:
    """`env` is a NUL-separated list of NAME=value."""
    pairs = (item.partition("=") for item in text.split("\0"))
    return {name: value for name, sep, value in pairs if sep} or None


def _print_root(container: Container, key: str, site: Site) -> str:
    fresh = f"{container.storage}:{container.resources.disk}"
    if site.have is None:  # a create allocates `storage:GiB`
        return print_rootfs(fresh, container.rootfs)
    return print_rootfs(site.volids.get("rootfs", fresh), container.rootfs,
                        f"{site.have.resources.disk}G")


def _print_net(container: Container, key: str, site: Site) -> str:
    old = site.have.networks.get(key) if site.have is not None else None
    return print_network(container.networks[key], hwaddr=old.hwaddr if old else None)


def _print_mount(container: Container, key: str, site: Site) -> str:
    mount = container.mounts[key]
    old = site.have.mounts.get(key) if site.have is not None else None
    if old is None:
        return print_mount(mount)
    size = None if old.size_gib is None else f"{old.size_gib}G"
    return print_mount(mount, volid=site.volids.get(key), size=size)


def _print_device(container: Container, key: str, site: Site) -> str:
    return print_device(container.devices[key])


def _print_raw(container: Container, key: str, site: Site) -> str | None:
    """Every raw line the config file is to hold (see `rawlxc.lines_to_write`)."""
    if container.lxc is None and container.idmap is None:
        return None
    return "\n".join(rawlxc.lines_to_write(container, site.have))


def _parse_idmap(text: str, site: Site) -> IdMap | None:
    return rawlxc.parse_idmap(rawlxc.lines_of(text))


K = ChangeKind
_FLAGS_OFF = MappingProxyType({f: False for f in Features.model_fields if f != "mount"})

OPTIONS: tuple[Option, ...] = (
    # identity and placement
    Option("name", K.NOT_COMPARED, spec_only=True),
    Option("hostname", K.LIVE, "hostname", _text("hostname"), _read(str),
           default=lambda site: f"CT{site.vmid}"),
    Option("vmid", K.REPLACE),
    Option("node", K.MIGRATE),
    Option("template", K.REPLACE),
    Option("image", K.REPLACE),  # recorded in the marker, as the template is
    Option("storage", K.MOVE_VOLUME, "rootfs",
           parser=lambda text, site: parse_rootfs(text).storage or None),
    Option("pool", K.POOL),
    Option("ha", K.HA, absent=MappingProxyType({"max_restart": 1, "max_relocate": 1,
                                                "failback": True})),
    Option("state", K.POWER),
    # resources: live on a running container (A3.2: cgroup values, fastplug cores)
    Option("resources.cores", K.LIVE, "cores", _text("resources.cores"), _read(int),
           default=lambda site: site.cpus or 1),
    Option("resources.cpulimit", K.LIVE, "cpulimit", _text("resources.cpulimit", _number),
           _read(float), default=0.0),
    Option("resources.cpuunits", K.LIVE, "cpuunits", _text("resources.cpuunits"),
           _read(int), default=100),
    Option("resources.memory", K.LIVE, "memory", _text("resources.memory"), _read(int),
           default=512),
    Option("resources.swap", K.LIVE, "swap", _text("resources.swap"), _read(int),
           default=512),
    Option("resources.disk", K.RESIZE, "rootfs",
           parser=lambda text, site: parse_rootfs(text).size_gib, default=4),
    # volumes and devices
    Option("rootfs", K.PENDING, "rootfs", _print_root,
           lambda text, site: parse_rootfs(text).options, default=RootFs(),
           absent=MappingProxyType({"quota": False, "replicate": True})),
    Option("networks.*", K.LIVE, "net[n]", _print_net, _read(parse_network),
           absent=MappingProxyType({"firewall": False, "link_down": False,
                                    "host_managed": False})),
    Option("mounts.*", K.MOUNT, "mp[n]", _print_mount,
           lambda text, site: parse_mount(text, site.vmid)[0],
           absent=MappingProxyType({"read_only": False, "backup": False, "quota": False,
                                    "replicate": True, "shared": False, "keepattrs": False}),
           root_only=access.bind_mount),
    Option("devices.*", K.DEVICE, "dev[n]", _print_device, _read(parse_device),
           absent=MappingProxyType({"deny_write": False}), root_only=access.device),
    Option("features", K.PENDING, "features", _text("features", print_features),
           _read(parse_features), default=Features(), absent=_FLAGS_OFF,
           root_only=access.features),
    Option("unprivileged", K.REPLACE, "unprivileged", _text("unprivileged", _flag),
           _read(parse_flag), default=False),
    # options applied live (A3.2 fastplug)
    Option("onboot", K.LIVE, "onboot", _text("onboot", _flag), _read(parse_flag),
           default=False),
    Option("startup", K.LIVE, "startup", _text("startup", print_startup_spec),
           _read(parse_startup_spec)),
    Option("tags", K.LIVE, "tags", _print_tags, _parse_tags, default=[],
           canonical=lambda tags: list(normalize_tags(tags))),
    Option("description", K.LIVE, "description", _text("description", normalize_notes),
           lambda text, site: split_description(text)[0], default="",
           canonical=normalize_notes),
    Option("protection", K.LIVE, "protection", _text("protection", _flag), _read(parse_flag),
           default=False),
    Option("hookscript", K.LIVE, "hookscript", _text("hookscript"), _read(str),
           root_only=access.hookscript),
    # raw lxc.* lines: only in the config file (rawlxc.py); both rows read them, lxc prints
    Option("lxc", K.RAW, rawlxc.RAW_KEY, _print_raw,
           lambda text, site: rawlxc.read_lines(text), mask=rawlxc.compared_lines),
    Option("idmap", K.RAW, rawlxc.RAW_KEY, parser=_parse_idmap, default=IdMap(),
           canonical=rawlxc.canonical_idmap),
    # pending until the next start
    Option("nameserver", K.PENDING, "nameserver", _text("nameserver", _spaced),
           _read(_list_or_none), canonical=_empty_as_none),
    Option("searchdomain", K.PENDING, "searchdomain", _text("searchdomain", _spaced),
           _read(_list_or_none), canonical=_empty_as_none),
    Option("timezone", K.PENDING, "timezone", _text("timezone"), _read(str)),
    Option("ostype", K.PENDING, "ostype", _text("ostype"), _read(str)),
    Option("console", K.PENDING, "console", _text("console", _flag), _read(parse_flag),
           default=True),
    Option("tty", K.PENDING, "tty", _text("tty"), _read(int), default=2),
    Option("cmode", K.PENDING, "cmode", _text("cmode"), _read(str), default="tty"),
    Option("entrypoint", K.PENDING, "entrypoint", _text("entrypoint"), _read(str),
           default="/sbin/init"),
    Option("env", K.PENDING, "env", lambda c, key, site: _print_env(c.env) if c.env else None,
           _read(_parse_env),
           canonical=_empty_as_none),
    Option("arch", K.REPLACE, "arch", _text("arch"), _read(str), default="amd64"),
    # inside the container (never a replace, peers.md #4) and pxrun's own settings
    Option("password", K.PROVISION, spec_only=True),
    Option("ssh_keys", K.PROVISION, spec_only=True),
    Option("provision", K.PROVISION, spec_only=True),
    Option("lifecycle", K.NOT_COMPARED, spec_only=True),
    Option("depends_on", K.NOT_COMPARED, spec_only=True),
)
