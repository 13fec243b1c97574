"""Node information and bulk actions through plain proxmoxer."""

from __future__ import annotations

import time
from typing import Any

import pytest
from proxmoxer.core import ResourceException

from tests.sim.test_behaviour_lifecycle import create, wait


def test_dns_time_hosts_and_version(sim_env: Any) -> None:
    node = sim_env.proxmoxer().nodes("pve2")
    assert node.dns.get()["search"] == "pxrun.lan"
    node.dns.put(search="example.org", dns1="192.0.2.53")
    assert node.dns.get() == {"search": "example.org", "dns1": "192.0.2.53"}
    assert abs(node.time.get()["time"] - time.time()) < 5
    node.time.put(timezone="Europe/Vienna")
    assert node.time.get()["timezone"] == "Europe/Vienna"
    with pytest.raises(ResourceException, match="Timezone 'Mars/Olympus' does not exist"):
        node.time.put(timezone="Mars/Olympus")
    hosts = node.hosts.get()
    assert "pve1.pxrun.lan" in hosts["data"]
    node.hosts.post(data=hosts["data"] + "192.0.2.9 extra\n", digest=hosts["digest"])
    with pytest.raises(ResourceException, match="detected modified configuration"):
        node.hosts.post(data="x", digest=hosts["digest"])
    assert node.version.get()["release"] == "9.1"


def test_logs_services_and_disks(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 101)
    log = [line["t"] for line in prox.nodes("pve1").syslog.get(limit=0)]
    assert any("starting task UPID:pve1:" in line and ":vzcreate:101:" in line for line in log)
    assert any(":vzcreate:101:" in line for line in prox.nodes("pve1").journal.get())
    services = {s["service"]: s for s in prox.nodes("pve1").services.get()}
    assert services["pveproxy"]["state"] == "running"
    upid = prox.nodes("pve1").services("cron").stop.post()
    assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    assert prox.nodes("pve1").services("cron").state.get()["active-state"] == "inactive"
    disks = prox.nodes("pve1").disks.list.get()
    assert {d["devpath"] for d in disks} == {"/dev/nvme0n1", "/dev/sda"}
    assert all(d["health"] == "PASSED" for d in disks)


def test_startall_stopall_and_migrateall(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 102, onboot=1, startup="order=2")
    create(prox, 103, onboot=1, startup="order=1")
    create(prox, 104)  # no onboot: startall leaves it alone
    upid = prox.nodes("pve1").startall.post()
    assert ":startall::" in upid and wait(prox, "pve1", upid)["exitstatus"] == "OK"
    log = [line["t"] for line in prox.nodes("pve1").tasks(upid).log.get()]
    assert log[:2] == ["Starting CT 103", "Starting CT 102"]  # startup order
    status = {c["vmid"]: c["status"] for c in prox.nodes("pve1").lxc.get()}
    assert status == {102: "running", 103: "running", 104: "stopped"}
    assert wait(prox, "pve1", prox.nodes("pve1").stopall.post())["exitstatus"] == "OK"
    assert {c["status"] for c in prox.nodes("pve1").lxc.get()} == {"stopped"}
    upid = prox.nodes("pve1").migrateall.post(target="pve2", vms="102,103")
    assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    assert sorted(c["vmid"] for c in prox.nodes("pve2").lxc.get()) == [102, 103]


def test_cluster_bulk_actions(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 105, node="pve1")
    create(prox, 106, node="pve2")
    upid = prox.cluster("bulk-action").guest.start.post(vms=[105, 106])
    node = upid.split(":")[1]
    assert wait(prox, node, upid)["exitstatus"] == "OK"
    assert {c["vmid"] for c in prox.cluster.resources.get(type="vm")
            if c["status"] == "running"} == {105, 106}
    upid = prox.cluster("bulk-action").guest.shutdown.post()
    assert wait(prox, upid.split(":")[1], upid)["exitstatus"] == "OK"
    assert {c["status"] for c in prox.cluster.resources.get(type="vm")} == {"stopped"}


def test_rrddata_is_plausible(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 107, start=1)
    node = prox.nodes("pve1").rrddata.get(timeframe="hour")
    assert len(node) == 70 and node[1]["time"] - node[0]["time"] == 60
    assert all(0 < p["cpu"] < 1 and 0 < p["memused"] <= p["memtotal"] for p in node)
    sim_env.sim.containers[107].started_at = time.time() - 7200  # up for two hours
    ct = prox.nodes("pve1").lxc(107).rrddata.get(timeframe="hour")
    assert ct[-1]["mem"] > 0 and ct[-1]["netin"] > 0  # running: traffic, not zeros
    assert len({round(p["cpu"], 4) for p in ct if "cpu" in p}) > 1  # a series, not a constant
    peak = prox.nodes("pve1").lxc(107).rrddata.get(timeframe="hour", cf="MAX")
    assert peak[-1]["cpu"] > ct[-1]["cpu"]
    used = prox.nodes("pve1").storage("local-lvm").status.get()["used"]
    storage = prox.nodes("pve1").storage("local-lvm").rrddata.get(timeframe="day")
    assert 0.9 * used <= storage[-1]["used"] <= used
