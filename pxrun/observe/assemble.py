"""Raw API answers -> the observe model. Pure: the fetcher hands in what it got.

Split from the fetcher as pyinfra splits facts: a fetch (thin, concurrent, in `fetch.py`)
and a parse tested with recorded responses (`tests/observe/fixtures/cluster/`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from pxrun.observe.model import (
    BridgeInfo,
    CatalogEntry,
    GuestRef,
    NodeInfo,
    ObservedContainer,
    PowerState,
    Problem,
    Recreated,
    StorageInfo,
    TemplateInfo,
)
from pxrun.observe.parse import merge_pending, parse_config
from pxrun.pve.marker import RECREATES, split_description, stack_of_tag
from pxrun.pve.propstr import PropertyStringError
from pxrun.pve.values import parse_bool, parse_tags, split_list
from pxrun.spec.model import HaSettings

_NODE_STATUS = {"online", "offline", "unknown"}


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _tags(text: Any) -> tuple[str, ...]:
    try:
        return parse_tags(str(text)) if text else ()
    except ValueError:
        return tuple(sorted({t.lower() for t in split_list(str(text))}))


def parse_resources(
    items: Iterable[Mapping[str, Any]],
) -> tuple[dict[str, NodeInfo], tuple[StorageInfo, ...], dict[int, GuestRef]]:
    """`GET /cluster/resources` (no type filter) -> nodes, storages and every guest."""
    nodes: dict[str, dict[str, Any]] = {}
    storages: list[StorageInfo] = []
    guests: dict[int, GuestRef] = {}
    for item in items:
        kind = item.get("type")
        if kind == "node":
            status = str(item.get("status", "unknown"))
            nodes[str(item["node"])] = {
                "name": str(item["node"]),
                "status": status if status in _NODE_STATUS else "unknown",
                "cpu": float(item.get("cpu") or 0.0), "maxcpu": _int(item.get("maxcpu")),
                "mem_total": _int(item.get("maxmem")), "mem_used": _int(item.get("mem")),
            }
        elif kind == "storage":
            total, used = _int(item.get("maxdisk")), _int(item.get("disk"))
            storages.append(StorageInfo(
                node=str(item.get("node", "")), storage=str(item.get("storage", "")),
                type=str(item.get("plugintype", "")),
                content=frozenset(split_list(str(item.get("content", "")))),
                shared=parse_bool(item.get("shared") or 0),
                active=item.get("status", "available") == "available",
                total=total, used=used, avail=max(total - used, 0)))
        elif kind in ("lxc", "qemu") and item.get("vmid") is not None:
            tags = _tags(item.get("tags"))
            stacks = [s for s in map(stack_of_tag, tags) if s]
            guest = GuestRef(
                vmid=int(item["vmid"]), node=str(item.get("node", "")), type=kind,
                name=str(item.get("name") or ""), status=str(item.get("status") or "unknown"),
                tags=tags, template=bool(_int(item.get("template"))),
                lock=item.get("lock") or None, pool=item.get("pool") or None,
                maxcpu=float(item.get("maxcpu") or 0), maxmem=_int(item.get("maxmem")),
                maxdisk=_int(item.get("maxdisk")), stack=stacks[0] if len(stacks) == 1 else None,
                hastate=str(item["hastate"]) if item.get("hastate") else None)
            guests[guest.vmid] = guest
    for guest in guests.values():
        if guest.node in nodes:
            nodes[guest.node]["guests"] = nodes[guest.node].get("guests", 0) + 1
            if guest.type == "lxc":
                nodes[guest.node]["containers"] = nodes[guest.node].get("containers", 0) + 1
    node_infos = {name: NodeInfo(**data) for name, data in sorted(nodes.items())}
    return node_infos, tuple(storages), dict(sorted(guests.items()))


def parse_bridges(node: str, items: Iterable[Mapping[str, Any]]) -> tuple[BridgeInfo, ...]:
    """`GET /nodes/{node}/network?type=any_bridge` -> bridges."""
    return tuple(
        BridgeInfo(node=node, iface=str(item["iface"]),
                   vlan_aware=bool(_int(item.get("bridge_vlan_aware"))),
                   active=bool(_int(item.get("active", 1))))
        for item in items if "bridge" in str(item.get("type", "")).lower())


def parse_templates(nodes: Iterable[str], storage: str,
                    items: Iterable[Mapping[str, Any]]) -> tuple[TemplateInfo, ...]:
    """`GET .../storage/{storage}/content?content=vztmpl` -> templates, on every node given
    (a shared storage is listed once and holds the same files for every node)."""
    volids = [(str(i["volid"]), _int(i.get("size"))) for i in items
              if i.get("content", "vztmpl") == "vztmpl" and "volid" in i]
    return tuple(TemplateInfo(node=node, storage=storage, volid=volid, size=size)
                 for node in nodes for volid, size in volids)


def parse_catalog(node: str, items: Iterable[Mapping[str, Any]]) -> tuple[CatalogEntry, ...]:
    """`GET /nodes/{node}/aplinfo` -> the LXC templates that node can download by name.

    Only `type: lxc` appliances count (the catalog also lists other kinds); the planner
    resolves a shorthand to the newest entry when no node holds a matching template yet.
    """
    return tuple(CatalogEntry(node=node, template=str(i["template"]),
                              section=str(i.get("section", "system")))
                 for i in items if i.get("template") and i.get("type", "lxc") == "lxc")


def live_status(items: Iterable[Mapping[str, Any]]) -> dict[int, PowerState]:
    """`GET /nodes/{node}/lxc` -> vmid -> running/stopped (authoritative; resources lag)."""
    out: dict[int, PowerState] = {}
    for item in items:
        status = item.get("status")
        out[int(item["vmid"])] = status if status in ("running", "stopped") else "unknown"
    return out


def build_container(stack: str, guest: GuestRef, pending: Iterable[Mapping[str, Any]],
                    status: PowerState, *, cpus: int | None = None, tagged: bool = True,
                    ha: HaSettings | None = None) -> ObservedContainer | Problem:
    """One `/pending` answer -> ObservedContainer, or a Problem saying why it is not ours.

    Our marker claims it: `marked`, named by the marker. No marker at all (the GUI's Notes
    replaced the description, or a container to adopt): a *stray*, `marked=False`, named
    `ct<vmid>` until the planner recognises it (specs/0081). Another stack's marker: a
    Problem, left alone. `tagged` says whether it carries the stack's tag (it may have been
    found by its hostname instead).
    """
    view = merge_pending(pending)
    notes_marker = split_description(view.current.get("description"))[1]
    where = {"vmid": guest.vmid, "node": guest.node}
    if notes_marker is not None and notes_marker.stack != stack:
        return Problem(**where, message=f"tagged pxrun-{stack} but its marker names stack "
                                        f"{notes_marker.stack!r}; pxrun leaves it alone"
                       if tagged else f"its marker names stack {notes_marker.stack!r}")
    name = notes_marker.name if notes_marker is not None else f"ct{guest.vmid}"
    extra = notes_marker.extra if notes_marker is not None else {}
    template, image, digest = (extra.get(k) for k in ("template", "image", "image_digest"))
    kwargs: dict[str, Any] = {
        "vmid": guest.vmid, "name": name, "node": guest.node, "stack": stack,
        "running": status == "running", "pool": guest.pool, "cpus": cpus,
        "template": template if isinstance(template, str) else None,
        "image": image if isinstance(image, str) else None, "ha": ha,
    }
    try:
        current = parse_config(view.current, **kwargs)
        future = parse_config(view.future, **kwargs) if view.pending else current
    except (ValidationError, PropertyStringError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        return Problem(**where, name=notes_marker.name if notes_marker else None,
                       message=f"its config cannot be read as a spec: {first}")
    return ObservedContainer(
        recreates=_recreated(notes_marker.extra.get(RECREATES)) if notes_marker else None,
        name=name, vmid=guest.vmid, node=guest.node, status=status,
        digest=view.digest, current=current.container, future=future.container,
        pending=view.pending, volids=dict(current.volids), unused=current.unused,
        unused_slots=dict(current.unused_slots),
        lock=current.lock, fingerprint=notes_marker.fingerprint if notes_marker else None,
        tainted=notes_marker.tainted if notes_marker else False,
        taint_step=notes_marker.taint_step if notes_marker else "",
        taint_log=notes_marker.taint_log if notes_marker else "",
        tailnet=notes_marker.tailnet if notes_marker else None,
        tagged=tagged, marked=notes_marker is not None,
        image_digest=digest if isinstance(digest, str) else None)


def _recreated(value: Any) -> Recreated | None:
    """The marker's `recreates` record; None when absent or not one (a hand-edited marker
    must not make a container look like the live copy of another)."""
    try:
        return Recreated.model_validate(value) if isinstance(value, dict) else None
    except ValidationError:
        return None
