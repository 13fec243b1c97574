"""One generic harness for the table files in cases/models/*.yaml.

Each file names a model from pxrun.spec.model, an optional `base` merged under every input,
and cases: `input` plus either `error` (a substring of one error message) or, optionally,
`expect` (a subset of model_dump(mode="json")) and `properties` (attribute values).
`secret` names a value that must appear in no error message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from pxrun.spec import model as spec_model

CASES = Path(__file__).parent / "cases" / "models"


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES.glob("*.yaml")):
        table = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in table["cases"]:
            params.append(pytest.param(table["model"], table.get("base", {}), case,
                                       id=f"{path.stem}: {case['name']}"))
    return params


def _assert_subset(expected: Any, actual: Any, where: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a mapping, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing from {actual!r}"
            _assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r}"
        for i, (exp, act) in enumerate(zip(expected, actual, strict=True)):
            _assert_subset(exp, act, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: expected {expected!r}, got {actual!r}"


@pytest.mark.parametrize(("model_name", "base", "case"), _load())
def test_model_case(model_name: str, base: dict[str, Any], case: dict[str, Any]) -> None:
    model = getattr(spec_model, model_name)
    data = {**base, **case["input"]}
    if "error" in case:
        with pytest.raises(ValidationError) as info:
            model.model_validate(data)
        messages = [err["msg"] for err in info.value.errors()]
        assert any(case["error"] in msg for msg in messages), messages
        if "secret" in case:
            assert not any(case["secret"] in msg for msg in messages), messages
        return
    obj = model.model_validate(data)
    _assert_subset(case.get("expect", {}), obj.model_dump(mode="json"))
    for attr, value in case.get("properties", {}).items():
        assert getattr(obj, attr) == value, attr


def test_every_table_has_cases() -> None:
    tables = sorted(CASES.glob("*.yaml"))
    assert len(tables) >= 10
    for path in tables:
        table = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert hasattr(spec_model, table["model"]), path.name
        assert table["cases"], path.name
