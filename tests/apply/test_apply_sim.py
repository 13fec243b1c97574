"""apply_plan against the simulator: create, each update policy row, replace, destroy, prune.
After each apply a new plan must be empty (convergence)."""

from __future__ import annotations

import pytest

from pxrun.plan.model import CreateContainer, Plan, TemplateDownload
from pxrun.pve.marker import split_description, stack_tag
from tests.apply.conftest import Recorder, Stage, spec_text

pytestmark = pytest.mark.integration


def _config(stage: Stage, name: str) -> dict[str, object]:
    ct = stage.plan().change(name)
    assert ct is not None and ct.vmid is not None and ct.node is not None
    config = stage.client.get(f"nodes/{ct.node}/lxc/{ct.vmid}/config")
    assert isinstance(config, dict)
    return config


ALPINE = "alpine-3.21-default_20241217_amd64.tar.xz"


def with_download(plan: Plan, node: str) -> Plan:
    """The plan's creates on `node` made from a catalog template that must be downloaded
    first (the marker keeps the spec's template, so the next plan stays empty)."""
    changes = []
    for change in plan.changes:
        ops = tuple(op.model_copy(update={
            "template": f"local:vztmpl/{ALPINE}",
            "download": TemplateDownload(storage="local", template=ALPINE)})
            if isinstance(op, CreateContainer) and op.node == node else op
            for op in change.operations)
        changes.append(change.model_copy(update={"operations": ops}))
    return plan.model_copy(update={"changes": tuple(changes)})


def test_create_downloads_once_orders_by_dependency_and_converges(stage: Stage) -> None:
    stage.write(spec_text("""
        db: {node: pve2}
        web:
          count: 2
          node: pve2
          depends_on: [db]
        tool: {state: stopped, node: pve1}
    """))
    hook = Recorder()
    summary = stage.apply(with_download(stage.plan(), "pve2"), hook=hook)

    assert summary.ok, summary
    assert [r.address for r in summary.results] == ["db", "tool", "web-1", "web-2"]
    downloads = [e for e in hook.events if e[0] == "task" and ":download:" in e[1][1]]
    assert len(downloads) == 1  # three creates need it, one download
    finished = [r.address for kind, r in hook.events if kind == "finished"]
    assert finished.index("db") < finished.index("web-1")
    assert finished.index("db") < finished.index("web-2")
    by_name = {r.address: r for r in summary.results}
    assert by_name["db"].ip and by_name["web-1"].ip and by_name["tool"].ip is None
    assert len({r.vmid for r in summary.results}) == 4
    config = _config(stage, "web-1")
    marker = split_description(str(config["description"]))[1]
    assert marker is not None and (marker.stack, marker.name) == ("t", "web-1")
    assert stack_tag("t") in str(config["tags"])
    assert config["unprivileged"] in (1, "1")
    stage.assert_converged()


def test_update_live_keys_keeps_ownership_and_never_restarts(stage: Stage) -> None:
    stage.write(spec_text("web: {tags: [a]}\n"))
    assert stage.apply().ok
    stage.write(spec_text("""
        web:
          resources: {cores: 2, memory: 768}
          description: "Front end"
          tags: [b, c]
    """))
    hook = Recorder()
    summary = stage.apply(hook=hook)
    assert summary.ok
    assert hook.steps("web") == ["config"]  # one PUT, no restart
    config = _config(stage, "web")
    notes, marker = split_description(str(config["description"]))
    assert notes == "Front end" and marker is not None and marker.name == "web"
    assert str(config["tags"]).split(";") == sorted(["b", "c", stack_tag("t")])
    stage.assert_converged()
    # Removing every user tag and the description must keep the container ours.
    stage.write(spec_text("web: {resources: {cores: 2, memory: 768}, tags: [], "
                          "description: ''}\n"))
    assert stage.apply().ok
    config = _config(stage, "web")
    assert str(config["tags"]) == stack_tag("t")
    assert split_description(str(config["description"]))[1] is not None
    stage.assert_converged()


@pytest.mark.parametrize(("policy", "answer", "restarted"), [
    ("auto", False, True), ("never", False, False), ("ask", True, True), ("ask", False, False),
])
def test_pending_changes_follow_the_restart_policy(stage: Stage, policy: str, answer: bool,
                                                   restarted: bool) -> None:
    stage.write(spec_text("web: {}\n"))
    assert stage.apply().ok
    stage.write(spec_text("web: {timezone: Europe/Berlin, features: {nesting: true}}\n"))
    hook = Recorder(answer=answer)
    summary = stage.apply(stage.plan(restart=policy), hook=hook)
    assert summary.ok
    result = summary.results[0]
    assert ("restart" in hook.steps("web")) is restarted
    assert hook.asked == (["web"] if policy == "ask" else [])
    if restarted:
        assert not result.pending
        stage.assert_converged()
    else:
        assert set(result.pending) >= {"timezone", "features"}
        assert any("stay pending" in w for w in hook.warnings())


def test_resize_and_hot_add_mount_are_online(stage: Stage) -> None:
    stage.write(spec_text("web: {}\n"))
    assert stage.apply().ok
    stage.write(spec_text("""
        web:
          resources: {disk: 6}
          mounts:
            mp0: {volume: local-lvm:2, path: /srv/data}
    """))
    hook = Recorder()
    summary = stage.apply(hook=hook)
    assert summary.ok
    assert hook.steps("web") == ["attach", "resize"]  # no stop, no restart
    config = _config(stage, "web")
    assert "size=6G" in str(config["rootfs"]) and "/srv/data" in str(config["mp0"])
    stage.assert_converged()
    stage.write(spec_text("web: {resources: {disk: 8}, mounts: {mp0: {volume: local-lvm:3, "
                          "path: /srv/data}}}\n"))
    assert stage.apply().ok
    stage.assert_converged()


def test_migrate_in_restart_mode_and_move_volume(stage: Stage) -> None:
    stage.write(spec_text("web: {node: pve1}\n"))
    assert stage.apply().ok
    stage.write(spec_text("web: {node: pve2}\n"))
    hook = Recorder()
    summary = stage.apply(hook=hook)
    assert summary.ok and summary.results[0].node == "pve2"
    assert "migrate" in hook.steps("web")
    stage.assert_converged()

    stage.write(spec_text("web: {node: pve2, storage: nfs-shared}\n"))
    plan = stage.plan()
    hook = Recorder()
    summary = stage.apply(plan, hook=hook)
    assert summary.ok, summary
    steps = hook.steps("web")
    assert "move" in steps and steps.index("shutdown") < steps.index("move") < steps.index(
        "start")
    assert str(_config(stage, "web")["rootfs"]).startswith("nfs-shared:")
    stage.assert_converged()


def test_replace_destroy_and_prune(stage: Stage) -> None:
    stage.write(spec_text("web: {}\nold: {}\n"))
    first = stage.apply()
    assert first.ok
    old_vmid = {r.address: r.vmid for r in first.results}["web"]
    # unprivileged cannot change in place: the container is replaced; `old` is pruned.
    stage.write(spec_text("web: {unprivileged: false}\n"))
    plan = stage.plan()
    assert plan.change("old") is not None and plan.change("old").prune  # type: ignore[union-attr]
    hook = Recorder()
    summary = stage.apply(plan, hook=hook)
    assert summary.ok, summary
    results = {r.address: r for r in summary.results}
    assert results["web"].vmid is not None
    assert hook.steps("web").index("delete") < hook.steps("web").index("create")
    assert "delete" in hook.steps("old") and results["old"].vmid == {
        r.address: r.vmid for r in first.results}["old"]  # the summary names what it deleted
    config = _config(stage, "web")
    assert str(config["unprivileged"]) == "0"
    stage.assert_converged()

    summary = stage.apply(stage.plan(mode="destroy"))
    assert summary.ok and [r.address for r in summary.results] == ["web"]
    assert not any(c.operations for c in stage.plan(mode="destroy").changes)
    guests = [g for n in ("pve1", "pve2", "pve3") for g in stage.client.get(f"nodes/{n}/lxc")]
    assert guests == []
    assert old_vmid is not None


def test_protected_container_is_not_stopped_before_a_delete_fails(stage: Stage) -> None:
    stage.write(spec_text("web: {}\n"))
    assert stage.apply().ok
    plan = stage.plan(mode="destroy")
    ct = plan.change("web")
    assert ct is not None and ct.vmid is not None and ct.node is not None
    # Someone turns protection on after the plan was made.
    stage.client.put(f"nodes/{ct.node}/lxc/{ct.vmid}/config", protection=1)
    summary = stage.apply(plan)
    assert not summary.ok
    result = summary.results[0]
    assert result.outcome == "failed" and "protection" in result.error
    status = stage.client.get(f"nodes/{ct.node}/lxc/{ct.vmid}/status/current")
    assert status["status"] == "running"  # nothing was stopped
