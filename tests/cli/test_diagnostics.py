"""Diagnostics speak the user's language: units, choices, shapes; never pydantic's phrasing.

Two tests: a table of bad values with the words each must produce (cases/diagnostics.yaml),
and a walk over every field of the container model with values of the wrong shape, which
checks that no message anywhere carries pydantic's own wording.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml

from pxrun.errors import SpecError
from pxrun.spec.introspect import _is_model, _unwrap
from pxrun.spec.load import load_stack
from pxrun.spec.model import Container

CASES = Path(__file__).parent / "cases" / "diagnostics.yaml"
BASE = {"template": "debian-12"}
PYDANTIC_PHRASES = re.compile(
    r"Input should|instance of|unable to (parse|interpret)|Value error|Assertion failed|"
    r"pydantic|\[type=|Field required|Extra inputs|validation error|function-after|"
    r"should be a valid", re.I)


def _diagnostics(tmp_path: Path, containers: dict[str, Any]) -> list[str]:
    spec = tmp_path / "pxrun.yaml"
    spec.write_text(json.dumps({"version": 1, "stack": "t", "containers": containers}),
                    encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_stack(spec)
    return [str(d) for d in info.value.diagnostics]


def _cases() -> list[Any]:
    table = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["name"]) for case in table["cases"]]


@pytest.mark.parametrize("case", _cases())
def test_bad_value_is_explained(case: dict[str, Any], tmp_path: Path) -> None:
    settings = {**BASE, **yaml.safe_load(case["container"])}
    (message,) = _diagnostics(tmp_path, {"web": settings})
    for words in case["says"]:
        assert words in message, message
    assert not PYDANTIC_PHRASES.search(message), message


_WRONG = ["not-a-number", 12345, True, [1, 2], {"x": 1}, "1G", -5, 1.5]
_SLOTS = {"networks": "net0", "mounts": "mp0", "devices": "dev0"}


def _paths(model: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every field path of a model, into maps (by a sample slot key) and lists (item 0)."""
    out: list[tuple[Any, ...]] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = (*prefix, key)
        out.append(path)
        for alt in _unwrap(info.annotation):
            if _is_model(alt):
                out.extend(_paths(alt, path))
            elif get_origin(alt) in (dict, list):
                inner = get_args(alt)[-1]
                sub = (*path, _SLOTS.get(key, "key") if get_origin(alt) is dict else 0)
                out.extend(p for tp in _unwrap(inner) if _is_model(tp) for p in _paths(tp, sub))
    return out


def _put(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    root: Any = data
    for key, nxt in itertools.pairwise(path):
        fresh: Any = [{}] if isinstance(nxt, int) else {}
        if isinstance(root, list):
            root = root[key]
            continue
        root = root.setdefault(key, fresh)
    root[path[-1]] = value
    return data


def test_no_diagnostic_anywhere_uses_pydantic_phrasing(tmp_path: Path) -> None:
    paths = [p for p in _paths(Container) if p[0] != "name"]
    assert len(paths) > 100  # the walk reaches the whole container surface
    containers = {}
    for i, path in enumerate(paths):
        for j, value in enumerate(_WRONG):
            containers[f"c{i}-{j}"] = _put(dict(BASE), path, value)
    messages = _diagnostics(tmp_path, containers)
    assert len(messages) > len(paths)
    raw = [m for m in messages if PYDANTIC_PHRASES.search(m)]
    assert not raw, "\n".join(raw[:20])
