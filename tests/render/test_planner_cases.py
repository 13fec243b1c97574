"""Every plan of the planner's table-driven cases (tests/plan/cases) through the renderers:
schema-valid JSON, a lossless round trip, and a human text that names every change."""

from __future__ import annotations

from typing import Any

import pytest

from pxrun.render.human import render_diagnostics, render_plan
from pxrun.render.jsonplan import plan_from_json, plan_to_json
from tests.plan.test_cases import _load, run_case
from tests.render.schema_check import assert_valid_plan


@pytest.mark.parametrize("case", _load())
def test_planner_case_renders(case: dict[str, Any]) -> None:
    try:
        plan = run_case(case)
    except Exception as exc:  # the planner's own case test reports this one
        pytest.skip(f"the planner raised {type(exc).__name__}")
    doc = plan_to_json(plan)
    assert_valid_plan(doc)
    assert plan_from_json(doc) == plan
    text = render_plan(doc) + "\n".join(render_diagnostics(doc))
    for change in doc["resource_changes"]:
        address = change["address"]
        named = (f'ha_rule "{address.removeprefix("ha_rules.")}"' if address.startswith(
            "ha_rules.") else f'container "{address}"')
        if change["actions"] != ["no-op"]:
            assert named in text
    for change in doc["drift"]:
        assert f'container "{change["address"]}"' in text
    for diag in doc["diagnostics"]:
        assert diag["message"] in text
