"""Recorded-style raw configs (fixtures/configs/*.json) -> the spec's Container, by one harness.

Each file holds either a `config` object (GET .../config) or a `pending` array
(GET .../pending) and the expected parse: digest, pending keys, marker, volids, and the
fields of the current (and, with pending changes, the future) Container. A new behaviour
is a new file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pxrun.observe.parse import (
    merge_pending,
    parse_config,
    pending_from_config,
    read_marker,
)

CASES = sorted((Path(__file__).parent / "fixtures" / "configs").glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_config_fixture(path: Path) -> None:
    case = _load(path)
    view = merge_pending(case["pending"]) if "pending" in case else \
        pending_from_config(case["config"])
    assert view.digest == case["digest"]
    assert sorted(view.pending) == case["pending_keys"]
    marker = read_marker(view.current)
    if case["marker"] is None:
        assert marker is None
    else:
        assert marker is not None
        for key, value in case["marker"].items():
            assert getattr(marker, key) == value
    name = marker.name if marker is not None else case["name"]
    kwargs = {"vmid": case["vmid"], "name": name, "node": case["node"], "stack": case["stack"],
              "running": case["running"], "pool": case.get("pool"), "cpus": case.get("cpus")}
    parsed = parse_config(view.current, **kwargs)
    assert dict(parsed.volids) == case["volids"]
    assert list(parsed.unused) == case.get("unused", [])
    assert parsed.lock == case.get("lock")
    dump = parsed.container.model_dump(mode="json")
    for key, value in case["expected"].items():
        assert dump[key] == value, key
    if "expected_future" in case:
        future = parse_config(view.future, **kwargs)
        assert dict(future.volids) == case["future_volids"]
        dump = future.container.model_dump(mode="json")
        for key, value in case["expected_future"].items():
            assert dump[key] == value, key


def test_pending_merge_keeps_current_and_future_apart() -> None:
    view = merge_pending([
        {"key": "memory", "value": 1024, "pending": "2048"},
        {"key": "swap", "value": 512, "delete": 1},
        {"key": "mp0", "pending": "local-lvm:4,mp=/x"},
        {"key": "onboot", "value": 1},
        {"key": "digest", "value": "d"},
    ])
    assert dict(view.current) == {"memory": "1024", "swap": "512", "onboot": "1"}
    assert dict(view.future) == {"memory": "2048", "onboot": "1", "mp0": "local-lvm:4,mp=/x"}
    assert view.pending == {"memory", "swap", "mp0"}
    assert view.deleted == {"swap"}
    assert view.digest == "d"
