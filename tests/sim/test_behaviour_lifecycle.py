"""Container lifecycle through plain proxmoxer over HTTPS: create, config, power, destroy."""

from __future__ import annotations

import time
from typing import Any

import pytest
from proxmoxer.core import ResourceException

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def wait(prox: Any, node: str, upid: str, timeout: float = 10.0) -> dict[str, Any]:
    """Poll the task like a client does, bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: dict[str, Any] = prox.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
    raise AssertionError(f"task {upid} did not finish")


def create(prox: Any, vmid: int = 101, node: str = "pve1", **extra: Any) -> dict[str, Any]:
    params = {"vmid": vmid, "ostemplate": TEMPLATE, "hostname": f"ct{vmid}",
              "rootfs": "local-lvm:8", "net0": "name=eth0,bridge=vmbr0,ip=dhcp", **extra}
    upid = prox.nodes(node).lxc.post(**params)
    return wait(prox, node, upid)


def test_create_config_and_task(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    upid = prox.nodes("pve1").lxc.post(vmid=101, ostemplate=TEMPLATE, hostname="web1",
                                       memory=1024, rootfs="local-lvm:8",
                                       net0="name=eth0,bridge=vmbr0,ip=dhcp",
                                       tags="Web,prod web", unprivileged=1)
    assert upid.startswith("UPID:pve1:") and ":vzcreate:101:root@pam!" in upid
    # the vmid is reserved at once
    with pytest.raises(ResourceException) as err:
        prox.cluster.nextid.get(vmid=101)
    assert err.value.status_code == 400
    status = wait(prox, "pve1", upid)
    assert status["exitstatus"] == "OK"
    assert status["user"] == "root@pam" and status["tokenid"] == "pxrun"
    log = prox.nodes("pve1").tasks(upid).log.get()
    assert log[-1]["t"] == "TASK OK" and log[0]["n"] == 1
    conf = prox.nodes("pve1").lxc(101).config.get()
    assert conf["hostname"] == "web1" and conf["memory"] == 1024 and conf["swap"] == 512
    assert conf["rootfs"] == "local-lvm:vm-101-disk-0,size=8G"
    assert conf["tags"] == "prod;web" and conf["ostype"] == "debian"
    assert conf["net0"].startswith("name=eth0,bridge=vmbr0,hwaddr=BC:24:11:")
    assert conf["net0"].endswith(",ip=dhcp,type=veth")
    assert len(conf["digest"]) == 40 and "lock" not in conf
    items = prox.nodes("pve1").lxc.get()
    assert [(i["vmid"], i["status"], i["name"]) for i in items] == [(101, "stopped", "web1")]
    assert prox.cluster.nextid.get() == "100"
    with pytest.raises(ResourceException) as err:
        create(prox, 101, node="pve2")
    assert err.value.status_code == 500 and "CT 101 already exists on node 'pve1'" in str(
        err.value)


def test_start_hotplug_pending_reboot(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 102)
    ct = prox.nodes("pve1").lxc(102)
    assert wait(prox, "pve1", ct.status.start.post())["exitstatus"] == "OK"
    assert ct.status.current.get()["status"] == "running"
    with pytest.raises(ResourceException, match="CT 102 already running"):
        ct.status.start.post()
    ct.config.put(memory=2048, features="nesting=1")
    current = ct.config.get(current=1)
    assert current["memory"] == 2048 and "features" not in current
    assert ct.config.get()["features"] == "nesting=1"
    pending = {i["key"]: i for i in ct.pending.get()}
    assert pending["features"] == {"key": "features", "pending": "nesting=1"}
    assert pending["memory"]["value"] == 2048 and "pending" not in pending["memory"]
    assert wait(prox, "pve1", ct.status.reboot.post())["exitstatus"] == "OK"
    assert ct.config.get(current=1)["features"] == "nesting=1"
    ifaces = ct.interfaces.get()
    eth0 = next(i for i in ifaces if i["name"] == "eth0")
    assert eth0["inet"].startswith("10.20.0.") and eth0["inet"].endswith("/24")
    assert wait(prox, "pve1", ct.status.stop.post())["exitstatus"] == "OK"
    with pytest.raises(ResourceException, match="VM 102 not running"):
        ct.status.reboot.post()


def test_digest_lock_and_errors(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 103)
    ct = prox.nodes("pve1").lxc(103)
    digest = ct.config.get()["digest"]
    ct.config.put(description="first line\nsecond: 100%", digest=digest)
    assert ct.config.get()["description"] == "first line\nsecond: 100%"
    with pytest.raises(ResourceException) as err:
        ct.config.put(cores=2, digest=digest)
    assert err.value.status_code == 500
    assert "detected modified configuration - file changed by other user? Try again." in str(
        err.value)
    with pytest.raises(ResourceException) as err:
        ct.config.put(delete="memory")
    assert "unable to delete required option 'memory'" in str(err.value)
    with pytest.raises(ResourceException) as err:
        ct.config.put(delete="bogus")
    assert err.value.status_code == 400 and err.value.errors == {
        "delete": "unknown option 'bogus'"}
    with pytest.raises(ResourceException) as err:
        ct.config.put(cores=2, delete="cores")
    assert err.value.errors == {"delete": "you can't use '-cores' and -delete cores' at the "
                                          "same time"}
    sim_env.sim.containers[103].conf["lock"] = "backup"
    with pytest.raises(ResourceException, match=r"CT is locked \(backup\)"):
        ct.config.put(cores=2)
    del sim_env.sim.containers[103].conf["lock"]
    with pytest.raises(ResourceException) as err:
        prox.nodes("pve1").lxc(999).config.get()
    assert "Configuration file 'nodes/pve1/lxc/999.conf' does not exist" in str(err.value)


def test_destroy_with_protection(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 104, mp0="local-lvm:2,mp=/data")
    ct = prox.nodes("pve1").lxc(104)
    ct.config.put(protection=1)
    with pytest.raises(ResourceException, match="can't remove CT 104 - protection mode enabled"):
        ct.delete()
    with pytest.raises(ResourceException,
                       match="can't remove CT 104 drive 'mp0' - protection mode enabled"):
        ct.config.put(delete="mp0")
    ct.config.put(protection=0)
    ct.config.put(delete="mp0")
    assert ct.config.get()["unused0"] == "local-lvm:vm-104-disk-1"
    wait(prox, "pve1", ct.status.start.post())
    with pytest.raises(ResourceException,
                       match="unable to destroy CT 104 - container is running"):
        ct.delete()
    assert wait(prox, "pve1", ct.delete(force=1, purge=1))["exitstatus"] == "OK"
    content = prox.nodes("pve1").storage("local-lvm").content.get()
    assert [v for v in content if v.get("vmid") == 104] == []
    assert prox.nodes("pve1").lxc.get() == []


def test_network_hotplug_and_static_addresses(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 105, net0="name=eth0,bridge=vmbr0,ip=10.20.0.50/24,gw=10.20.0.1")
    ct = prox.nodes("pve1").lxc(105)
    wait(prox, "pve1", ct.status.start.post())
    with pytest.raises(ResourceException) as err:
        ct.config.put(net1="name=eth1,bridge=vmbr9,ip=dhcp")
    assert err.value.status_code == 400
    assert err.value.errors == {"net1": "unable to hotplug net1: bridge 'vmbr9' does not exist"}
    ct.config.put(net1="name=eth1,bridge=vmbr1,ip=dhcp,hwaddr=BC:24:11:00:00:01")
    assert ct.config.get(current=1)["net1"] == (
        "name=eth1,bridge=vmbr1,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth")
    names = {i["name"]: i for i in ct.interfaces.get()}
    assert names["lo"]["inet"] == "127.0.0.1/8"
    assert names["eth0"]["inet"] == "10.20.0.50/24"
    assert names["eth1"]["hwaddr"] == "bc:24:11:00:00:01"
    assert names["eth1"]["inet"].startswith("10.30.0.")
    with pytest.raises(ResourceException) as err:
        ct.config.put(dev0="/dev/null")
    assert err.value.status_code == 403
    assert "configuring device passthrough is only allowed for root@pam" in str(err.value)


def test_destroy_removes_the_containers_files(sim_env: Any) -> None:
    """A later container that reuses the vmid must not inherit the old one's /etc."""
    from pxrun.sim.rootfs import rootfs_dir

    sim_env.sim.save(sim_env.state_dir)  # attaches the state dir, as the runtime does
    prox = sim_env.proxmoxer()
    create(prox, 105)
    root = rootfs_dir(sim_env.state_dir, 105)
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "leftover").write_text("old", encoding="utf-8")
    assert wait(prox, "pve1", prox.nodes("pve1").lxc(105).delete())["exitstatus"] == "OK"
    assert not root.exists()


def test_destroy_frees_only_the_volumes_the_container_owns(sim_env: Any) -> None:
    """As pve-container: another guest's volume mounted here stays, with a log line."""
    prox = sim_env.proxmoxer()
    create(prox, 106, mp0="local-lvm:2,mp=/data")
    create(prox, 107, mp0="local-lvm:vm-106-disk-1,mp=/shared", mp1="local-lvm:1,mp=/own")
    upid = prox.nodes("pve1").lxc(107).delete(purge=1)
    assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    log = [line["t"] for line in prox.nodes("pve1").tasks(upid).log.get()]
    assert "ignore deletion of 'local-lvm:vm-106-disk-1', CT 107 isn't the owner!" in log
    volids = {v["volid"] for v in prox.nodes("pve1").storage("local-lvm").content.get()}
    assert "local-lvm:vm-106-disk-1" in volids
    assert not {v for v in volids if v.startswith("local-lvm:vm-107-")}
    assert prox.nodes("pve1").lxc(106).config.get()["mp0"].startswith("local-lvm:vm-106-disk-1")
