"""The JSON plan: shape, effects, round trip of saved plans, version check."""

from __future__ import annotations

import json

import pytest

from pxrun.errors import PlanError
from pxrun.render.jsonplan import FORMAT_VERSION, dumps, plan_from_json, plan_to_json
from tests.render.samples import SAMPLES
from tests.render.schema_check import assert_valid_plan


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip(name: str) -> None:
    plan = SAMPLES[name]()
    doc = json.loads(dumps(plan_to_json(plan)))
    assert_valid_plan(doc)
    assert plan_from_json(doc) == plan


def test_terraform_shape() -> None:
    doc = plan_to_json(SAMPLES["replace"]())
    assert doc["format_version"] == FORMAT_VERSION
    change = doc["resource_changes"][0]
    assert change["address"] == "db"
    assert change["actions"] == ["delete", "create"]
    assert change["action_reason"] == "cannot_update"
    assert change["replace_paths"] == ["template"]
    assert [d["effect"] for d in change["diffs"]] == ["replace", None]
    assert doc["observed_digests"] == {"db": "f" * 40}
    assert doc["summary"] == {"add": 0, "change": 0, "replace": 1, "destroy": 0, "drifted": 0}
    assert doc["changes_present"] is True and doc["errored"] is False


def test_effects_follow_the_operations() -> None:
    change = plan_to_json(SAMPLES["update"]())["resource_changes"][0]
    effects = {d["path"]: d["effect"] for d in change["diffs"]}
    assert effects == {
        "node": "migrate", "resources.cores": "live", "resources.memory": "live",
        "resources.disk": "resize", "storage": "move_volume", "features": "restart",
        "networks.net1": "live", "env.API_KEY": "restart", "tags": "live",
    }


def test_errored_plan() -> None:
    doc = plan_to_json(SAMPLES["errored"]())
    assert doc["errored"] is True
    assert [d["address"] for d in doc["diagnostics"]] == ["db", "web-2"]


MAJOR = int(FORMAT_VERSION.split(".")[0])


@pytest.mark.parametrize("version", [f"{MAJOR + 1}.0", "", f"{MAJOR - 1}.9", "1.0"])
def test_other_major_versions_are_refused(version: str) -> None:
    doc = plan_to_json(SAMPLES["create"]())
    doc["format_version"] = version
    with pytest.raises(PlanError, match="format version"):
        plan_from_json(doc)


def test_a_newer_minor_version_is_read() -> None:
    doc = plan_to_json(SAMPLES["create"]())
    doc["format_version"] = f"{MAJOR}.7"
    assert plan_from_json(doc) == SAMPLES["create"]()


def test_garbage_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="not a pxrun plan"):
        plan_from_json({"format_version": FORMAT_VERSION, "mode": "normal"})
