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

from pxrun.pve.config import canonical, read_config
from pxrun.pve.marker import Marker, split_description
from pxrun.pve.options import Site
from pxrun.pve.parts import parse_flag, parse_mount, parse_rootfs
from pxrun.pve.rawlxc import RAW_KEY, join_pairs
from pxrun.spec.model import Container, HaSettings

_VOLATILE = frozenset({"digest"})
OBSERVED = {"observed": True}  # validation context: a container as the cluster has it


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
        value = item.get("value")
        if key == RAW_KEY and isinstance(value, list):  # added from GET config (never pending)
            value = join_pairs(value)
        if value is not None:  # (most values are text already: no call for those)
            current[key] = future[key] = value if type(value) is str else _text(value)
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
    unused_slots: Mapping[str, str]  # unusedN -> volid (a replace hands them over by key)
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
    image: str | None = None,
    ha: HaSettings | None = None,
) -> ParsedConfig:
    """A raw config view -> ParsedConfig; pure. The options are read by their rows
    (`pxrun.pve.config.read_config`); this adds what the config does not say.

    `name` is the container's name in the spec (from the marker), `stack` the stack whose tag
    is removed from the user's tags, `running` the live power state, `pool` the pool from
    /cluster/resources (pool membership is not in the config), `cpus` the node's CPU count
    (a config without `cores` may use them all), `template` and `image` what the marker
    recorded, `ha` the container's HA resource (`/cluster/ha/resources`).
    The spec's rules between fields (ha.state against the power state) are not applied:
    an observed container is what it is.
    """
    fields = read_config(raw, Site(stack=stack or "", vmid=vmid, cpus=cpus))
    fields.update(name=name, vmid=vmid, node=node, template=template, pool=pool,
                  state="running" if running else "stopped", image=image, ha=ha)
    container = canonical(Container.model_validate(fields, context=OBSERVED))
    volids: dict[str, str] = {}
    unused: list[str] = []
    unused_slots: dict[str, str] = {}
    for key in sorted(raw):
        if key == "rootfs":
            volids[key] = parse_rootfs(raw[key]).volid
        elif key.startswith("mp") and key[2:].isdigit():
            volid = parse_mount(raw[key], vmid)[1]
            if volid is not None:
                volids[key] = volid
        elif key.startswith("unused") and key[6:].isdigit():
            unused.append(raw[key].split(",", 1)[0])
            unused_slots[key] = unused[-1]
    return ParsedConfig(container=container, volids=volids, unused=tuple(unused),
                        lock=raw.get("lock") or None, unused_slots=unused_slots,
                        is_template=parse_flag(raw.get("template", 0)))
