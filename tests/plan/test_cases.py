"""Planner cases from files: tests/plan/cases/*.yaml, run by this one harness.

Each file holds `cases:`, each case:
  id, desired (spec fragment), observed (compact cluster, see builders.py), options
  (PlanOptions fields; `secrets`: name -> value, none of which may appear in the plan),
  and expect:
    changes: {address: {action, replace_paths, restart_required, prune, node, diffs (paths),
              diff_values ({path: [old, new]}), taint, pending, roll_after,
              data_destroyed, operations (in order; a string = the op name only, a dict =
              a subset of the op's fields), reason (substring)}}
    absent: [addresses with no change]      summary: {add, change, ...}
    errors / warnings: [substrings, each matching one diagnostic; the count must match]
    drift: {address: [paths]}
A new behaviour is a new case, not new test code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.plan import PlanOptions, plan
from pxrun.plan.model import Plan, ResourceChange
from pxrun.render.jsonplan import plan_from_json, plan_to_json
from tests.plan.builders import build_observed, build_stack

CASES = Path(__file__).parent / "cases"


def _load() -> list[Any]:
    out = []
    for file in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(file.read_text())["cases"]:
            out.append(pytest.param(case, id=f"{file.stem}: {case['id']}"))
    return out


def run_case(case: dict[str, Any]) -> Plan:
    stack = build_stack(case.get("desired"))
    opts = dict(case.get("options") or {})
    for key in ("targets", "replace"):
        if key in opts:
            opts[key] = frozenset(opts[key])
    if "file_sources" in opts:
        opts["file_sources"] = {k: v.encode() for k, v in opts["file_sources"].items()}
    observed = build_observed(case.get("observed"), stack, opts.get("file_sources"),
                              opts.get("secrets"))
    return plan(stack, observed, PlanOptions(**opts))


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(
            _subset(e, a) for e, a in zip(expected, actual, strict=True))
    return bool(expected == actual)


def _check_change(change: ResourceChange, want: dict[str, Any]) -> None:
    dump = change.model_dump(mode="json")
    where = f"{change.address}: {dump['reason']!r}"
    for key in ("action", "replace_paths", "restart_required", "prune", "node", "vmid",
                "restart_policy"):
        if key in want:
            assert dump[key] == want[key], f"{where}: {key} {dump[key]!r} != {want[key]!r}"
    if "diffs" in want:
        assert [d["path"] for d in dump["diffs"]] == want["diffs"], where
    for path, (old, new) in (want.get("diff_values") or {}).items():
        found = [(d["old"], d["new"]) for d in dump["diffs"] if d["path"] == path]
        assert found == [(old, new)], f"{where}: {path} {found}"
    for key in ("taint", "pending", "roll_after", "data_destroyed"):
        if key in want:
            assert _subset(want[key], dump[key]), f"{where}: {key} {dump[key]!r}"
    if "reason" in want:
        assert want["reason"] in dump["reason"], where
    if "operations" in want:
        ops = dump["operations"]
        assert len(ops) == len(want["operations"]), f"{where}: {ops}"
        for item, got in zip(want["operations"], ops, strict=True):
            exp = {"op": item} if isinstance(item, str) else item
            assert _subset(exp, got), f"{where}: expected {exp}, got {got}"
    for key in ("after", "before"):
        if key in want:
            assert _subset(want[key], dump[key]), f"{where}: {key} {dump[key]}"


def _check_diagnostics(result: Plan, severity: str, wanted: list[str]) -> None:
    got = [f"{d.address}: {d.message}" for d in result.diagnostics if d.severity == severity]
    assert len(got) == len(wanted), f"{severity}s: {got}"
    for text in wanted:
        assert any(text in g for g in got), f"no {severity} contains {text!r}: {got}"


def _no_secret_values(result: Plan, case: dict[str, Any]) -> None:
    """Whatever a case plans, no secret value is in the plan: views say (sensitive) and
    operations refer to secrets by name."""
    text = json.dumps(result.model_dump(mode="json"))
    for value in ((case.get("options") or {}).get("secrets") or {}).values():
        assert value not in text, f"the secret {value!r} is in the plan"


@pytest.mark.parametrize("case", _load())
def test_planner_case(case: dict[str, Any]) -> None:
    result = run_case(case)
    _no_secret_values(result, case)
    assert plan_from_json(plan_to_json(result)) == result  # every plan is a valid JSON plan
    expect = case.get("expect") or {}
    for address, want in (expect.get("changes") or {}).items():
        change = result.change(address)
        assert change is not None, f"no change for {address}"
        _check_change(change, want)
    for address in expect.get("absent") or []:
        assert result.change(address) is None, f"{address} should not be planned"
    if "summary" in expect:
        assert _subset(expect["summary"], result.summary.model_dump())
    _check_diagnostics(result, "error", expect.get("errors") or [])
    _check_diagnostics(result, "warning", expect.get("warnings") or [])
    if "drift" in expect:
        got = {d.address: [x.path for x in d.diffs] for d in result.drift}
        assert got == expect["drift"]
    if "unknown" in expect:
        assert [u.vmid for u in result.unknown] == expect["unknown"]
