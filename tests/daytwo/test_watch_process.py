"""`pxrun watch` as the process systemd runs: endpoints, JSON log lines, SIGTERM.

The child connects to the test's simulator through environment variables. The test never
sleeps: it reads the child's log lines as they come (each read waits on the pipe) and asks
the HTTP endpoints once the log says a cycle finished.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from pxrun.apply.stacklock import read_lock
from tests.apply.conftest import Stage, spec_text
from tests.daytwo.conftest import WAIT, WatchChild, metric, parse_metrics, sim_connection

pytestmark = pytest.mark.integration


@pytest.fixture
def child_factory(stage: Stage) -> Iterator[Any]:
    children: list[WatchChild] = []

    def start(*args: str) -> WatchChild:
        children.append(WatchChild(sim_connection(stage.env), stage.dir, stage.spec, *args))
        return children[-1]

    yield start
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait(timeout=WAIT)


def test_serves_metrics_health_records_and_stops_cleanly_on_sigterm(
        stage: Stage, child_factory: Any) -> None:
    stage.write(spec_text("""
        web: {}
        db: {}
    """))
    child = child_factory("--interval", "1s", "--apply")
    child.until("lock_acquired")
    started = child.until("apply_started", container="db")
    assert started["operation"] == "create"
    child.until("apply_finished", container="db", outcome="done")
    child.until("cycle_finished", cycle=2)
    status, body = child.get("/healthz")
    assert status == 200 and json.loads(body)["ok"] is True
    status, body = child.get("/metrics")
    samples = parse_metrics(body.decode())
    assert metric(samples, "pxrun_watch_active", stack="t") == 1
    assert metric(samples, "pxrun_reconcile_actions_total", stack="t", action="create",
                  outcome="done") == 2
    assert metric(samples, "pxrun_reconciles_total", stack="t", result="ok") >= 2
    assert metric(samples, "pxrun_reconcile_duration_seconds_count", stack="t") >= 2
    assert metric(samples, "pxrun_managed_containers", stack="t", state="running") == 2
    status, body = child.get("/records")
    records = json.loads(body)
    assert status == 200 and {r["container"] for r in records if r["action"] == "create"} == {
        "web", "db"}
    assert all({"time", "stack", "container", "desired", "observed", "action", "result",
                "duration"} <= r.keys() for r in records)
    assert child.get("/nope")[0] == 404
    assert child.stop() == 0
    child.until("watch_stopped")
    assert "lock_released" in [e["event"] for e in child.seen]
    assert read_lock(stage.client, "t") is None
    stage.assert_converged()


def test_sigterm_during_an_apply_finishes_the_step_and_releases_the_lock(
        stage: Stage, child_factory: Any) -> None:
    stage.env.sim.settings.task_durations["vzcreate"] = 25.0  # 0.5 s at the test's scale
    stage.write(spec_text("web: {}"))
    child = child_factory("--interval", "100ms", "--apply")
    child.until("task_started", container="web", operation="create")
    assert child.stop() == 0  # while Proxmox's create task runs
    finished = child.until("apply_finished", container="web")
    assert finished["outcome"] == "interrupted"  # stopped after the step, before the next
    child.until("watch_stopped")
    assert read_lock(stage.client, "t") is None
    vmids = {int(g["vmid"]) for n in ("pve1", "pve2", "pve3")
             for g in stage.env.proxmoxer().nodes(n).lxc.get()}
    assert len(vmids) == 1  # the create that was running finished, nothing was abandoned


def test_health_fails_when_checks_fail(stage: Stage, child_factory: Any) -> None:
    stage.write(spec_text("web: {}"))
    child = child_factory("--interval", "100ms")
    child.until("cycle_finished", cycle=1)
    stage.spec.write_text("version: 1\nstack: t\ncontainers: {web: {cores: 0}}\n")
    failed = child.until("check_failed")
    assert failed["operation"] == "check" and failed["error"]
    child.until("check_failed")  # the next cycle fails too, and the process stays up
    # Two waits of at least one interval each have passed since the last good check.
    status, body = child.get("/healthz")
    assert status == 503 and json.loads(body)["ok"] is False
    status, body = child.get("/metrics")
    assert status == 200
    samples = parse_metrics(body.decode())
    assert metric(samples, "pxrun_last_check_success", stack="t") == 0
    assert metric(samples, "pxrun_reconciles_total", stack="t", result="failed") >= 1
    assert child.stop() == 0
