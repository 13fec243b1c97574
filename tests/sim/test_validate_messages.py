"""Validation messages, table-driven from tests/sim/cases/validate_messages.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.sim.api import ApiError
from pxrun.sim.validate import validate_params

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "cases" / "validate_messages.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_validation_case(case: dict[str, Any]) -> None:
    method, template = case["endpoint"].split()
    call = {"json_body": bool(case.get("json"))}
    if "errors" in case:
        with pytest.raises(ApiError) as caught:
            validate_params(method, template, case["params"], **call)
        assert caught.value.status == 400
        assert caught.value.message == "Parameter verification failed."
        assert caught.value.errors == case["errors"]
    else:
        assert validate_params(method, template, case["params"], **call) == case["result"]


def test_result_types_are_native() -> None:
    got = validate_params(
        "PUT",
        "/nodes/{node}/lxc/{vmid}/config",
        {"node": "pve", "vmid": "101", "onboot": "0", "cpulimit": "2", "cores": "+2"},
    )
    assert type(got["vmid"]) is int and got["vmid"] == 101
    assert got["cores"] == 2
    assert type(got["onboot"]) is int
    assert type(got["cpulimit"]) is float


def test_unknown_endpoint_is_a_clear_501() -> None:
    with pytest.raises(ApiError) as caught:
        validate_params("GET", "/nodes/{node}/qemu/{vmid}/config", {"node": "pve"})
    assert caught.value.status == 501
    assert "no parameter table" in caught.value.message


def test_errors_for_one_path_are_joined_like_perl() -> None:
    """Two messages for one key are joined with a literal backslash-n (Perl '\\n')."""
    with pytest.raises(ApiError) as caught:
        validate_params("GET", "/pools", {"type": "vm", "poolid": None})
    assert caught.value.errors == {
        "type": "value 'vm' does not have a value in the enumeration 'qemu, lxc, storage'",
        "poolid": "missing property - 'type' requires this property",
    }
