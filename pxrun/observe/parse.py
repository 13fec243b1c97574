"""A container's raw config (from `GET .../pending`) -> the spec's `Container`, current and future.

`GET /nodes/{node}/lxc/{vmid}/pending` is the one request per container: it lists every key
with its current `value`, its `pending` value and a `delete` flag, plus the `digest`. From it
we build two views — the config running now, and the config after the next restart (pending
applied) — and parse each into the spec's own model, so the planner compares model with model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pxrun.observe.normalize import PVE_DEFAULTS, canonical
from pxrun.pve.marker import Marker, split_description, stack_tag
from pxrun.pve.parts import (
    parse_device,
    parse_features,
    parse_flag,
    parse_mount,
    parse_network,
    parse_rootfs,
    parse_startup_spec,
)
from pxrun.pve.values import parse_tags, split_list
from pxrun.spec.model import Container, Resources

_VOLATILE = frozenset({"digest", "lxc"})


@dataclass(frozen=True)
class PendingConfig:
    """The two views of a config that `GET .../pending` describes.

    `current`: the active values. `future`: what the config will be once pending changes are
    applied (at the next start). `pending`: keys whose future differs from current (a pending
    value or a pending delete) — non-empty means the container needs a restart.
    """

    current: Mapping[str, str]
    future: Mapping[str, str]
    pending: frozenset[str]
    deleted: frozenset[str]
    digest: str | None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def merge_pending(items: Iterable[Mapping[str, Any]]) -> PendingConfig:
    """The `/pending` array -> PendingConfig (values as strings, volatile keys split off)."""
    current: dict[str, str] = {}
    future: dict[str, str] = {}
    pending: set[str] = set()
    deleted: set[str] = set()
    digest: str | None = None
    for item in items:
        key = str(item["key"])
        if key == "digest":
            digest = _text(item.get("value", "")) or None
            continue
        if key in _VOLATILE:
            continue
        if "value" in item and item["value"] is not None:
            current[key] = future[key] = _text(item["value"])
        if item.get("pending") is not None:
            future[key] = _text(item["pending"])
            pending.add(key)
        if item.get("delete"):
            future.pop(key, None)
            pending.add(key)
            deleted.add(key)
    return PendingConfig(current=current, future=future, pending=frozenset(pending),
                         deleted=frozenset(deleted), digest=digest)


def pending_from_config(config: Mapping[str, Any]) -> PendingConfig:
    """A `GET .../config?current=1` object (or a recorded fixture) as a PendingConfig."""
    return merge_pending({"key": k, "value": v} for k, v in config.items())


def read_marker(raw: Mapping[str, str]) -> Marker | None:
    """The ownership marker in a raw config's description, if any."""
    return split_description(raw.get("description"))[1]


@dataclass(frozen=True)
class ParsedConfig:
    """One view of a config as the spec's Container, and what the spec type cannot hold."""

    container: Container
    volids: Mapping[str, str]  # rootfs / mpN -> the allocated volid (for resize, move, PUT)
    unused: tuple[str, ...]  # volids of unusedN entries (detached volumes)
    lock: str | None
    is_template: bool


def parse_config(
    raw: Mapping[str, str],
    *,
    vmid: int,
    name: str,
    node: str,
    stack: str | None = None,
    running: bool = False,
    pool: str | None = None,
    cpus: int | None = None,
    template: str | None = None,
) -> ParsedConfig:
    """A raw config view -> ParsedConfig; pure.

    `name` is the container's name in the spec (from the marker), `stack` the stack whose tag
    is removed from the user's tags, `running` the live power state, `pool` the pool from
    /cluster/resources (pool membership is not in the config), `cpus` the node's CPU count
    (a config without `cores` may use them all), `template` what the marker recorded.
    """
    get = raw.get
    rootfs = parse_rootfs(raw["rootfs"]) if "rootfs" in raw else None
    volids: dict[str, str] = {"rootfs": rootfs.volid} if rootfs is not None else {}
    networks, mounts, devices, unused = {}, {}, {}, []
    for key in sorted(raw):
        if key.startswith("net") and key[3:].isdigit():
            networks[key] = parse_network(raw[key])
        elif key.startswith("mp") and key[2:].isdigit():
            mounts[key], volid = parse_mount(raw[key], vmid)
            if volid is not None:
                volids[key] = volid
        elif key.startswith("dev") and key[3:].isdigit():
            devices[key] = parse_device(raw[key])
        elif key.startswith("unused") and key[6:].isdigit():
            unused.append(raw[key].split(",", 1)[0])
    notes, _ = split_description(get("description"))
    own_tag = stack_tag(stack) if stack else None
    tags = [t for t in parse_tags(get("tags")) if t != own_tag]
    resources = Resources(
        cores=int(get("cores") or cpus or 1),
        cpulimit=float(raw["cpulimit"]) if "cpulimit" in raw else None,
        cpuunits=int(raw["cpuunits"]) if "cpuunits" in raw else None,
        memory=int(get("memory", PVE_DEFAULTS["memory"])),
        swap=int(get("swap", PVE_DEFAULTS["swap"])),
        disk=(rootfs.size_gib if rootfs is not None and rootfs.size_gib else
              PVE_DEFAULTS["disk"]),
    )
    fields: dict[str, Any] = {
        "name": name, "hostname": get("hostname") or f"CT{vmid}", "vmid": vmid, "node": node,
        "template": template, "resources": resources,
        "rootfs": rootfs.options if rootfs is not None else None,
        "networks": networks, "mounts": mounts, "devices": devices,
        "features": parse_features(get("features")),
        "state": "running" if running else "stopped",
        "startup": parse_startup_spec(get("startup")),
        "tags": tags, "description": notes, "pool": pool,
        "nameserver": split_list(get("nameserver")) or None,
        "searchdomain": split_list(get("searchdomain")) or None,
        "timezone": get("timezone"), "ostype": get("ostype"), "hookscript": get("hookscript"),
        "arch": get("arch"), "cmode": get("cmode"),
        "tty": int(raw["tty"]) if "tty" in raw else None,
        "env": _parse_env(get("env")),
        "unprivileged": parse_flag(get("unprivileged", PVE_DEFAULTS["unprivileged"])),
    }
    if rootfs is not None and rootfs.storage:
        fields["storage"] = rootfs.storage
    for flag in ("onboot", "protection", "console"):
        fields[flag] = parse_flag(raw[flag]) if flag in raw else None
    container = canonical(Container.model_validate(fields))
    return ParsedConfig(container=container, volids=volids, unused=tuple(unused),
                        lock=get("lock") or None, is_template=parse_flag(get("template", 0)))


def _parse_env(text: str | None) -> dict[str, str] | None:
    """`env` is a NUL-separated list of NAME=value."""
    if not text:
        return None
    env: dict[str, str] = {}
    for item in text.split("\0"):
        name, sep, value = item.partition("=")
        if sep:
            env[name] = value
    return env or None
