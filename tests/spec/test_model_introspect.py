"""valid_keys / suggest / path_problem, fed with locations pydantic really produces."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from pxrun.spec.introspect import path_problem, suggest, valid_keys
from pxrun.spec.model import Container, Stack, StackFile

CLUSTER = {"endpoint": "https://pve:8006", "token_id": "a@pve!t", "token_secret": "s3cr3t"}


def _extra_loc(model: type[BaseModel], data: dict[str, Any]) -> tuple[str | int, ...]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    extra = [e for e in info.value.errors() if e["type"] == "extra_forbidden"]
    assert len(extra) == 1, info.value.errors()
    return tuple(extra[0]["loc"])


@pytest.mark.parametrize(
    ("model", "data", "bad", "expected"),
    [
        (StackFile, {"defaults": {"resources": {"memroy": 1}}}, "memroy", "memory"),
        (StackFile, {"containers": {"w": {"networks": {"net0": {"vlna": 1}}}}}, "vlna", "vlan"),
        (StackFile, {"containers": {"w": {"provision": {"files": [
            {"dest": "/x", "content": "a", "mdoe": 1}]}}}}, "mdoe", "mode"),
        (StackFile, {"contianers": {}}, "contianers", "containers"),
        (Stack, {"stack": "x", "cluster": {**CLUSTER, "verfy_ssl": True}}, "verfy_ssl",
         "verify_ssl"),
        (Stack, {"stack": "x", "containers": {"w": {"name": "w", "provision": {
            "docker": {"compse": True}}}}}, "compse", "compose"),
        (Stack, {"stack": "x", "containers": {"w": {"name": "w", "mounts": {
            "mp0": {"volume": "local-lvm:1", "path": "/x", "readonly": True}}}}}, "readonly",
         "read_only"),
        (Container, {"name": "w", "featuers": {}}, "featuers", "features"),
    ],
)
def test_suggestion_for_real_error_locations(
    model: type[BaseModel], data: dict[str, Any], bad: str, expected: str
) -> None:
    loc = _extra_loc(model, data)
    assert loc[-1] == bad
    keys = valid_keys(model, loc[:-1])
    assert expected in keys
    assert bad not in keys
    assert suggest(bad, keys) == expected


def test_valid_keys_of_the_top_level() -> None:
    assert valid_keys(StackFile, ()) == sorted(
        ["version", "stack", "cluster", "vars", "secrets", "defaults", "containers",
             "ha_rules"])
    assert "count" in valid_keys(StackFile, ("containers", "web"))
    assert "count" not in valid_keys(StackFile, ("defaults",))


def test_free_form_maps_have_no_keys() -> None:
    assert valid_keys(StackFile, ("vars",)) == []
    assert valid_keys(Container, ("env",)) == []


def test_suggest_gives_up_on_distant_keys() -> None:
    assert suggest("zzzz", ["memory", "cores"]) is None


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("description", None),
        ("resources.memory", None),
        ("networks.net0.hwaddr", None),
        ("provision.files.0.mode", None),
        ("memroy", "unknown field 'memroy' in 'memroy'"),
        ("state.x", "unknown field 'x' in 'state.x'"),
        ("resources.memroy", "did you mean 'memory'?"),
        ("resources..memory", "has an empty segment"),
    ],
)
def test_path_problem(path: str, problem: str | None) -> None:
    found = path_problem(Container, path)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
