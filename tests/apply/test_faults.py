"""Fault injection: retries converge, failures stop only their dependents, offline nodes
leave their containers reported and untouched."""

from __future__ import annotations

import pytest

from pxrun.pve.marker import split_description
from tests.apply.conftest import Recorder, Stage, spec_text

pytestmark = pytest.mark.integration


def test_lock_contention_and_random_5xx_are_retried_and_converge(stage: Stage) -> None:
    stage.write(spec_text("""
        web: {count: 4}
        db: {}
    """))
    faults = stage.env.sim.settings.faults
    faults.lock_contention = 0.3
    faults.error_rate = 0.08
    assert stage.apply(retry_attempts=8).ok
    stage.write(spec_text("""
        web: {count: 4, resources: {memory: 640}, timezone: UTC}
        db: {resources: {cores: 2}}
    """))
    summary = stage.apply(retry_attempts=8)
    assert summary.ok, [r.error for r in summary.results if r.error]
    faults.lock_contention = faults.error_rate = 0.0
    stage.assert_converged()


def test_a_failed_task_stops_its_dependents_taints_and_lets_the_rest_finish(
        stage: Stage) -> None:
    stage.write(spec_text("""
        web: {}
        app: {depends_on: [web]}
        tool: {state: stopped}
    """))
    stage.env.sim.settings.faults.task_failure = {"vzstart": 1.0}
    hook = Recorder()
    summary = stage.apply(hook=hook)
    by_name = {r.address: r for r in summary.results}
    assert not summary.ok
    assert by_name["web"].outcome == "failed" and by_name["web"].tainted
    assert by_name["web"].log_tail  # Proxmox's task log comes with the failure
    assert by_name["app"].outcome == "skipped" and "web" in by_name["app"].error
    assert by_name["tool"].outcome == "done"
    assert summary.counts() == {"done": 1, "failed": 1, "skipped": 1, "interrupted": 0}
    web = by_name["web"]
    config = stage.client.get(f"nodes/{web.node}/lxc/{web.vmid}/config")
    marker = split_description(str(config["description"]))[1]
    assert marker is not None and marker.tainted  # the next plan shows it
    stage.env.sim.settings.faults.task_failure = {}
    again = stage.plan()
    change = again.change("web")
    assert change is not None and "tainted" in change.reason and change.operations
    assert stage.apply(again).ok
    stage.assert_converged()


def test_node_going_offline_mid_apply_leaves_its_containers_reported(stage: Stage) -> None:
    stage.write(spec_text("""
        a: {node: pve1}
        b: {node: pve2}
        c: {node: pve2}
    """))
    assert stage.apply().ok
    stage.write(spec_text("""
        a: {node: pve1, resources: {memory: 700}}
        b: {node: pve2, resources: {memory: 700}}
        c: {node: pve2, resources: {memory: 700}}
    """))
    plan = stage.plan()

    class GoOffline(Recorder):
        def step_started(self, address: str, step: str, detail: str = "") -> None:
            if address == "a":  # while the apply runs, pve2 stops answering
                stage.env.sim.settings.faults.offline_nodes = ["pve2"]
            super().step_started(address, step, detail)

    summary = stage.apply(plan, hook=GoOffline(), parallelism=1, retry_attempts=2)
    by_name = {r.address: r for r in summary.results}
    assert by_name["a"].outcome == "done"
    for name in ("b", "c"):
        assert by_name[name].outcome == "failed"
        assert "No route to host" in by_name[name].error or "unreachable" in \
            by_name[name].error.lower()
        assert not by_name[name].tainted
    stage.env.sim.settings.faults.offline_nodes = []
    guests = {g["vmid"] for g in stage.client.get("nodes/pve2/lxc")}
    assert {by_name["b"].vmid, by_name["c"].vmid} <= guests  # nothing deleted
    assert stage.apply().ok
    stage.assert_converged()
