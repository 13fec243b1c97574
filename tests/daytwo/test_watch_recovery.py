"""Recreating a lost container, end to end: its shared data volume, and HA's own recovery.

The watcher runs in-process against the simulator over HTTPS, one cycle at a time; a fake
wall clock moves the outage past --node-timeout. Proxmox frees a container's own volumes
when the container is deleted and leaves other guests' volumes alone; the simulator does
the same, so these tests would lose the data if pxrun ever deleted the wrong thing.
"""

from __future__ import annotations

from typing import Any

import pytest

from pxrun.plan.model import Action
from tests.apply.conftest import Stage, spec_text
from tests.daytwo.conftest import FakeClock, make_watcher

pytestmark = pytest.mark.integration
NODES = ("pve1", "pve2", "pve3")


def where(stage: Stage, vmid: int) -> str | None:
    """The node that holds container `vmid` (None: no node does)."""
    prox = stage.env.proxmoxer()
    return next((n for n in NODES if vmid in {int(g["vmid"]) for g in prox.nodes(n).lxc.get()}),
                None)


def mp0_volume(stage: Stage, node: str, vmid: int) -> str:
    return str(stage.env.proxmoxer().nodes(node).lxc(vmid).config.get()["mp0"]).split(",")[0]


def shared_volumes(stage: Stage) -> set[str]:
    content = stage.env.proxmoxer().nodes("pve1").storage("nfs-shared").content.get()
    return {str(item["volid"]) for item in content}


def test_recreate_attaches_the_shared_volume_again_and_the_stale_copy_goes_without_it(
        stage: Stage) -> None:
    # The data volume belongs to a container that is not the one recreated (here `vault`,
    # standing for a volume allocated under a placeholder vmid): deleting the old copy
    # of `cache` later must not free it.
    stage.write(spec_text("vault: {node: pve1, mounts: {mp0: {volume: 'nfs-shared:1', "
                          "path: /srv}}}"))
    assert stage.apply().ok
    vault = stage.plan().change("vault")
    assert vault is not None and vault.vmid is not None
    volid = mp0_volume(stage, "pve1", vault.vmid)
    stage.write(spec_text(f"""
        vault: {{node: pve1, mounts: {{mp0: {{volume: 'nfs-shared:1', path: /srv}}}}}}
        cache: {{node: [pve2, pve3], lifecycle: {{on_node_lost: recreate}},
                mounts: {{mp0: {{volume: '{volid}', path: /data}}}}}}
    """))
    assert stage.apply().ok
    first = stage.plan().change("cache")
    assert first is not None and first.vmid is not None and first.node is not None
    lost, other = first.node, ({"pve2", "pve3"} - {first.node}).pop()
    assert mp0_volume(stage, lost, first.vmid) == volid

    stage.env.sim.settings.faults.offline_nodes = [lost]
    clock = FakeClock()
    watcher, log = make_watcher(stage, clock, node_timeout=300.0, fence_confirmed=True,
                                allow="create,update,delete")
    watcher.cycle()
    clock.advance(301)
    watcher.cycle()
    (finished,) = log.events("apply_finished")
    assert (finished["container"], finished["outcome"], finished["node"]) == (
        "cache", "done", other)
    again = stage.plan().change("cache")
    assert again is not None and again.vmid is not None and again.vmid != first.vmid
    assert mp0_volume(stage, other, again.vmid) == volid  # the same data, attached again

    clock.advance(30)
    stage.env.sim.settings.faults.offline_nodes = []
    watcher.cycle()  # the old copy is stale: deleted, its root filesystem with it
    (removed,) = [e for e in log.events("apply_finished") if e["operation"] == "delete"]
    assert (removed["container"], removed["outcome"]) == (f"cache~{first.vmid}", "done")
    assert where(stage, first.vmid) is None
    assert volid in shared_volumes(stage)  # the shared volume is still there ...
    assert mp0_volume(stage, other, again.vmid) == volid  # ... used by the live copy
    assert mp0_volume(stage, "pve1", vault.vmid) == volid
    stage.assert_converged()
    watcher.close()


def test_an_ha_resource_is_left_to_ha_and_never_recreated(stage: Stage) -> None:
    stage.write(spec_text("cache: {storage: nfs-shared, lifecycle: {on_node_lost: recreate}}"))
    assert stage.apply().ok
    cache = stage.plan().change("cache")
    assert cache is not None and cache.vmid is not None and cache.node is not None
    stage.env.proxmoxer().cluster.ha.resources.post(sid=f"ct:{cache.vmid}")
    durations: dict[str, Any] = stage.env.sim.settings.task_durations
    durations["hafence"] = 3600.0  # HA waits for its fence to complete
    stage.env.sim.settings.faults.offline_nodes = [cache.node]

    clock = FakeClock()
    watcher, log = make_watcher(stage, clock, node_timeout=300.0, fence_confirmed=True)
    watcher.cycle()
    clock.advance(301)
    watcher.cycle()
    (decision,) = log.events("node_lost_decision")
    assert decision["operation"] == "alert" and "HA manages it" in decision["reason"]
    assert not log.events("apply_started")

    durations["hafence"] = 0.0  # the node is fenced: HA recovers the container elsewhere
    check = watcher.cycle()
    assert check is not None and not check.observed.unknown
    moved = check.observed.containers["cache"]
    assert moved.vmid == cache.vmid and moved.node != cache.node
    assert not log.events("apply_started")  # pxrun neither recreated nor moved it

    stage.env.sim.settings.faults.offline_nodes = []
    watcher.cycle()
    assert not log.events("apply_started") and not log.events("stale_copy")
    assert all(c.action is Action.NO_OP for c in stage.plan().changes)
    watcher.close()
