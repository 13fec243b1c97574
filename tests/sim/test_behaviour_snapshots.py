"""Snapshots through plain proxmoxer: create, list, config, rollback, delete, and `feature`."""

from __future__ import annotations

from typing import Any

import pytest
from proxmoxer.core import ResourceException

from tests.sim.test_behaviour_clone import to_template
from tests.sim.test_behaviour_lifecycle import create, wait


def snap(ct: Any, prox: Any, name: str, **extra: Any) -> dict[str, Any]:
    return wait(prox, "pve1", ct.snapshot.post(snapname=name, **extra))


def test_snapshots_chain_and_show_their_config(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 101, memory=512)
    ct = prox.nodes("pve1").lxc(101)
    before = ct.config.get()["digest"]
    assert snap(ct, prox, "first", description="before upgrade")["exitstatus"] == "OK"
    ct.config.put(memory=1024)
    assert snap(ct, prox, "second")["exitstatus"] == "OK"
    listed = {s["name"]: s for s in ct.snapshot.get()}
    assert listed["first"]["description"] == "before upgrade" and "parent" not in listed["first"]
    assert listed["second"]["parent"] == "first" and listed["second"]["snaptime"] > 0
    assert listed["current"]["parent"] == "second" and listed["current"]["running"] == 0
    assert ct.snapshot("first").config.get()["memory"] == 512
    assert ct.config.get(snapshot="first")["memory"] == 512
    assert ct.config.get()["parent"] == "second" and ct.config.get()["digest"] != before
    ct.snapshot("first").config.put(description="renamed note")
    assert ct.snapshot("first").config.get()["description"] == "renamed note"
    assert ct.snapshot("first").get() == [{"cmd": "rollback"}, {"cmd": "config"}]
    failed = snap(ct, prox, "first")
    assert failed["exitstatus"] == "snapshot name 'first' already used"


def test_reserved_names_and_unknown_snapshots(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 102)
    ct = prox.nodes("pve1").lxc(102)
    with pytest.raises(ResourceException, match=r"unable to use snapshot name 'current' "
                                                r"\(reserved name\)"):
        ct.snapshot.post(snapname="current")
    with pytest.raises(ResourceException, match="snapshot 'nope' does not exist"):
        ct.snapshot("nope").config.get()
    assert wait(prox, "pve1", ct.snapshot("nope").delete())["exitstatus"] == \
        "snapshot 'nope' does not exist"


def test_feature_agrees_with_what_snapshot_does(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 103)  # local-lvm: thin snapshots
    create(prox, 104, rootfs="local:4")  # dir storage, raw: no snapshots
    lvm, raw = prox.nodes("pve1").lxc(103), prox.nodes("pve1").lxc(104)
    assert lvm.feature.get(feature="snapshot") == {"hasFeature": 1}
    assert raw.feature.get(feature="snapshot") == {"hasFeature": 0}
    assert raw.feature.get(feature="copy") == {"hasFeature": 1}
    assert snap(raw, prox, "s1")["exitstatus"] == "snapshot feature is not available"
    assert [s["name"] for s in raw.snapshot.get()] == ["current"]
    password = prox  # a bind mount (root@pam only) makes snapshots impossible
    root = sim_env.proxmoxer(password=sim_env.password)
    root.nodes("pve1").lxc(103).config.put(mp0="/mnt/media,mp=/media")
    assert lvm.feature.get(feature="snapshot") == {"hasFeature": 0}
    assert snap(lvm, password, "s1")["exitstatus"] == "snapshot feature is not available"


def test_rollback_restores_config_stops_and_restarts(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 105, memory=512)
    ct = prox.nodes("pve1").lxc(105)
    assert snap(ct, prox, "clean")["exitstatus"] == "OK"
    ct.config.put(memory=2048, mp0="local-lvm:1,mp=/srv")
    assert wait(prox, "pve1", ct.status.start.post())["exitstatus"] == "OK"
    added = ct.config.get()["mp0"].split(",")[0]
    status = wait(prox, "pve1", ct.snapshot("clean").rollback.post())
    assert status["exitstatus"] == "OK"
    config = ct.config.get()
    assert config["memory"] == 512 and "mp0" not in config
    assert config["unused0"] == added  # a volume is data: kept, not destroyed
    assert config["parent"] == "clean"
    assert ct.status.current.get()["status"] == "stopped"
    status = wait(prox, "pve1", ct.snapshot("clean").rollback.post(start=1))
    assert status["exitstatus"] == "OK" and ct.status.current.get()["status"] == "running"


def test_delete_relinks_parents_and_frees_snapshot_only_volumes(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 106, mp0="local-lvm:1,mp=/srv")
    ct = prox.nodes("pve1").lxc(106)
    for name in ("sa", "sb", "sc"):
        assert snap(ct, prox, name)["exitstatus"] == "OK"
    assert wait(prox, "pve1", ct.snapshot("sb").delete())["exitstatus"] == "OK"
    listed = {s["name"]: s for s in ct.snapshot.get()}
    assert set(listed) == {"sa", "sc", "current"} and listed["sc"]["parent"] == "sa"
    volume = ct.config.get()["mp0"].split(",")[0]
    ct.config.put(delete="mp0")
    ct.config.put(delete="unused0")  # still in snapshots sa and sc: kept on the storage
    disks = [v["volid"] for v in prox.nodes("pve1").storage("local-lvm").content.get()]
    assert volume in disks
    for name in ("sc", "sa"):
        assert wait(prox, "pve1", ct.snapshot(name).delete())["exitstatus"] == "OK"
    assert ct.config.get()["unused0"] == volume  # no snapshot refers to it: unused again
    assert "parent" not in ct.config.get()


def test_a_locked_or_template_container_refuses(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 107)
    ct = prox.nodes("pve1").lxc(107)
    sim_env.sim.containers[107].conf["lock"] = "backup"
    assert snap(ct, prox, "s1")["exitstatus"] == "CT is locked (backup)"
    del sim_env.sim.containers[107].conf["lock"]
    to_template(prox, "pve1", 107)
    assert snap(ct, prox, "s1")["exitstatus"] == "you can't take a snapshot if it's a template"
