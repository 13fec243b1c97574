"""Safety nets end to end against the simulator (issue 11): a snapshot before a risky
change (kept N deep, rolled back on failure or by `pxrun rollback`), a vzdump backup before
a destroy and `pxrun restore`, and the rolling replace of a count group."""

from __future__ import annotations

from pathlib import Path

import pytest

from pxrun.apply import recover
from pxrun.plan.model import Snapshot
from pxrun.render.human import render_plan
from pxrun.render.jsonplan import plan_to_json
from pxrun.sim import cluster as sim_cluster
from pxrun.sim.runtime import init_state
from pxrun.sim.settings import Faults, SimSettings
from tests.apply.conftest import Recorder, Stage, run, spec_text
from tests.apply.nodestage import NodeStage

pytestmark = pytest.mark.integration


def _snapshots(stage: Stage, name: str) -> list[str]:
    change = stage.plan().change(name)
    assert change is not None and change.node is not None and change.vmid is not None
    return [s.name for s in recover.snapshots(stage.client, change.node, change.vmid)]


def test_a_snapshot_before_each_risky_change_keeps_the_last_n(stage: Stage) -> None:
    body = "web: {{timezone: {tz}, lifecycle: {{snapshot: before_change, snapshot_keep: 2}}}}\n"
    stage.write(spec_text(body.format(tz="UTC")))
    assert stage.apply().ok
    assert _snapshots(stage, "web") == []  # a create is not a risky change
    for zone in ("Europe/Berlin", "Europe/Paris", "Europe/Rome"):
        stage.write(spec_text(body.format(tz=zone)))
        plan = stage.plan()
        web = plan.change("web")
        assert web is not None and isinstance(web.operations[0], Snapshot)
        assert "# snapshot pxrun-<time> first (the last 2 are kept)" in render_plan(
            plan_to_json(plan))
        assert stage.apply(plan).ok
    names = _snapshots(stage, "web")
    assert len(names) == 2 and all(n.startswith("pxrun-") for n in names)
    stage.write(spec_text(body.format(tz="Europe/Rome").replace(", timezone", ", cores: 2, "
                                                                "timezone")))
    web = stage.plan().change("web")
    assert web is not None and not any(op.op == "snapshot" for op in web.operations)


def test_a_failed_change_rolls_back_with_rollback_on_failure(stage: Stage) -> None:
    stage.write(spec_text("web: {}\n"))
    assert stage.apply().ok
    stage.write(spec_text("web: {timezone: Europe/Berlin}\n"))
    plan = stage.plan(snapshot=True, rollback_on_failure=True)
    assert "rolled back if the change fails" in render_plan(plan_to_json(plan))
    stage.env.sim.settings.faults.task_failure["vzreboot"] = 1.0
    hook = Recorder()
    summary = stage.apply(plan, hook=hook)
    result = summary.results[0]
    assert result.outcome == "failed" and "rollback" in hook.steps("web")
    assert any("rolled back to snapshot pxrun-" in w for w in result.warnings)
    change = stage.plan().change("web")
    assert change is not None and change.node and change.vmid
    config = stage.client.get(f"nodes/{change.node}/lxc/{change.vmid}/config")
    assert "timezone" not in config  # the pending change went with the rollback
    status = stage.client.get(f"nodes/{change.node}/lxc/{change.vmid}/status/current")
    assert status["status"] == "running"


def test_a_failed_change_names_pxrun_rollback_which_works(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          ) -> None:
    state = tmp_path / "sim"
    init_state(state, settings=SimSettings(time_scale=0.02, seed=3))
    monkeypatch.chdir(tmp_path)
    Path("pxrun.yaml").write_text(spec_text("web: {}\n"), encoding="utf-8")
    assert run(state, "apply", "--auto-approve") == 0
    SimSettings(time_scale=0.02, seed=3, faults=Faults(task_failure={"vzreboot": 1.0})).save(
        state / "settings.json")
    Path("pxrun.yaml").write_text(spec_text("web: {timezone: Europe/Berlin}\n"),
                                  encoding="utf-8")
    capsys.readouterr()
    assert run(state, "apply", "--auto-approve", "--snapshot") == 1
    out = capsys.readouterr().out
    assert "hint: roll back with: pxrun rollback web pxrun-" in out
    assert run(state, "rollback", "web", "--list") == 0
    listed = capsys.readouterr().out
    assert listed.startswith("pxrun-")
    assert run(state, "rollback", "web", "--auto-approve") == 0
    assert "web (vmid 100 on pve1) is back at snapshot pxrun-" in capsys.readouterr().out
    assert run(state, "rollback", "web", "nosuch", "--auto-approve") == 3


def test_backup_before_destroy_and_restore_bring_the_data_back(node_stage: NodeStage) -> None:
    spec = spec_text("""
        web:
          node: pve1
          mounts: {mp0: {volume: local-lvm:1, path: /srv/data, backup: true}}
          lifecycle: {backup_before_destroy: local}
    """)
    node_stage.write(spec)
    assert node_stage.apply().ok
    node_stage.put_file("web", "/srv/data/keep.txt", "archived")
    old_vmid = node_stage.where("web")[1]
    plan = node_stage.plan(mode="destroy")
    web = plan.change("web")
    assert web is not None and [op.op for op in web.operations] == ["backup", "delete"]
    text = render_plan(plan_to_json(plan))
    assert "# backed up to local first (vzdump): `pxrun restore web` brings it back" in text
    assert "# data destroyed: mp0 (1 GiB)" in text
    assert node_stage.apply(plan).ok
    assert node_stage.plan().change("web").action.value == "create"  # type: ignore[union-attr]

    (found,) = recover.backups(node_stage.client, "t", "web")
    assert found.vmid == old_vmid and found.storage == "local"
    vmid = recover.free_vmid(node_stage.client, found.vmid)
    recover.restore(node_stage.client, found, vmid=vmid, storage="local-lvm")
    plan = node_stage.plan()
    web = plan.change("web")
    assert web is not None and web.vmid == vmid and [op.op for op in web.operations] == [
        "power"]  # restored stopped: the plan starts it
    assert node_stage.apply(plan).ok
    assert node_stage.read_file("web", "/srv/data/keep.txt") == "archived"
    node_stage.assert_converged(node_ssh_available=True)


def test_pxrun_restore_lists_refuses_an_existing_container_and_restores(
        simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text(
        "web: {lifecycle: {backup_before_destroy: local}}\n"), encoding="utf-8")
    assert run(simdir, "apply", "--auto-approve") == 0
    assert run(simdir, "restore", "web", "--auto-approve") == 3  # no backup yet
    assert run(simdir, "destroy", "--auto-approve") == 0
    capsys.readouterr()
    assert run(simdir, "restore", "web", "--list") == 0
    assert "local:backup/vzdump-lxc-100-" in capsys.readouterr().out
    assert run(simdir, "restore", "web", "--auto-approve") == 0
    assert "web is restored from local:backup/vzdump-lxc-100-" in capsys.readouterr().out
    assert run(simdir, "restore", "web", "--auto-approve") == 3  # it exists now
    assert "pass --force" in capsys.readouterr().err
    assert run(simdir, "apply", "--auto-approve") == 0
    assert run(simdir, "plan", "--detailed-exitcode") == 0


ROLLING = "web: {{count: 3, node: pve1, unprivileged: {flag}, lifecycle: {{max_unavailable: 1}}}}\n"


def test_a_rolling_replace_goes_one_replica_at_a_time(stage: Stage) -> None:
    stage.write(spec_text(ROLLING.format(flag="true")))
    assert stage.apply().ok
    stage.write(spec_text(ROLLING.format(flag="false")))
    plan = stage.plan()
    rolls = {c.address: c.roll_after for c in plan.changes}
    assert rolls == {"web-1": (), "web-2": ("web-1",), "web-3": ("web-2",)}
    assert "# rolling replace: starts once web-1 is running again with an address" in \
        render_plan(plan_to_json(plan))
    hook = Recorder()
    summary = stage.apply(plan, hook=hook, parallelism=3)
    assert summary.ok, summary.results
    done = [r.address for kind, r in hook.events if kind == "finished"]
    assert done == ["web-1", "web-2", "web-3"]
    events = [(kind, value) for kind, value in hook.events if kind in ("step", "finished")]
    first_delete_of_2 = events.index(("step", ("web-2", "delete")))
    assert events.index(("finished", summary.results[0])) < first_delete_of_2
    stage.assert_converged()


def test_a_replica_that_does_not_come_up_stops_the_roll(stage: Stage,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         ) -> None:
    stage.write(spec_text(ROLLING.format(flag="true")))
    assert stage.apply().ok
    stage.write(spec_text(ROLLING.format(flag="false")))
    plan = stage.plan()
    monkeypatch.delitem(sim_cluster.DHCP_NETS, "vmbr0")  # new containers get no lease
    summary = stage.apply(plan, parallelism=3, timeouts={"ip": 0.5})
    outcomes = {r.address: r.outcome for r in summary.results}
    assert outcomes == {"web-1": "failed", "web-2": "skipped", "web-3": "skipped"}
    assert "no IPv4 address" in summary.results[0].error
    untouched = stage.plan()
    assert [c.address for c in untouched.changes if c.action.is_replace] == ["web-2", "web-3"]
