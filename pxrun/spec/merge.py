"""Merging spec fragments: `defaults:` under containers, and stack keys across folder files.

The rules (specs/0011-spec-loading.md): mappings merge key by key, recursively; anything else
(lists, scalars) is replaced whole by the more specific side; an explicit `null` removes the
inherited key. Lists replace rather than append because a diff of `tags` or `packages` must
read the same in the file as in the plan.

A merged value forgets where it came from, so each fragment travels as a `Layer` (its data and
the document it was read from); `Provenance` finds which layer a path of the merged value
came from, to point a diagnostic at the line the user actually wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pxrun.errors import Diagnostic
from pxrun.spec.yamlsrc import Mark, Path, SourceDoc

_MISSING = object()


def deep_merge(base: Mapping[Any, Any], override: Mapping[Any, Any]) -> dict[Any, Any]:
    """`override` over `base`: maps merge recursively, other values replace, None removes.

    Only the mappings on merged paths are new objects; leaves are shared, so callers must not
    mutate the result's lists in place.
    """
    result = dict(base)
    for key, value in override.items():
        if value is None:
            result.pop(key, None)
            continue
        below = result.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            result[key] = deep_merge(below, value)
        else:
            result[key] = value
    return result


def get_path(data: Any, path: Path) -> Any:
    """The value at `path`, or the `_MISSING` sentinel (see `has_path`)."""
    for key in path:
        if isinstance(data, Mapping):
            data = data.get(key, _MISSING)
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return _MISSING
        if data is _MISSING:
            return _MISSING
    return data


def has_path(data: Any, path: Path) -> bool:
    return get_path(data, path) is not _MISSING


@dataclass(frozen=True)
class Layer:
    """One fragment of a merged value: `doc.data` at `prefix` holds it."""

    doc: SourceDoc
    prefix: Path
    label: str = ""
    """How a diagnostic names this layer when it is not the container itself ("defaults")."""

    @property
    def data(self) -> Any:
        return get_path(self.doc.data, self.prefix)


@dataclass(frozen=True)
class Origin:
    """Where a path of a merged value was written."""

    mark: Mark
    key_mark: Mark
    layer: Layer


class Provenance:
    """Finds the layer that supplied each path of `merge(layers[-1], ..., layers[0])`.

    `layers` are ordered most specific first (the container, then defaults), following the
    same rules as `deep_merge`, so a list replaced by the container is never blamed on
    defaults.
    """

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers = list(layers)

    def origin(self, path: Path) -> Origin:
        candidates = [(layer, layer.data) for layer in self.layers]
        candidates = [(layer, data) for layer, data in candidates if data is not _MISSING]
        owner = candidates[0][0] if candidates else self.layers[0]
        depth = 0
        for key in path:
            having = []
            for layer, data in candidates:
                sub = get_path(data, (key,))
                if sub is not _MISSING:
                    having.append((layer, sub))
            if not having or having[0][1] is None:
                break
            owner = having[0][0]
            depth += 1
            if isinstance(having[0][1], Mapping):
                candidates = [(layer, sub) for layer, sub in having if isinstance(sub, Mapping)]
            else:
                candidates = having[:1]
        full = (*owner.prefix, *path[:depth])
        mark = owner.doc.mark(full)
        key_mark = owner.doc.keys.get(full, mark)
        return Origin(mark, key_mark, owner)


@dataclass
class StrictUnion:
    """Deep-merges same-named stack blocks (`vars`, `defaults`) from several folder files.

    Two files setting the same leaf differently is a diagnostic naming both places: in a
    folder every file has equal rank, so there is no "later file wins" to fall back on.
    """

    name: str
    data: dict[Any, Any]
    layers: list[Layer]

    @classmethod
    def of(cls, name: str, layers: Sequence[Layer]) -> tuple[StrictUnion, list[Diagnostic]]:
        merged: dict[Any, Any] = {}
        owners: dict[Path, Layer] = {}
        problems: list[Diagnostic] = []
        for layer in layers:
            _union_into(merged, layer.data, layer, (), owners, problems, name)
        return cls(name, merged, list(layers)), problems


def _union_into(target: dict[Any, Any], source: Mapping[Any, Any], layer: Layer, path: Path,
                owners: dict[Path, Layer], problems: list[Diagnostic], name: str) -> None:
    for key, value in source.items():
        sub = (*path, key)
        if key not in target:
            target[key] = _copy_maps(value)
            owners[sub] = layer
            continue
        if isinstance(value, Mapping) and isinstance(target[key], dict):
            _union_into(target[key], value, layer, sub, owners, problems, name)
            continue
        if target[key] == value:
            continue
        first = owners[sub]
        here = layer.doc.mark((*layer.prefix, *sub))
        there = first.doc.mark((*first.prefix, *sub))
        dotted = ".".join(str(k) for k in (name, *sub))
        problems.append(here.diagnostic(
            f"{dotted} is also set, differently, at {there.file}:{there.line}:{there.col}; "
            "files of one stack must agree"))


def _copy_maps(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy_maps(v) for k, v in value.items()}
    return value
