"""Cluster-level behaviour through proxmoxer: resources, nextid, pools, templates, tasks, faults."""

from __future__ import annotations

from typing import Any

import pytest
from proxmoxer.core import ResourceException

from tests.sim.test_behaviour_lifecycle import create, wait


def test_version_nodes_and_resources(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    assert prox.version.get()["release"] == "9.1"
    nodes = prox.nodes.get()
    assert [n["node"] for n in nodes] == ["pve1", "pve2", "pve3"]
    assert all(n["status"] == "online" and n["maxmem"] > n["mem"] for n in nodes)
    create(prox, 120, tags="b;a")
    before = prox.nodes("pve1").status.get()["memory"]["used"]
    wait(prox, "pve1", prox.nodes("pve1").lxc(120).status.start.post())
    assert prox.nodes("pve1").status.get()["memory"]["used"] == before + 512 * 1024**2
    vms = prox.cluster.resources.get(type="vm")
    assert len(vms) == 1 and vms[0]["id"] == "lxc/120"
    guest = vms[0]
    assert guest["vmid"] == 120 and guest["type"] == "lxc" and guest["status"] == "running"
    assert guest["node"] == "pve1" and guest["tags"] == "a;b"
    assert guest["maxmem"] == 512 * 1024**2 and guest["maxdisk"] == 8 * 1024**3
    storages = prox.cluster.resources.get(type="storage")
    assert {s["id"] for s in storages} >= {"storage/pve1/local-lvm", "storage/pve3/nfs-shared"}
    assert all(s["shared"] in (0, 1) for s in storages)
    sim_env.sim.settings.faults.offline_nodes = ["pve1"]
    assert prox.cluster.resources.get(type="vm")[0]["status"] == "unknown"
    node1 = next(n for n in prox.cluster.resources.get(type="node") if n["node"] == "pve1")
    assert node1["status"] == "offline"


def test_nextid_is_a_string_and_probes(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    assert prox.cluster.nextid.get() == "100"
    create(prox, 100)
    assert prox.cluster.nextid.get() == "101"
    assert prox.cluster.nextid.get(vmid=250) == "250"
    with pytest.raises(ResourceException) as err:
        prox.cluster.nextid.get(vmid=100)
    assert err.value.status_code == 400 and err.value.errors == {"vmid": "VM 100 already exists"}


def test_pools_are_an_atomic_lock(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    prox.pools.post(poolid="pxrun-lock", comment="held")
    with pytest.raises(ResourceException, match="pool 'pxrun-lock' already exists"):
        prox.pools.post(poolid="pxrun-lock")
    create(prox, 121, pool="pxrun-lock")
    members = prox.pools.get(poolid="pxrun-lock")[0]["members"]
    assert [(m["id"], m["node"]) for m in members] == [("lxc/121", "pve1")]
    assert prox.cluster.resources.get(type="vm")[0]["pool"] == "pxrun-lock"
    with pytest.raises(ResourceException, match="is not empty"):
        prox.pools.delete(poolid="pxrun-lock")
    prox.pools.put(poolid="pxrun-lock", vms="121", delete=1)
    prox.pools.delete(poolid="pxrun-lock")
    assert prox.pools.get() == []


def test_template_download(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    catalog = prox.nodes("pve2").aplinfo.get()
    alpine = next(t for t in catalog if t["os"] == "alpine-3.21")
    assert alpine["template"].endswith(".tar.xz") and len(alpine["sha512sum"]) == 128
    with pytest.raises(ResourceException) as err:
        prox.nodes("pve2").aplinfo.post(storage="local", template="nope.tar.zst")
    assert err.value.errors == {"template": "no such template"}
    with pytest.raises(ResourceException, match="does not support templates"):
        prox.nodes("pve2").aplinfo.post(storage="local-lvm", template=alpine["template"])
    upid = prox.nodes("pve2").aplinfo.post(storage="local", template=alpine["template"])
    assert f":download:{alpine['template']}:" in upid
    assert wait(prox, "pve2", upid)["exitstatus"] == "OK"
    content = prox.nodes("pve2").storage("local").content.get(content="vztmpl")
    volids = {c["volid"] for c in content}
    assert f"local:vztmpl/{alpine['template']}" in volids
    assert {c["format"] for c in content} == {"tzst", "txz"}


def test_token_is_not_root_for_features(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 122)
    ct = prox.nodes("pve1").lxc(122)
    ct.config.put(features="nesting=1")  # nesting on an unprivileged CT is allowed
    with pytest.raises(ResourceException) as err:
        ct.config.put(features="nesting=1,keyctl=1")
    assert err.value.status_code == 403
    assert "changing feature flags (except nesting) is only allowed for root@pam" in str(
        err.value)
    with pytest.raises(ResourceException, match="mount point type bind is only allowed"):
        ct.config.put(mp0="/srv/host,mp=/data")


def test_task_list_log_and_failure_fault(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 123)
    sim_env.sim.settings.faults.task_failure = {"vzstart": 1.0}
    status = wait(prox, "pve1", prox.nodes("pve1").lxc(123).status.start.post())
    assert status["exitstatus"] == "startup for container '123' failed"
    assert prox.nodes("pve1").lxc(123).status.current.get()["status"] == "stopped"
    tasks = prox.nodes("pve1").tasks.get(vmid=123)
    assert [t["type"] for t in tasks] == ["vzstart", "vzcreate"]
    assert tasks[0]["status"] == "startup for container '123' failed"
    errors_only = prox.nodes("pve1").tasks.get(errors=1)
    assert [t["type"] for t in errors_only] == ["vzstart"]
    log = prox.nodes("pve1").tasks(tasks[1]["upid"]).log.get(start=1, limit=2)
    assert [line["n"] for line in log] == [2, 3]
    with pytest.raises(ResourceException) as err:
        prox.nodes("pve1").tasks("UPID:bogus").status.get()
    assert err.value.errors == {"upid": "unable to parse worker upid"}


def test_stop_running_task(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 124)
    sim_env.sim.settings.time_scale = 100.0  # a start that would take 10 s
    upid = prox.nodes("pve1").lxc(124).status.start.post()
    running = prox.nodes("pve1").tasks.get(source="active")
    assert [t["upid"] for t in running] == [upid] and "status" not in running[0]
    prox.nodes("pve1").tasks(upid).delete()
    assert wait(prox, "pve1", upid)["exitstatus"] == "received interrupt"


def test_lock_contention_fault(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 125)
    sim_env.sim.settings.faults.lock_contention = 1.0
    with pytest.raises(ResourceException) as err:
        prox.nodes("pve1").lxc(125).config.put(cores=2)
    assert err.value.status_code == 500
    assert "can't lock file '/run/lock/lxc/pve-config-125.lock' - got timeout" in str(err.value)
