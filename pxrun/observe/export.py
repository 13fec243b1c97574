"""Existing containers back to spec entries: what `pxrun export` and `pxrun import` write.

Two halves, split as the rest of observe: `read_guests` fetches (one resources call, one
list per node holding a wanted container, one `/pending` per container, concurrently), and
`spec_entry` is pure: an observed `Container` -> the sparsest spec mapping that means that
container. "Sparse" is decided by the spec itself, not by a second table of defaults: a
field is left out when the spec without it still means the same container — the spec
model's own default (memory 1024, interface name eth<N>) or, for an option the spec leaves
to Proxmox, Proxmox's default from the option rows (`onboot` absent = off). So the entry
spells out only what differs from what a fresh container would get, and loading it gives
back exactly the observed container (tested: the next plan of an import is empty).

What Proxmox cannot tell back is left out: root password, ssh keys, provisioning, and the
template unless our marker recorded it. The writer marks those create-only (specs/0081).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from pxrun.connect.client import ProxmoxClient
from pxrun.errors import NotFoundError, PxrunError, UsageError
from pxrun.observe.assemble import live_status, parse_resources
from pxrun.observe.fetch import DEFAULT_WORKERS
from pxrun.observe.model import GuestRef
from pxrun.observe.parse import merge_pending, parse_config
from pxrun.pve.config import ABSENT, SPEC_ONLY
from pxrun.pve.marker import TAG_PREFIX, Marker, split_description
from pxrun.spec.model import Container

_NOT_WRITTEN = frozenset({"name", "node", "template", *SPEC_ONLY})
"""Not part of an entry: its key, placement (auto), the template (written apart, when
known) and what the cluster cannot hold."""


@dataclass(frozen=True)
class Found:
    """One existing container: where it is, what it is, and what (if anything) owns it."""

    guest: GuestRef
    container: Container  # its config with pending changes applied (what the plan compares)
    marker: Marker | None  # any pxrun marker in its description, of any stack

    @property
    def template(self) -> str | None:
        value = self.marker.extra.get("template") if self.marker is not None else None
        return value if isinstance(value, str) else None


def read_guests(client: ProxmoxClient, vmids: list[int], *,
                workers: int = DEFAULT_WORKERS) -> list[Found]:
    """The containers `vmids` as spec containers, in the order given. Raises NotFoundError
    for a vmid the cluster does not have, UsageError for a VM or a template, PxrunError for
    a container on a node that does not answer."""
    nodes, _, guests = parse_resources(client.get("cluster/resources"))
    wanted: list[GuestRef] = []
    for vmid in vmids:
        guest = guests.get(vmid)
        if guest is None:
            raise NotFoundError(f"there is no guest {vmid} on the cluster")
        if guest.type != "lxc" or guest.template:
            what = "a template" if guest.template else "a virtual machine"
            raise UsageError(f"{vmid} is {what}; pxrun manages LXC containers only")
        if guest.node not in nodes or not nodes[guest.node].online:
            raise PxrunError(f"container {vmid} is on node {guest.node}, which does not answer")
        wanted.append(guest)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="export") as pool:
        lists = [pool.submit(client.get, f"nodes/{n}/lxc")
                 for n in sorted({g.node for g in wanted})]
        answers = [pool.submit(client.get, f"nodes/{g.node}/lxc/{g.vmid}/pending")
                   for g in wanted]
        live: dict[int, str] = {}
        for future in lists:
            live.update(live_status(future.result()))
        return [_found(g, a.result(), live.get(g.vmid, g.status), nodes[g.node].maxcpu)
                for g, a in zip(wanted, answers, strict=True)]


def _found(guest: GuestRef, pending: Any, status: str, cpus: int) -> Found:
    view = merge_pending(pending)
    marker = split_description(view.future.get("description"))[1]
    template = marker.extra.get("template") if marker is not None else None
    try:
        parsed = parse_config(view.future, vmid=guest.vmid, name=f"ct{guest.vmid}",
                              node=guest.node, stack=marker.stack if marker else None,
                              running=status == "running", pool=guest.pool, cpus=cpus,
                              template=template if isinstance(template, str) else None)
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise PxrunError(f"container {guest.vmid}: its config cannot be read as a spec: "
                         f"{first}") from None
    return Found(guest=guest, container=parsed.container, marker=marker)


def spec_entry(container: Container, name: str) -> dict[str, Any]:
    """The sparsest spec entry (plain JSON data) that means `container` under `name`:
    loading `{name: entry}` gives back the same container, Proxmox's defaults filled in."""
    target = _comparable(container)
    entry = container.model_dump(mode="json", exclude=set(_NOT_WRITTEN), exclude_none=True)
    tags = [t for t in entry.pop("tags", []) if not t.startswith(TAG_PREFIX)]
    if tags:
        entry["tags"] = tags
    target["tags"] = tags
    for path in _paths(entry):
        trial = _without(entry, path)
        if trial is not None and _means(trial, name) == target:
            entry = trial
    return entry


def _means(entry: dict[str, Any], name: str) -> dict[str, Any] | None:
    try:
        return _comparable(Container.model_validate({**entry, "name": name}))
    except ValidationError:
        return None


def _comparable(container: Container) -> dict[str, Any]:
    """What a container means: its fields with Proxmox's default for every unset one."""
    filled = _fill(container)
    assert isinstance(filled, Container)
    return filled.model_dump(mode="json", exclude=set(_NOT_WRITTEN))


def _fill(model: BaseModel) -> BaseModel:
    absent = ABSENT.get(type(model), {})
    updates: dict[str, Any] = {}
    for field in type(model).model_fields:
        value = getattr(model, field)
        if value is None and field in absent:
            value = absent[field]
        if isinstance(value, BaseModel):
            value = _fill(value)
        elif isinstance(value, dict):
            value = {k: _fill(v) if isinstance(v, BaseModel) else v for k, v in value.items()}
        updates[field] = value
    return model.model_copy(update=updates)


def _paths(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of nested mappings, parents before their children."""
    out: list[tuple[str, ...]] = []
    for key, value in data.items():
        out.append((*prefix, key))
        if isinstance(value, dict):
            out.extend(_paths(value, (*prefix, key)))
    return out


def _without(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    """A copy of `data` without the key at `path`; None when the path is gone already."""
    head, rest = path[0], path[1:]
    if head not in data:
        return None
    if not rest:
        return {k: v for k, v in data.items() if k != head}
    inner = data[head]
    if not isinstance(inner, dict):
        return None
    smaller = _without(inner, rest)
    if smaller is None:
        return None
    return {**data, head: smaller}
