"""Walk the spec models by key path: valid keys at a place, closest-key suggestions.

Why: pydantic reports an unknown key as `extra_forbidden` at a location tuple. The loader
turns that into "unknown key 'memroy' (did you mean 'memory'?)" by asking which keys are
valid at the parent location. `Lifecycle.ignore_changes` uses the same walk to reject a
path that names no field.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


def _unwrap(tp: Any) -> list[Any]:
    """The concrete alternatives of an annotation: Annotated and Optional peeled off."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _unwrap(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [alt for arg in get_args(tp) if arg is not type(None) for alt in _unwrap(arg)]
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _step(candidates: list[Any], key: str | int) -> tuple[list[Any], bool]:
    """Follow one location segment; returns (next candidates, whether it was consumed)."""
    if isinstance(key, str) and "[" in key:
        return candidates, False  # a pydantic tag: 'function-after[...]', '[key]', 'list[int]'
    models = [tp for tp in candidates if _is_model(tp)]
    if isinstance(key, str):
        # pydantic puts a union member's class name into the location: pick that member
        named = [tp for tp in models if tp.__name__ == key]
        if named:
            return named, True
        found = [_field(tp, key) for tp in models]
        if any(f is not None for f in found):
            return [alt for f in found if f is not None for alt in _unwrap(f)], True
    following: list[Any] = []
    for tp in candidates:
        origin = get_origin(tp)
        if origin is dict and isinstance(key, str):
            following.extend(_unwrap(get_args(tp)[1]))
        elif origin in (list, tuple) and isinstance(key, int):
            following.extend(_unwrap(get_args(tp)[0]))
    if following:
        return following, True
    return candidates, False


def valid_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed in the mapping at `loc` (a pydantic error location minus the bad key).

    Returns [] when `loc` leads to no model (a free-form map such as `vars`).
    """
    candidates: list[Any] = [model]
    for key in loc:
        candidates, _ = _step(candidates, key)
    keys: set[str] = set()
    for tp in candidates:
        if _is_model(tp):
            keys.update(info.alias or name for name, info in tp.model_fields.items())
    return sorted(keys)


def suggest(key: str, candidates: Iterable[str]) -> str | None:
    """The closest valid key to a misspelt one, or None when nothing is close."""
    matches = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def path_problem(model: type[BaseModel], path: str) -> str | None:
    """Why a dotted field path (resources.memory, networks.net0.ip) names no field, or None."""
    candidates: list[Any] = [model]
    for depth, key in enumerate(path.split(".")):
        if not key:
            return f"{path!r} has an empty segment"
        nxt, consumed = _step(candidates, int(key) if key.isdigit() else key)
        if not consumed:
            keys = valid_keys(model, tuple(path.split(".")[:depth]))
            hint = suggest(key, keys)
            extra = f" (did you mean '{hint}'?)" if hint else ""
            return f"unknown field {key!r} in {path!r}{extra}"
        candidates = nxt
    return None


def field_description(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    """The docstring of the field at a pydantic error location ('' when none), e.g.
    'Memory in MiB (at least 16).' for ('containers', 'web', 'resources', 'memory').

    Why: a field's unit is written once, in its docstring (which is also the JSON Schema's
    description); a diagnostic that names the unit reads it from there."""
    from pxrun.spec.docstrings import describe

    describe()
    candidates: list[Any] = [model]
    for key in loc[:-1]:
        candidates, _ = _step(candidates, key)
    last = loc[-1] if loc else None
    for tp in candidates:
        if _is_model(tp) and isinstance(last, str):
            for name, info in tp.model_fields.items():
                if last in (name, info.alias):
                    return info.description or ""
    return ""
