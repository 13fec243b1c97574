"""The spec reference (`docs/spec-reference.md`), generated from the models and the option rows.

Why generated: a hand-written reference drifts from the code the day after it is written.
Every key of a spec file is listed with its type and limits (from the model annotations and
their `Check` rules), its default, its meaning (the field's docstring), and — for container
fields — the Proxmox config key behind it and how a change is carried out (the row of
`options.py`). `pxrun schema --write` writes it beside the JSON Schema; `pxrun schema
--check` (run in CI) fails when it is stale. Pure: text in, text out.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from pxrun.pve.config import SLOT_MAPS, option_for
from pxrun.pve.options import ChangeKind

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "spec-reference.md"

_SCALARS = {int: "integer", float: "number", str: "string", bool: "boolean"}
_KINDS = {
    ChangeKind.LIVE: "in place, live",
    ChangeKind.PENDING: "in place; a running container restarts (restart policy)",
    ChangeKind.RESIZE: "grows online (`resize`); a shrink replaces",
    ChangeKind.MOUNT: "hot-add / detach; options as their kind",
    ChangeKind.DEVICE: "in place; a running container restarts",
    ChangeKind.MIGRATE: "`migrate` (restart mode)",
    ChangeKind.MOVE_VOLUME: "`move_volume` (container stopped)",
    ChangeKind.POOL: "pool membership",
    ChangeKind.POWER: "start / shutdown",
    ChangeKind.PROVISION: "re-runs provisioning",
    ChangeKind.RAW: "config file over node SSH (root); a running container restarts",
    ChangeKind.HA: "HA resource (`/cluster/ha/resources`), in place",
    ChangeKind.REPLACE: "replace (delete, then create)",
    ChangeKind.NOT_COMPARED: "not compared",
}
HEADER = """\
# Spec reference

Generated from the spec models and pxrun's option table by `pxrun schema --write`; CI
fails when it is stale (`pxrun schema --check`). Do not edit by hand.

Every value may also be a Jinja2 expression (`"{{ vars.x }}"`), rendered before validation.
*Proxmox key* is the container config key a field is written to (`net[n]`: the slot's own
key, e.g. `net0`); *on change* is how `apply` carries out a change of the field.
"""


def render_reference() -> str:
    """The exact text of docs/spec-reference.md."""
    from pxrun.spec.model import Container, ContainerEntry, StackFile

    out = [HEADER]
    out += _section("Stack file", StackFile, "", container=False, skip={"defaults",
                                                                         "containers"})
    out.append("`defaults:` takes every container key below (except `count`); it is "
               "deep-merged under each container (maps merge, lists replace).\n")
    out += _section("Containers (`containers.<name>`)", Container, "", container=True,
                    skip={"name"})
    count = ContainerEntry.model_fields["count"]
    out.append(f"`count` ({_type(_annotation(count))}): {_doc(count.description)}\n")
    return "\n".join(out)


def stale_reason(path: Path | None = None) -> str | None:
    """Why the checked-in reference at `path` (DOC_PATH) differs from the models, or None
    when fresh."""
    path = path or DOC_PATH
    if not path.is_file():
        return f"{path} does not exist"
    if path.read_text(encoding="utf-8") != render_reference():
        return f"{path} is stale"
    return None


def _section(title: str, model: type[BaseModel], prefix: str, *, container: bool,
             skip: frozenset[str] | set[str] = frozenset()) -> list[str]:
    head = "| key | type | default | Proxmox key | on change | meaning |" if container else \
        "| key | type | default | meaning |"
    rule = "|---|---|---|---|---|---|" if container else "|---|---|---|---|"
    rows = [f"## {title}\n", head, rule]
    for path, annotation, default, doc in _fields(model, prefix, skip):
        cells = [f"`{path}`", _type(annotation), default]
        if container:
            cells += _row_cells(path)
        cells.append(_doc(doc))
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return [*rows, ""]


def _fields(model: type[BaseModel], prefix: str, skip: frozenset[str] | set[str] = frozenset(),
            ) -> Iterator[tuple[str, Any, str, str | None]]:
    """(dotted path, annotation, default text, docstring) of every field, depth first."""
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        key = info.alias or name
        path = f"{prefix}{key}"
        yield path, _annotation(info), _default(info), info.description
        for alt in _alternatives(info.annotation):
            inner, suffix = _nested(alt, path)
            if inner is not None:
                yield from _fields(inner, suffix)


def _annotation(info: Any) -> Any:
    """A field's type with the rules pydantic moved out of it (`Check` limits) put back."""
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def _nested(tp: Any, path: str) -> tuple[type[BaseModel] | None, str]:
    """The model a field leads into, and the path prefix of its keys."""
    origin = get_origin(tp)
    if _is_model(tp):
        return tp, f"{path}."
    if origin is list:
        item = next((a for a in _alternatives(get_args(tp)[0]) if _is_model(a)), None)
        return item, f"{path}[]."
    if origin is dict and path in SLOT_MAPS:
        value = next((a for a in _alternatives(get_args(tp)[1]) if _is_model(a)), None)
        slot = option_for(f"{path}.x").key or "slot[n]"
        return value, f"{path}.{slot.replace('[n]', 'N')}."
    return None, ""


def _row_cells(path: str) -> list[str]:
    try:
        row = option_for(_row_path(path))
    except KeyError:
        return ["—", "—"]
    key = f"`{row.key}`" if row.key else "—"
    if row.root_only is not None:
        key += " (some values root@pam only)"
    return [key, _KINDS[row.kind]]


def _row_path(path: str) -> str:
    """`networks.netN.ip` -> `networks.net0.ip` (a slot for the lookup); lists dropped."""
    parts = [p.removesuffix("[]") for p in path.split(".")]
    if parts[0] in SLOT_MAPS and len(parts) > 1:
        parts[1] = "x0"
    return ".".join(parts)


def _type(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Annotated:
        base, *meta = get_args(tp)
        limits = [_limits(getattr(m, "schema", {})) for m in meta]
        text = _type(base)
        extra = ", ".join(x for x in limits if x)
        return f"{text} ({extra})" if extra else text
    if origin is Union or origin is types.UnionType:
        return " or ".join(_type(a) for a in get_args(tp) if a is not type(None))
    if origin is Literal:
        return " | ".join(f"`{json.dumps(a)}`" for a in get_args(tp))
    if origin is list:
        return f"list of {_type(get_args(tp)[0])}"
    if origin is dict:
        return f"map of {_type(get_args(tp)[1])}"
    if _is_model(tp):
        return "mapping"
    if tp is Any:
        return "any"
    return _SCALARS.get(tp, getattr(tp, "__name__", str(tp)).lower().replace("secretstr",
                                                                             "string (secret)"))


def _limits(schema: dict[str, Any]) -> str:
    low, high, longest = schema.get("minimum"), schema.get("maximum"), schema.get("maxLength")
    parts = []
    if low is not None and high is not None:
        parts.append(f"{_num(low)} to {_num(high)}")
    elif low is not None:
        parts.append(f"≥ {_num(low)}")
    elif high is not None:
        parts.append(f"≤ {_num(high)}")
    if longest:
        parts.append(f"≤ {longest} characters")
    return ", ".join(parts)


def _num(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else str(value)


def _default(info: Any) -> str:
    if info.default_factory is not None:
        value = info.default_factory()
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "see below" if value.model_dump(exclude_none=True) else "unset"
    return f"`{json.dumps(value)}`"


def _doc(text: str | None) -> str:
    return " ".join((text or "").split())


def _alternatives(tp: Any) -> list[Any]:
    origin = get_origin(tp)
    if origin is Annotated:
        return _alternatives(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [alt for arg in get_args(tp) if arg is not type(None)
                for alt in _alternatives(arg)]
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)
