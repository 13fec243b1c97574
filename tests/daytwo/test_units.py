"""Pure parts of day two: node-lost decisions, node tracking, health, the drift schema,
the command line's refusals."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from pxrun.cli.main import main
from pxrun.daytwo.nodes import NodeTracker
from pxrun.daytwo.schema import SCHEMA_PATH, render_drift_schema
from pxrun.observe.model import GuestRef, Observed, StorageInfo
from pxrun.plan.nodelost import node_lost_decisions
from pxrun.spec.load import load_stack

SHARED = StorageInfo(node="pve1", storage="nfs", type="nfs", content=frozenset({"rootdir"}),
                     shared=True)
LOCAL = StorageInfo(node="pve1", storage="local-lvm", type="lvmthin",
                    content=frozenset({"rootdir"}))

# (container spec, fence confirmed, recreate?, words the reason must contain)
DECISIONS = [
    ("{}", True, False, "on_node_lost is alert"),
    ("{lifecycle: {on_node_lost: recreate}}", True, True, "recreate on another node"),
    ("{lifecycle: {on_node_lost: recreate}}", False, False, "--fence-confirmed"),
    ("{lifecycle: {on_node_lost: recreate}, vmid: 120}", True, False, "fixed"),
    ("{lifecycle: {on_node_lost: recreate}, mounts: {mp0: {volume: 'nfs:4', path: /d}}}",
     True, False, "empty one"),
    ("{lifecycle: {on_node_lost: recreate}, mounts: {mp0: {host_path: /srv, path: /d}}}",
     True, False, "binds /srv"),
    ("{lifecycle: {on_node_lost: recreate}, "
     "mounts: {mp0: {volume: 'local-lvm:vm-120-disk-1', path: /d}}}",
     True, False, "not shared"),
    # The lost container's own volume: deleting that copy later would destroy it.
    ("{lifecycle: {on_node_lost: recreate}, "
     "mounts: {mp0: {volume: 'nfs:vm-120-disk-1', path: /d}}}", True, False,
     "a volume of the lost container 120 itself"),
    ("{lifecycle: {on_node_lost: recreate}, "
     "mounts: {mp0: {volume: 'nfs:120/vm-120-disk-1.raw', path: /d}}}", True, False,
     "itself"),
    # A shared volume no container owns (allocated under a placeholder vmid) is re-attached.
    ("{lifecycle: {on_node_lost: recreate}, "
     "mounts: {mp0: {volume: 'nfs:vm-9000-disk-0', path: /d}}}", True, True, "recreate"),
]


@pytest.mark.parametrize(("body", "fenced", "recreate", "words"), DECISIONS)
def test_node_lost_decisions(tmp_path: Path, body: str, fenced: bool, recreate: bool,
                             words: str) -> None:
    spec = tmp_path / "pxrun.yaml"
    spec.write_text(textwrap.dedent(f"""\
        version: 1
        stack: t
        containers:
          cache: {body}
    """))
    stack = load_stack(spec).stack
    observed = Observed(stack="t", storages=(SHARED, LOCAL), unknown=(
        GuestRef(vmid=120, node="pve2", type="lxc", name="cache"),))
    (decision,) = node_lost_decisions(stack, observed, frozenset({"pve2"}),
                                      fence_confirmed=fenced)
    assert (decision.address, decision.recreate) == ("cache", recreate)
    assert words in decision.reason
    assert node_lost_decisions(stack, observed, frozenset(), fence_confirmed=fenced) == ()


def test_an_ha_resource_is_never_recreated(tmp_path: Path) -> None:
    spec = tmp_path / "pxrun.yaml"
    spec.write_text("version: 1\nstack: t\ncontainers:\n"
                    "  cache: {lifecycle: {on_node_lost: recreate}}\n")
    observed = Observed(stack="t", storages=(SHARED,), unknown=(
        GuestRef(vmid=120, node="pve2", type="lxc", name="cache", hastate="started"),))
    (decision,) = node_lost_decisions(load_stack(spec).stack, observed, frozenset({"pve2"}),
                                      fence_confirmed=True)
    assert not decision.recreate and "HA manages it (state started)" in decision.reason


def test_node_tracker_events_follow_the_clock() -> None:
    tracker = NodeTracker(timeout=300)
    assert [e.kind for e in tracker.update({"pve2"}, {"pve2": ["b"]}, 1000)] == [
        "disconnected"]
    assert tracker.update({"pve2"}, {}, 1299) == []
    (alert,) = tracker.update({"pve2"}, {}, 1300)
    assert (alert.kind, alert.containers, alert.seconds) == ("timeout_exceeded", ("b",), 300)
    assert tracker.lost() == {"pve2"}
    assert tracker.update({"pve2"}, {}, 1400) == []  # alerted once per outage
    (back,) = tracker.update(set(), {}, 1500)
    assert (back.kind, back.seconds) == ("reconnected", 500)
    assert tracker.lost() == frozenset() and tracker.states(1500) == []


def test_health_needs_a_check_younger_than_two_intervals() -> None:
    from pxrun.daytwo.watch import Watcher, WatchOptions

    now = [1000.0]
    watcher = Watcher(None, lambda: None, WatchOptions(interval=60),  # type: ignore[arg-type]
                      emit=lambda e: None, stack="t", clock=lambda: now[0])
    assert watcher.health()[0] is False  # nothing checked yet
    watcher.last_ok = 1000.0
    now[0] = 1119.0
    assert watcher.health()[0] is True
    now[0] = 1120.0
    ok, detail = watcher.health()
    assert not ok and detail["last_check_age_seconds"] == 120


def test_drift_schema_is_fresh_and_valid() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_drift_schema(), (
        "schemas/drift.schema.json is stale; regenerate with: "
        ".venv/bin/python -m pxrun.daytwo.schema > schemas/drift.schema.json")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"format_version": "1.0", "stack": "t"}, schema)


@pytest.mark.parametrize("args", [
    ["--node-timeout", "30s"], ["--node-timeout", "31m"], ["--allow", "create,nuke"],
    ["--interval", "soon"], ["--listen", "9464"], ["--lock-ttl", "1s"],
])
def test_watch_refuses_bad_options_with_exit_3(tmp_path: Path, args: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "pxrun.yaml"
    spec.write_text("version: 1\nstack: t\ncontainers: {web: {}}\n")
    assert main(["watch", "-f", str(spec), *args]) == 3
    assert "Traceback" not in capsys.readouterr().err


def _plan_cases() -> list[object]:
    from tests.plan.test_cases import _load

    return _load()


@pytest.mark.parametrize("case", _plan_cases())
def test_refresh_only_plans_do_not_read_what_the_drift_memo_ignores(case: dict) -> None:
    """`check.DriftMemo` reuses the last drift plans when the spec and the observation are
    the same apart from node load and storage use; that is only sound while refresh-only
    planning never reads them. Every planner case, in refresh-only mode, holds it to it."""
    import dataclasses

    from pxrun.daytwo.check import steady
    from pxrun.plan import PlanOptions, plan
    from tests.plan.builders import build_observed, build_stack

    stack = build_stack(case.get("desired"))
    observed = build_observed(case.get("observed"), stack)
    options = dataclasses.replace(PlanOptions(), mode="refresh-only")
    moved = observed.model_copy(update={
        "nodes": {n: i.model_copy(update={"cpu": 0.97, "mem_used": i.mem_total})
                  for n, i in observed.nodes.items()},
        "storages": tuple(s.model_copy(update={"used": s.total, "avail": 0})
                          for s in observed.storages)})
    assert steady(moved) == steady(observed)
    assert plan(stack, moved, options) == plan(stack, observed, options)
