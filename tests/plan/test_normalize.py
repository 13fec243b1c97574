"""Normalisation, table-driven: nothing Proxmox re-spells or fills in may show as a diff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pxrun.observe.parse import parse_config, pending_from_config
from pxrun.plan.diff import comparable
from pxrun.pve.config import canonical
from pxrun.spec.model import Container

DATA = json.loads((Path(__file__).parent / "fixtures" / "normalize.json").read_text())


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = {**base, **extra}
    return {k: v for k, v in out.items() if v is not None}


def _diff(desired: Container, observed: Container) -> list[str]:
    want, have = canonical(desired), comparable(canonical(desired), observed)
    return [f for f in Container.model_fields if getattr(want, f) != getattr(have, f)]


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["id"])
def test_normalisation(case: dict[str, Any]) -> None:
    desired = Container.model_validate(_merge(DATA["base_desired"], case["desired"]))
    raw = pending_from_config(_merge(DATA["base_raw"], case["raw"])).current
    observed = parse_config(raw, vmid=101, name="web", node="pve", stack="homelab",
                            running=case.get("running", True)).container
    assert _diff(desired, observed) == case["diff"]


def test_canonical_is_idempotent_and_keeps_unset_fields() -> None:
    c = Container.model_validate({"name": "a", "tags": ["B", "a", "b"], "description": "x\n",
                                  "nameserver": [], "env": {}})
    once = canonical(c)
    assert once.tags == ["a", "b"] and once.description == "x"
    assert once.nameserver is None and once.env is None
    assert canonical(once) == once
    bare = Container.model_validate({"name": "a"})
    assert canonical(bare) is bare
