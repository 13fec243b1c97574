"""What the rows of `options.py` add up to: lookups, whole configs, defaults, root-only.

Nothing in here knows an individual option; each function walks the table. The planner
looks changes up (`option_for`, `key_for`) and prints what it will write (`print_key`,
`create_params`); observe reads a raw config into the spec's fields (`read_config`); the
comparison fills absent values with Proxmox's defaults (`ABSENT`) and skips what the
cluster cannot hold (`SPEC_ONLY`); plan and doctor ask who may write a key (`root_needs`).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from pxrun.pve.access import RootNeed, RootRule
from pxrun.pve.options import OPTIONS, ChangeKind, Option, Site
from pxrun.spec.model import Container, Stack

_BY_PATH: dict[str, Option] = {row.path: row for row in OPTIONS}
SLOT_MAPS = frozenset(row.path[:-2] for row in OPTIONS if row.path.endswith(".*"))
"""Spec maps keyed by slot (`networks`, `mounts`, `devices`): their keys are Proxmox keys."""
_SLOT_ROWS: dict[str, Option] = {row.key[:-3]: row for row in OPTIONS
                                 if row.key is not None and row.key.endswith("[n]")}
_PRINTERS: dict[str, Option] = {row.key: row for row in OPTIONS if row.printer is not None
                                and row.key is not None and not row.key.endswith("[n]")}
_CREATE_PRINTERS = tuple((key, row.printer) for key, row in _PRINTERS.items()
                         if row.kind is not ChangeKind.RAW and row.printer is not None)
"""What a create prints, key by key (raw lines are no API parameter: `raw_lines`)."""
_RAW_PRINTERS = tuple((key, row.printer) for key, row in _PRINTERS.items()
                      if row.kind is ChangeKind.RAW and row.printer is not None)
_SLOT_PRINTERS = tuple((row.path[:-2], row.printer) for row in _SLOT_ROWS.values()
                       if row.printer is not None)
SPEC_ONLY = frozenset(row.path for row in OPTIONS if row.spec_only)
"""Fields the cluster does not hold: compared as the spec says, never shown in views."""


def option_for(path: str) -> Option:
    """The row governing a dotted path: `networks.net0.ip` -> the `networks.*` row,
    `features.nesting` -> `features`. KeyError names a field that has no row (a test
    keeps every spec field covered)."""
    parts = path.split(".")
    if parts[0] in SLOT_MAPS and len(parts) > 1:
        parts[1] = "*"
    for end in range(len(parts), 0, -1):
        row = _BY_PATH.get(".".join(parts[:end]))
        if row is not None:
            return row
    raise KeyError(f"no option row for {path!r}")


def slot_of(path: str) -> str | None:
    """`networks.net1.ip` -> `net1`; None for a path outside the slot maps."""
    parts = path.split(".")
    return parts[1] if parts[0] in SLOT_MAPS and len(parts) > 1 else None


def key_for(path: str) -> str | None:
    """The Proxmox config key a change at `path` is written to, if any."""
    row = option_for(path)
    if row.key is not None and row.key.endswith("[n]"):
        return slot_of(path)
    return row.key


def _printing_row(key: str) -> Option | None:
    prefix = key.rstrip("0123456789")
    if prefix != key and prefix in _SLOT_ROWS:
        return _SLOT_ROWS[prefix]
    return _PRINTERS.get(key)


def print_key(key: str, want: Container, site: Site) -> str | None:
    """The canonical text to write for config `key`; None when the spec leaves it unset."""
    row = _printing_row(key)
    if row is None or row.printer is None:
        raise KeyError(f"no printer for config key {key!r}")
    return row.printer(want, key, site)


def create_params(want: Container, site: Site) -> dict[str, str]:
    """Parameters of `POST /nodes/{node}/lxc` for a new container, in key order (no vmid,
    node or template: the create operation holds those)."""
    params: dict[str, str] = {}
    for key, printer in _CREATE_PRINTERS:
        value = printer(want, key, site)
        if value is not None:
            params[key] = value
    for field, printer in _SLOT_PRINTERS:
        for slot in getattr(want, field):
            params[slot] = printer(want, slot, site) or ""
    if want.pool is not None:  # no config key, but the create call takes it
        params["pool"] = want.pool
    return dict(sorted(params.items()))


@lru_cache(maxsize=1024)
def _root_rule(key: str) -> RootRule | None:
    row = _printing_row(key)
    return row.root_only if row is not None else None


def root_needs(key: str, want: Container | None, have: Container | None) -> list[RootNeed]:
    """Why writing config `key` (setting or deleting it) needs root@pam; empty: a token
    may. `have` is the observed container, None for a create."""
    rule = _root_rule(key)  # asked for every key a plan writes: memoised per key name
    return [] if rule is None else rule(key, want, have)


def root_only_options(stack: Stack) -> list[str]:
    """`container: path (what)` for every option of `stack` that only root@pam may set
    when the container is created: what `pxrun doctor` warns about."""
    found: list[str] = []
    for name, ct in sorted(stack.containers.items()):
        for key in create_params(ct, Site(stack=stack.stack)):
            found += [f"{name}: {need.path} ({need.what})" for need in root_needs(key, ct, None)]
        for path in [r.path for r in OPTIONS if r.kind is ChangeKind.RAW
                     and getattr(ct, r.path) is not None]:  # the config file itself
            found.append(f"{name}: {path} (raw lxc lines: the config file, over node SSH)")
    return found


# --- reading a raw config ----------------------------------------------------------------


def _models(tp: Any) -> list[type[BaseModel]]:
    """The spec models an annotation holds (through Optional, Annotated and dict values)."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _models(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(tp) for m in _models(arg)]
    if origin is dict:
        return _models(get_args(tp)[1])
    return [tp] if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _model_at(parts: list[str]) -> type[BaseModel]:
    model: type[BaseModel] = Container
    for part in parts:
        if part != "*":
            model = _models(model.model_fields[part].annotation)[0]
    return model


def _spec_fills(path: str) -> bool:
    """Whether the spec model would invent a value of its own for an absent field (memory
    1024 where Proxmox means 512): then an absent key must read as Proxmox's default."""
    parts = path.split(".")
    info = _model_at(parts[:-1]).model_fields[parts[-1]]
    return info.is_required() or info.default is not None


_SCALAR_READERS = tuple(row for row in OPTIONS if row.parser is not None
                        and row.key is not None and not row.key.endswith("[n]"))
_FILLED = frozenset(row.path for row in _SCALAR_READERS
                    if row.default is not None and _spec_fills(row.path))
_READ_PLAN = tuple((row.key, row.parser, tuple(row.path.split(".")[:-1]),
                    row.path.rsplit(".", 1)[-1], row.path in _FILLED, row.default)
                   for row in _SCALAR_READERS
                   if row.key is not None and row.parser is not None)
"""Per scalar row, what `read_config` needs, worked out once: key, parser, the path's
parents and last part, and whether an absent key reads as the row's default. Reading is
done once per observed container (500 per plan), so the table walk is kept lean."""


def read_config(raw: Mapping[str, str], site: Site) -> dict[str, Any]:
    """A raw config view -> the spec fields its keys hold, as nested plain data for the
    `Container` model. A key that is absent reads as nothing, except where the spec model
    would invent its own value (then as Proxmox's default). Raises ValueError for text
    Proxmox would not have stored."""
    out: dict[str, Any] = {}
    for key, parser, parents, last, filled, default in _READ_PLAN:
        text = raw.get(key)
        value = parser(text, site) if text is not None else None
        if value is None and filled:
            value = default(site) if callable(default) else default
        if value is not None:
            where = out
            for part in parents:
                where = where.setdefault(part, {})
            where[last] = value
    for key in sorted(raw):
        prefix = key.rstrip("0123456789")
        slot_row = _SLOT_ROWS.get(prefix) if prefix != key else None
        if slot_row is not None and slot_row.parser is not None:
            out.setdefault(slot_row.path[:-2], {})[key] = slot_row.parser(raw[key], site)
    return out


# --- comparing ---------------------------------------------------------------------------


def _absent_table() -> dict[type[BaseModel], dict[str, Any]]:
    table: dict[type[BaseModel], dict[str, Any]] = {}
    for row in OPTIONS:
        parts = row.path.split(".")
        if row.default is not None and not callable(row.default) and "*" not in parts:
            table.setdefault(_model_at(parts[:-1]), {})[parts[-1]] = row.default
        if row.absent:
            table.setdefault(_model_at(parts), {}).update(row.absent)
    return table


ABSENT: dict[type[BaseModel], dict[str, Any]] = _absent_table()
"""Per spec model: field -> the value an absent Proxmox key means (`onboot` -> False)."""
MASKS: dict[type[BaseModel], dict[str, Any]] = {}
"""Per spec model: field -> (want, have) -> what of the observed value is compared."""
for _row in OPTIONS:
    if _row.mask is not None:
        _parts = _row.path.split(".")
        MASKS.setdefault(_model_at(_parts[:-1]), {})[_parts[-1]] = _row.mask


def raw_lines(want: Container, site: Site) -> list[str] | None:
    """The raw `lxc.*` lines the container's config file is to hold (None: the spec
    manages none), printed by the rows of kind RAW; no API call can write them."""
    for key, printer in _RAW_PRINTERS:
        text = printer(want, key, site)
        return None if text is None else [line for line in text.split("\n") if line]
    return None
_CANONICAL = tuple((row.path, row.canonical) for row in OPTIONS if row.canonical is not None)


def canonical(container: Container) -> Container:
    """One spelling per meaning (tags as a sorted lower-case set, notes without trailing
    blank lines, empty lists as unset); applied to desired and observed alike. Pure."""
    updates: dict[str, Any] = {}
    for name, spell in _CANONICAL:
        value = getattr(container, name)
        if value is not None:
            spelled = spell(value)
            if spelled != value:
                updates[name] = spelled
    return container.model_copy(update=updates) if updates else container
