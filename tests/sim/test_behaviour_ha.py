"""HA resources and PVE 9 rules through plain proxmoxer: requests go through the HA manager,
destroy needs purge, and a node that goes offline has its containers recovered."""

from __future__ import annotations

import time
from typing import Any

import pytest
from proxmoxer.core import ResourceException

from tests.sim.test_behaviour_lifecycle import create, wait


def settle(prox: Any, vmid: int, status: str, node: str | None = None) -> dict[str, Any]:
    """The HA manager acts after the request's own task: wait for the container's state."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for item in prox.cluster.resources.get(type="vm"):
            if item["vmid"] == vmid and item["status"] == status and \
                    (node is None or item["node"] == node):
                return dict(item)
    raise AssertionError(f"CT {vmid} did not become {status} on {node}")


def test_ha_managed_power_goes_through_the_ha_manager(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 101)
    prox.cluster.ha.resources.post(sid="101", max_restart=2)  # state defaults to started
    assert settle(prox, 101, "running")["hastate"] == "started"
    ct = prox.nodes("pve1").lxc(101)
    assert ct.status.current.get()["ha"] == {"managed": 1, "state": "started"}
    upid = ct.status.shutdown.post()
    assert ":hastop:101:" in upid and wait(prox, "pve1", upid)["exitstatus"] == "OK"
    log = [line["t"] for line in prox.nodes("pve1").tasks(upid).log.get()]
    assert log[0] == "Requesting HA shutdown for CT 101"
    settle(prox, 101, "stopped")
    lrm = [t for t in prox.nodes("pve1").tasks.get(vmid=101) if t["type"] == "vzshutdown"]
    assert lrm and lrm[0]["user"] == "root@pam"
    [resource] = prox.cluster.ha.resources.get()
    assert (resource["sid"], resource["state"], resource["max_restart"]) == (
        "ct:101", "stopped", 2)
    upid = ct.migrate.post(target="pve2")
    assert ":hamigrate:101:" in upid and wait(prox, "pve1", upid)["exitstatus"] == "OK"
    settle(prox, 101, "stopped", node="pve2")


def test_destroy_needs_purge_and_purge_cleans_rules(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 102)
    create(prox, 103)
    prox.cluster.ha.resources.post(sid="ct:102", state="stopped")
    prox.cluster.ha.resources.post(sid="ct:103", state="stopped")
    prox.cluster.ha.rules.post(rule="apart", type="resource-affinity", affinity="negative",
                               resources="ct:102,ct:103")
    with pytest.raises(ResourceException, match=r"unable to remove CT 102 - used in HA "
                                                r"resources and purge parameter not set\."):
        prox.nodes("pve1").lxc(102).delete()
    assert wait(prox, "pve1", prox.nodes("pve1").lxc(102).delete(purge=1))["exitstatus"] == \
        "OK"
    assert [r["sid"] for r in prox.cluster.ha.resources.get()] == ["ct:103"]
    [rule] = prox.cluster.ha.rules.get()  # the rule loses the resource; it names another
    assert rule["resources"] == "ct:103"
    assert wait(prox, "pve1", prox.nodes("pve1").lxc(103).delete(purge=1))["exitstatus"] == \
        "OK"
    assert prox.cluster.ha.rules.get() == []  # nothing left in it: the rule goes too


def test_rules_validate_and_round_trip(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 104)
    prox.cluster.ha.resources.post(sid="104", state="stopped")
    with pytest.raises(ResourceException) as single:
        prox.cluster.ha.rules.post(rule="r1", type="resource-affinity", affinity="positive",
                                   resources="104")
    assert single.value.errors == {"resources": "rule must define at least two resources"}
    with pytest.raises(ResourceException) as group:
        prox.cluster.ha.resources("ct:104").put(group="old")
    assert "replaced by HA rules" in group.value.errors["group"]
    prox.cluster.ha.rules.post(rule="prefer2", type="node-affinity", resources="104",
                               nodes="pve2:2,pve3", strict=1, comment="keep off pve1")
    rule = prox.cluster.ha.rules("prefer2").get()
    assert (rule["resources"], rule["nodes"], rule["strict"]) == ("ct:104", "pve2:2,pve3", 1)
    prox.cluster.ha.rules("prefer2").put(type="node-affinity", delete="comment")
    assert "comment" not in prox.cluster.ha.rules("prefer2").get()
    assert [r["rule"] for r in prox.cluster.ha.rules.get(resource="ct:104")] == ["prefer2"]
    prox.cluster.ha.rules("prefer2").delete()
    with pytest.raises(ResourceException, match="no such ha rule 'prefer2'"):
        prox.cluster.ha.rules("prefer2").get()


def test_a_dead_node_has_its_shared_storage_containers_recovered(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 105, rootfs="nfs-shared:2", start=1)
    create(prox, 106, start=1)  # local-lvm: nothing to recover it from
    for sid in ("ct:105", "ct:106"):
        prox.cluster.ha.resources.post(sid=sid)
    prox.cluster.ha.rules.post(rule="to3", type="node-affinity", resources="ct:105",
                               nodes="pve3:5,pve2:1")
    sim_env.sim.settings.time_scale = 0.0  # fence at once
    sim_env.sim.settings.faults.offline_nodes = ["pve1"]
    moved = settle(prox, 105, "running", node="pve3")
    assert moved["hastate"] == "started"
    status = {s["sid"]: s for s in prox.cluster.ha.status.current.get() if "sid" in s}
    assert status["ct:106"]["crm_state"] == "error" and status["ct:106"]["node"] == "pve1"
    recover = prox.nodes("pve3").tasks.get(vmid=105)
    assert recover and recover[0]["user"] == "root@pam"


def test_create_with_ha_managed(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    status = create(prox, 107, **{"ha-managed": 1, "start": 1})
    assert status["exitstatus"] == "OK"
    assert prox.cluster.ha.resources("ct:107").get()["state"] == "started"
