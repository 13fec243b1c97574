"""Every endpoint's permission rule (table_perms.py) against the official 9.1 schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pxrun.sim.table import TABLE
from pxrun.sim.table_perms import PERMS


def _index(reference_dir: Path) -> dict[tuple[str, str], Any]:
    tree = json.loads((reference_dir / "pve-apidata-9.1.json").read_text(encoding="utf-8"))
    found: dict[tuple[str, str], Any] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            for method, info in (node.get("info") or {}).items():
                found[(method, node["path"])] = info.get("permissions")
            walk(node.get("children") or [])

    walk(tree)
    return found


def _as_lists(value: Any) -> Any:
    return [_as_lists(v) for v in value] if isinstance(value, tuple | list) else value


def test_every_endpoint_has_a_rule() -> None:
    assert sorted(set(TABLE) - set(PERMS)) == []
    assert sorted(set(PERMS) - set(TABLE)) == []


@pytest.mark.parametrize("key", sorted(TABLE), ids=lambda k: f"{k[0]} {k[1]}")
def test_rule_matches_schema(key: tuple[str, str], reference_dir: Path) -> None:
    official = _index(reference_dir)[key]
    ours = PERMS[key]
    if official is None:
        assert ours is None
    elif "check" in official:
        assert _as_lists(ours) == official["check"]
    else:
        assert ours == official.get("user")
