"""Data volumes survive a replace (issue 11, item 1), end to end against the simulator: a
file written into a mount point through `pct exec` on the node is still there after the
container was replaced, whatever forced the replace; only `discard` destroys it, and the
plan says so in words."""

from __future__ import annotations

import pytest

from pxrun.plan.model import ReassignVolume
from pxrun.render.human import render_plan
from pxrun.render.jsonplan import plan_to_json
from tests.apply.conftest import Recorder, spec_text
from tests.apply.nodestage import NodeStage

pytestmark = pytest.mark.integration

DATA = """\
web:
  node: pve1
  resources: {{disk: {disk}}}
  unprivileged: {unprivileged}
  mounts:
    mp0: {{volume: local-lvm:1, path: /srv/data}}
  lifecycle: {{create_before_destroy: {first}, data: {data}}}
"""


def _spec(disk: int = 6, unprivileged: bool = True, first: bool = False,
          data: str = "keep") -> str:
    return spec_text(DATA.format(disk=disk, unprivileged=str(unprivileged).lower(),
                                 first=str(first).lower(), data=data))


def test_1_a_replace_forced_by_the_root_disk_keeps_mount_point_data(
        node_stage: NodeStage) -> None:
    node_stage.write(_spec(disk=6))
    assert node_stage.apply().ok
    node_stage.put_file("web", "/srv/data/keep.txt", "precious")
    old_vmid = node_stage.where("web")[1]
    node_stage.write(_spec(disk=5))
    plan = node_stage.plan()
    web = plan.change("web")
    assert web is not None and web.action.is_replace and not web.data_destroyed
    assert [op.volume for op in web.operations if isinstance(op, ReassignVolume)] == ["mp0"]
    text = render_plan(plan_to_json(plan))
    assert "# data kept: mp0 (1 GiB) moves to the new container" in text
    hook = Recorder()
    summary = node_stage.apply(plan, hook=hook)
    assert summary.ok, summary.results
    steps = hook.steps("web")
    assert steps.index("shutdown") < steps.index("create") < steps.index("reassign") < \
        steps.index("delete") < steps.index("start")
    assert node_stage.where("web")[1] != old_vmid
    assert node_stage.read_file("web", "/srv/data/keep.txt") == "precious"
    node_stage.assert_converged(node_ssh_available=True)


def test_create_before_destroy_keeps_the_data_too(node_stage: NodeStage) -> None:
    node_stage.write(_spec(first=True))
    assert node_stage.apply().ok
    node_stage.put_file("web", "/srv/data/keep.txt", "kept")
    node_stage.write(_spec(unprivileged=False, first=True))
    hook = Recorder()
    summary = node_stage.apply(hook=hook)
    assert summary.ok, summary.results
    steps = hook.steps("web")
    assert steps.index("create") < steps.index("shutdown") < steps.index("reassign") < \
        steps.index("delete") < steps.index("start")
    assert node_stage.read_file("web", "/srv/data/keep.txt") == "kept"
    node_stage.assert_converged(node_ssh_available=True)


def test_only_discard_destroys_the_data_and_the_plan_says_so(node_stage: NodeStage) -> None:
    node_stage.write(_spec())
    assert node_stage.apply().ok
    node_stage.put_file("web", "/srv/data/gone.txt", "bye")
    node_stage.write(_spec(unprivileged=False))
    plan = node_stage.plan(discard_data=True)
    text = render_plan(plan_to_json(plan))
    assert "# data destroyed: mp0 (1 GiB)" in text
    assert node_stage.apply(plan).ok
    assert node_stage.read_file("web", "/srv/data/gone.txt") is None
    node_stage.write(_spec(unprivileged=True, data="discard"))
    plan = node_stage.plan()
    web = plan.change("web")
    assert web is not None and [v.slot for v in web.data_destroyed] == ["mp0"]


def test_detached_disks_and_renamed_slots_arrive_as_unused(node_stage: NodeStage) -> None:
    node_stage.write(spec_text("""
        web:
          state: stopped
          mounts:
            mp0: {volume: local-lvm:1, path: /srv/data}
            mp1: {volume: local-lvm:1, path: /srv/logs}
    """))
    assert node_stage.apply().ok
    node_stage.write(spec_text("""
        web:
          state: stopped
          mounts:
            mp0: {volume: local-lvm:1, path: /srv/data}
    """))
    assert node_stage.apply().ok  # mp1 detached: kept as unused0
    node_stage.write(spec_text("""
        web:
          state: stopped
          unprivileged: false
          mounts:
            mp1: {volume: local-lvm:2, path: /srv/new}
    """))
    plan = node_stage.plan()
    web = plan.change("web")
    assert web is not None
    moves = [(op.volume, op.target_slot) for op in web.operations
             if isinstance(op, ReassignVolume)]
    assert moves == [("mp0", "unused0"), ("unused0", "unused1")]
    assert node_stage.apply(plan).ok
    node, vmid = node_stage.where("web")
    config = node_stage.client.get(f"nodes/{node}/lxc/{vmid}/config")
    assert {config["unused0"].split(",")[0], config["unused1"].split(",")[0]} == {
        f"local-lvm:vm-{vmid}-disk-{n}" for n in (2, 3)}
    assert config["mp1"].startswith(f"local-lvm:vm-{vmid}-disk-1,")  # a new, empty volume
    node_stage.assert_converged(node_ssh_available=True)


def test_a_prune_that_would_destroy_data_needs_discard(node_stage: NodeStage) -> None:
    node_stage.write(_spec() + "  other: {}\n")
    assert node_stage.apply().ok
    node_stage.write(spec_text("other: {}\n"))
    plan = node_stage.plan()
    assert [e.message for e in plan.errors] == [
        "pruning web would destroy its data volumes (mp0 (1 GiB))"]
    assert not node_stage.plan(discard_data=True).errors


def test_a_fixed_vmid_cannot_keep_data_through_a_replace(node_stage: NodeStage) -> None:
    node_stage.write(spec_text("""
        web:
          vmid: 150
          mounts: {mp0: {volume: local-lvm:1, path: /srv/data}}
    """))
    assert node_stage.apply().ok
    node_stage.write(spec_text("""
        web:
          vmid: 150
          unprivileged: false
          mounts: {mp0: {volume: local-lvm:1, path: /srv/data}}
    """))
    errors = [e.message for e in node_stage.plan().errors]
    assert len(errors) == 1 and "the spec fixes vmid 150" in errors[0]


def test_a_replace_that_also_moves_nodes_migrates_the_old_one_first(
        node_stage: NodeStage) -> None:
    node_stage.write(_spec())
    assert node_stage.apply().ok
    node_stage.put_file("web", "/srv/data/keep.txt", "travels")
    node_stage.write(_spec(unprivileged=False).replace("node: pve1", "node: pve2"))
    hook = Recorder()
    summary = node_stage.apply(hook=hook)
    assert summary.ok, summary.results
    assert "migrate" in hook.steps("web")
    assert node_stage.where("web")[0] == "pve2"
    assert node_stage.read_file("web", "/srv/data/keep.txt") == "travels"
    node_stage.assert_converged(node_ssh_available=True)


def test_create_before_destroy_that_moves_nodes_hands_over_then_migrates(
        node_stage: NodeStage) -> None:
    node_stage.write(_spec(first=True))
    assert node_stage.apply().ok
    node_stage.put_file("web", "/srv/data/keep.txt", "moved")
    node_stage.write(_spec(unprivileged=False, first=True).replace("node: pve1", "node: pve2"))
    hook = Recorder()
    summary = node_stage.apply(hook=hook)
    assert summary.ok, summary.results
    steps = hook.steps("web")
    assert steps.index("reassign") < steps.index("migrate") < steps.index("start")
    assert node_stage.where("web")[0] == "pve2"
    assert node_stage.read_file("web", "/srv/data/keep.txt") == "moved"
    node_stage.assert_converged(node_ssh_available=True)


def test_an_unused_disk_keeps_its_files_through_a_migration_and_a_replace(
        node_stage: NodeStage) -> None:
    # Found by the data-safety property: migrating back swaps the volumes' disk numbers
    # (disk-1 <-> disk-2), which the simulator's file view once copied one over the other.
    node_stage.write(spec_text("a: {node: pve1, mounts: {mp1: {volume: local-lvm:1, "
                               "path: /srv/mp1}}}\n"))
    assert node_stage.apply().ok
    node_stage.put_file("a", "/srv/mp1/f0.txt", "detached, then migrated twice")
    node_stage.write(spec_text("a: {node: pve2, mounts: {mp0: {volume: local-lvm:2, "
                               "path: /srv/mp0}}}\n"))
    assert node_stage.apply().ok  # mp1 is kept as unused0
    node_stage.write(spec_text("a: {node: pve1, unprivileged: false, mounts: {mp1: "
                               "{volume: local-lvm:1, path: /srv/mp1}}}\n"))
    plan = node_stage.plan()
    moves = [(op.volume, op.target_slot) for op in plan.changes[0].operations
             if isinstance(op, ReassignVolume)]
    assert moves == [("mp0", "unused0"), ("unused0", "unused1")]
    assert node_stage.apply(plan).ok
    node, vmid = node_stage.where("a")
    config = node_stage.client.get(f"nodes/{node}/lxc/{vmid}/config")
    from pxrun.sim.rootfs import volume_dir

    kept = volume_dir(node_stage.runtime.state_dir, config["unused1"].split(",")[0])
    assert (kept / "f0.txt").read_text() == "detached, then migrated twice"
