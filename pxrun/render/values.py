"""How values of a plan read: JSON values as short literals, nested views as dotted leaves.

Why flatten: a reviewer scans `networks.net1.ip = "10.0.0.5/24"` faster than a nested
block, and the dotted path is the same one `lifecycle.ignore_changes` takes, so what the
plan shows can be pasted into the spec.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pxrun.render import wording as w

Op = Literal["add", "change", "remove"]


@dataclass(frozen=True)
class Line:
    """One field line of a block: `op path = old → new`, values already formatted."""

    op: Op
    path: str
    old: str
    new: str
    effect: str | None = None


def literal(value: Any) -> str:
    """A JSON value as it reads in a plan: strings quoted, secrets as (sensitive)."""
    if value in (w.SENSITIVE, w.KNOWN_AFTER_APPLY):
        return str(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {literal(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)


def leaf_lines(op: str, path: str, old: Any, new: Any, effect: str | None) -> Iterator[Line]:
    """The lines of one field diff, nested mappings opened into dotted leaves.

    A create's whole `after` view is an `add` at the root path "". Unset (None) leaves of an
    added or removed mapping are left out: they mean "not managed", not null.
    """
    if op == "change" and isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            sub = _join(path, key)
            if key not in new:
                yield from _leaves("remove", sub, old[key], effect)
            elif key not in old:
                yield from _leaves("add", sub, new[key], effect)
            elif old[key] != new[key]:
                yield from leaf_lines("change", sub, old[key], new[key], effect)
        return
    if op == "change":
        yield Line("change", path, literal(old), literal(new), effect)
    elif op == "add":
        yield from _leaves("add", path, new, effect)
    else:
        yield from _leaves("remove", path, old, effect)


def _leaves(op: Op, path: str, value: Any, effect: str | None) -> Iterator[Line]:
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            if sub is not None and sub != {}:
                yield from _leaves(op, _join(path, key), sub, effect)
        return
    text = literal(value)
    yield Line(op, path, text if op == "remove" else "", text if op == "add" else "", effect)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)
