"""Clone (full and linked) and template conversion through plain proxmoxer."""

from __future__ import annotations

import time
from typing import Any

import pytest
from proxmoxer.core import ResourceException

from tests.sim.test_behaviour_lifecycle import create, wait


def to_template(prox: Any, node: str, vmid: int) -> None:
    """POST template answers null; its `vztemplate` task does the work: wait for it."""
    assert prox.nodes(node).lxc(vmid).template.post() is None
    tasks = [t for t in prox.nodes(node).tasks.get(source="all", vmid=vmid)
             if t["type"] == "vztemplate"]
    assert tasks, "no vztemplate task"
    assert wait(prox, node, tasks[0]["upid"])["exitstatus"] == "OK"


def test_full_clone_copies_config_with_new_mac_and_volumes(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 101, mp0="local-lvm:2,mp=/srv,backup=1", memory=768, tags="web")
    src = prox.nodes("pve1").lxc(101)
    upid = src.clone.post(newid=201, hostname="copy", full=1)
    assert ":vzclone:101:" in upid
    status = wait(prox, "pve1", upid)
    assert status["exitstatus"] == "OK"
    log = [line["t"] for line in prox.nodes("pve1").tasks(upid).log.get()]
    assert "create full clone of mountpoint rootfs (local-lvm:vm-101-disk-0)" in log
    old, new = src.config.get(), prox.nodes("pve1").lxc(201).config.get()
    assert new["hostname"] == "copy" and new["memory"] == 768 and new["tags"] == "web"
    assert new["rootfs"] == "local-lvm:vm-201-disk-0,size=8G"
    assert new["mp0"] == "local-lvm:vm-201-disk-1,mp=/srv,backup=1,size=2G"
    mac = lambda c: dict(kv.split("=") for kv in c["net0"].split(","))["hwaddr"]  # noqa: E731
    assert mac(new) != mac(old)
    assert "lock" not in old and "lock" not in new


def test_clone_refusals(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 102)
    src = prox.nodes("pve1").lxc(102)
    with pytest.raises(ResourceException, match="CT 102 already exists on node 'pve1'"):
        src.clone.post(newid=102)
    with pytest.raises(ResourceException, match="Linked clone feature for "
                                                "'local-lvm:vm-102-disk-0' is not available"):
        src.clone.post(newid=202, full=0)
    with pytest.raises(ResourceException, match=r"can't clone CT to node 'pve2' \(CT uses "
                                                r"local storage\)"):
        src.clone.post(newid=202, target="pve2")
    assert wait(prox, "pve1", src.status.start.post())["exitstatus"] == "OK"
    with pytest.raises(ResourceException, match="Cannot do full clones on a running container "
                                                "without snapshots"):
        src.clone.post(newid=202)
    assert wait(prox, "pve1", src.snapshot.post(snapname="base"))["exitstatus"] == "OK"
    assert wait(prox, "pve1", src.clone.post(newid=202, snapname="base"))["exitstatus"] == "OK"
    assert "lock" not in src.config.get()


def test_clone_to_shared_storage_on_another_node(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 103, rootfs="nfs-shared:2")
    status = wait(prox, "pve1", prox.nodes("pve1").lxc(103).clone.post(
        newid=203, target="pve2", storage="nfs-shared"))
    assert status["exitstatus"] == "OK"
    config = prox.nodes("pve2").lxc(203).config.get()
    assert config["rootfs"] == "nfs-shared:203/vm-203-disk-0.raw,size=2G"


def test_template_then_linked_clones(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 104, mp0="local-lvm:1,mp=/data")
    to_template(prox, "pve1", 104)
    tpl = prox.nodes("pve1").lxc(104)
    config = tpl.config.get()
    assert config["template"] == 1
    assert config["rootfs"] == "local-lvm:base-104-disk-0,size=8G"
    assert config["mp0"].startswith("local-lvm:base-104-disk-1,")
    with pytest.raises(ResourceException, match="you can't convert a template to a template"):
        tpl.template.post()
    assert wait(prox, "pve1", tpl.status.start.post())["exitstatus"] == \
        "you can't start a CT if it's a template"
    assert tpl.feature.get(feature="clone") == {"hasFeature": 1}
    with pytest.raises(ResourceException, match="parameter 'storage' not allowed for linked "
                                                "clones"):
        tpl.clone.post(newid=204, storage="local-lvm", full=0)
    upid = tpl.clone.post(newid=204)  # a template's default: a linked clone
    assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    log = [line["t"] for line in prox.nodes("pve1").tasks(upid).log.get()]
    assert "create linked clone of mount point rootfs (local-lvm:base-104-disk-0)" in log
    clone = prox.nodes("pve1").lxc(204).config.get()
    assert clone["rootfs"] == "local-lvm:vm-204-disk-0,size=8G" and "template" not in clone
    assert wait(prox, "pve1", prox.nodes("pve1").lxc(204).status.start.post())[
        "exitstatus"] == "OK"


def test_template_refusals_and_dir_storage(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 105)
    ct = prox.nodes("pve1").lxc(105)
    assert wait(prox, "pve1", ct.snapshot.post(snapname="s1"))["exitstatus"] == "OK"
    with pytest.raises(ResourceException, match="unable to create template, because CT "
                                                "contains snapshots"):
        ct.template.post()
    create(prox, 106, rootfs="local:2")
    running = prox.nodes("pve1").lxc(106)
    assert wait(prox, "pve1", running.status.start.post())["exitstatus"] == "OK"
    with pytest.raises(ResourceException, match="you can't convert a CT to template if the CT "
                                                "is running"):
        running.template.post()
    assert wait(prox, "pve1", running.status.stop.post())["exitstatus"] == "OK"
    to_template(prox, "pve1", 106)
    assert running.config.get()["rootfs"] == "local:106/base-106-disk-0.raw,size=2G"
    with pytest.raises(ResourceException, match=r"Linked clone feature for "
                                                r"'local:106/base-106-disk-0\.raw' is not"):
        running.clone.post(newid=206)
    assert wait(prox, "pve1", running.clone.post(newid=206, full=1))["exitstatus"] == "OK"


def test_a_failed_clone_leaves_nothing_behind(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 107)
    sim_env.sim.settings.faults.task_failure["vzclone"] = 1.0
    status = wait(prox, "pve1", prox.nodes("pve1").lxc(107).clone.post(newid=207))
    assert status["exitstatus"].startswith("clone failed: rsync")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and 207 in sim_env.sim.containers:
        time.sleep(0.01)
    assert 207 not in sim_env.sim.containers
    disks = [v["volid"] for v in prox.nodes("pve1").storage("local-lvm").content.get()]
    assert disks == ["local-lvm:vm-107-disk-0"]
    assert "lock" not in prox.nodes("pve1").lxc(107).config.get()
