"""schemas/plan.schema.json: fresh, a valid Draft 2020-12 schema, and strict enough to
catch a plan that breaks the format."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from pxrun.render.jsonplan import FORMAT_VERSION, plan_to_json
from pxrun.render.planschema import render_plan_schema
from tests.render.samples import SAMPLES
from tests.render.schema_check import SCHEMA_FILE, assert_valid_plan, validator

REGENERATE = ('.venv/bin/python -c "from pxrun.render.planschema import render_plan_schema '
              "as r; print(r(), end='')\" > schemas/plan.schema.json")


def test_checked_in_schema_is_fresh() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render_plan_schema(), (
        f"schemas/plan.schema.json is stale; regenerate with: {REGENERATE} (and bump "
        f"FORMAT_VERSION {FORMAT_VERSION} when the change is not a pure addition)")


def test_schema_is_valid_and_versioned() -> None:
    schema = validator().schema
    assert schema["$schema"].endswith("2020-12/schema")
    assert FORMAT_VERSION in schema["title"]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_validate(name: str) -> None:
    assert_valid_plan(plan_to_json(SAMPLES[name]()))


@pytest.mark.parametrize("breakage", [
    lambda d: d.pop("spec_hash"),
    lambda d: d.update(format_version="3.0"),
    lambda d: d.update(mode="yolo"),
    lambda d: d["resource_changes"][0].update(actions=["update", "create"]),
    lambda d: d["resource_changes"][0].update(extra=1),
    lambda d: d["resource_changes"][0]["diffs"][0].update(effect="explode"),
    lambda d: d["resource_changes"][0]["operations"].append({"op": "format_disk"}),
])
def test_schema_rejects_broken_plans(breakage: object) -> None:
    doc = copy.deepcopy(plan_to_json(SAMPLES["update"]()))
    breakage(doc)  # type: ignore[operator]
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(doc)
