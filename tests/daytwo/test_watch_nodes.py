"""`pxrun watch` against a node that stops answering: unknown, alert, opt-in recreate.

The watcher runs in-process against the simulator over HTTPS and is driven one cycle at a
time; a fake wall clock moves the outage past --node-timeout without waiting for it.
"""

from __future__ import annotations

import pytest

from pxrun.daytwo.drift import iso
from pxrun.plan.model import Action
from tests.apply.conftest import Stage, spec_text
from tests.daytwo.conftest import FakeClock, make_watcher, metric, parse_metrics

pytestmark = pytest.mark.integration


def vmids_on(stage: Stage, node: str) -> set[int]:
    return {int(g["vmid"]) for g in stage.env.proxmoxer().nodes(node).lxc.get()}


def test_node_offline_and_back_does_nothing_and_says_so(stage: Stage) -> None:
    stage.write(spec_text("""
        a: {node: pve1}
        b: {node: pve2}
    """))
    assert stage.apply().ok
    b = stage.plan().change("b")
    assert b is not None and b.vmid is not None
    clock = FakeClock()
    watcher, log = make_watcher(stage, clock, node_timeout=300.0)
    assert watcher.cycle() is not None and watcher.active

    stage.env.sim.settings.faults.offline_nodes = ["pve2"]
    clock.advance(30)
    check = watcher.cycle()
    assert check is not None and [g.vmid for g in check.observed.unknown] == [b.vmid]
    (down,) = log.events("node_disconnected")
    assert (down["container"], down["node"], down["operation"]) == ("b", "pve2", "observe")
    assert down["stack"] == "t" and "not answering" in down["error"]
    samples = parse_metrics(watcher.metrics.exposition().decode())
    assert metric(samples, "pxrun_managed_containers", stack="t", state="unknown") == 1
    assert metric(samples, "pxrun_node_lost", stack="t", node="pve2") == 0

    clock.advance(240)  # 270 s down: still under the timeout
    watcher.cycle()
    assert not log.events("node_timeout_exceeded")
    samples = parse_metrics(watcher.metrics.exposition().decode())
    assert metric(samples, "pxrun_node_unreachable_seconds", stack="t", node="pve2") == 240

    stage.env.sim.settings.faults.offline_nodes = []
    clock.advance(30)
    watcher.cycle()
    (back,) = log.events("node_reconnected")
    assert back["container"] == "b" and back["seconds"] == 270
    assert not log.events("apply_started")  # nothing deleted, recreated or moved
    assert b.vmid in vmids_on(stage, "pve2")
    results = [(r["container"], r["result"]) for r in watcher.records.snapshot()
               if r["container"] == "b"]
    assert results[0][1].startswith("unknown: node pve2 is not answering")
    assert results[-1][1].startswith("known again: node pve2 answers")
    samples = parse_metrics(watcher.metrics.exposition().decode())
    assert metric(samples, "pxrun_managed_containers", stack="t", state="unknown") == 0
    assert ("pxrun_node_lost", (("node", "pve2"), ("stack", "t"))) not in samples
    stage.assert_converged()


def test_timeout_alerts_and_only_opted_in_stateless_containers_are_recreated(
        stage: Stage) -> None:
    stage.write(spec_text("""
        keep: {node: pve2}
        data: {node: pve2, lifecycle: {on_node_lost: recreate},
               mounts: {mp0: {volume: "local-lvm:1", path: /srv}}}
        cache: {node: [pve2, pve3], lifecycle: {on_node_lost: recreate}}
    """))
    assert stage.apply().ok
    before = {name: stage.plan().change(name) for name in ("keep", "data", "cache")}
    # Placement is deterministic (most free memory): cache joins the others on pve2, and
    # the spec lets it run on pve3 too.
    assert before["cache"].node == "pve2"  # type: ignore[union-attr]
    stage.env.sim.settings.faults.offline_nodes = ["pve2"]

    clock = FakeClock()
    unfenced, log = make_watcher(stage, clock, node_timeout=300.0, owner="unfenced")
    unfenced.cycle()
    clock.advance(301)
    unfenced.cycle()
    alerts = log.events("node_timeout_exceeded")
    assert {(e["container"], e["node"]) for e in alerts} == {
        ("keep", "pve2"), ("data", "pve2"), ("cache", "pve2")}
    samples = parse_metrics(unfenced.metrics.exposition().decode())
    assert metric(samples, "pxrun_node_lost", stack="t", node="pve2") == 1
    reasons = {e["container"]: e["reason"] for e in log.events("node_lost_decision")}
    assert "alert only" in reasons["keep"]
    assert "empty one" in reasons["data"]
    assert "--fence-confirmed" in reasons["cache"]
    assert not log.events("apply_started")
    unfenced.close()

    fenced, log = make_watcher(stage, clock, node_timeout=300.0, owner="fenced",
                               fence_confirmed=True)
    fenced.cycle()
    assert not log.events("apply_started")  # just lost, as far as this watcher knows
    clock.advance(301)
    fenced.cycle()
    (started,) = log.events("apply_started")
    assert started["container"] == "cache" and started["operation"] == "create"
    assert "node pve2 is lost and fenced" in started["reason"]
    (finished,) = log.events("apply_finished")
    assert finished["outcome"] == "done" and finished["node"] == "pve3"
    record = next(r for r in fenced.records.snapshot() if r["action"] == "create")
    assert record["container"] == "cache" and record["result"] == "done"
    recreated_at = iso(clock())

    # pve2 answers again: the old cache is a stale copy, not a second claim on the name.
    clock.advance(30)
    stage.env.sim.settings.faults.offline_nodes = []
    for name in ("keep", "data", "cache"):  # nothing was deleted meanwhile
        assert before[name].vmid in vmids_on(stage, "pve2")  # type: ignore[union-attr]
    old = before["cache"].vmid  # type: ignore[union-attr]
    check = fenced.cycle()
    assert check is not None
    (stale,) = [c for c in check.report.containers if c.kind == "stale"]
    assert (stale.address, stale.vmid, stale.node) == (f"cache~{old}", old, "pve2")
    again = stage.plan()
    assert not [d for d in again.diagnostics if "claims the name" in d.message]
    live = again.change("cache")
    assert live is not None and live.action is Action.NO_OP and live.node == "pve3"
    removal = again.change(f"cache~{old}")
    assert removal is not None and removal.action is Action.DELETE
    assert removal.reason.startswith(
        f"stale copy of cache after node pve2 was lost: cache was recreated as vmid "
        f"{live.vmid} on pve3 at {recreated_at}")
    assert all(c.action is Action.NO_OP for c in again.changes if c.address != removal.address)
    # This watcher may not delete: it alerts, and the record says why nothing was done.
    (alert,) = log.events("stale_copy")
    assert alert["container"] == f"cache~{old}" and alert["action"].startswith("alert only")
    withheld = [r for r in fenced.records.snapshot() if r["container"] == f"cache~{old}"]
    assert withheld[-1]["result"] == "withheld: --allow does not include delete"
    samples = parse_metrics(fenced.metrics.exposition().decode())
    assert metric(samples, "pxrun_stale_copies", stack="t") == 1
    assert old in vmids_on(stage, "pve2")
    fenced.close()

    # A watcher allowed to delete removes the stale copy, and only that.
    cleaner, log = make_watcher(stage, clock, owner="cleaner", allow="create,update,delete")
    cleaner.cycle()
    (done,) = log.events("apply_finished")
    assert (done["container"], done["operation"], done["outcome"]) == (
        f"cache~{old}", "delete", "done")
    assert old not in vmids_on(stage, "pve2")
    for name in ("keep", "data"):
        assert before[name].vmid in vmids_on(stage, "pve2")  # type: ignore[union-attr]
    assert live.vmid in vmids_on(stage, "pve3")
    stage.assert_converged()
    cleaner.close()
