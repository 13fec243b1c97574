"""Reassigning a volume between containers (`move_volume` + `target-vmid`) and what
`protection` blocks, through plain proxmoxer."""

from __future__ import annotations

from typing import Any

import pytest
from proxmoxer.core import ResourceException

from tests.sim.test_behaviour_lifecycle import create, wait


def disks(prox: Any, node: str = "pve1") -> dict[str, int | None]:
    return {v["volid"]: v.get("vmid") for v in prox.nodes(node).storage("local-lvm").content.get()}


def used(prox: Any) -> int:
    return int(prox.nodes("pve1").storage("local-lvm").status.get()["used"])


def test_reassign_renames_for_the_new_owner_and_updates_both_configs(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 101, mp0="local-lvm:2,mp=/srv/data,backup=1")
    create(prox, 102, mp0="local-lvm:1,mp=/other")
    before = used(prox)
    src, dst = prox.nodes("pve1").lxc(101), prox.nodes("pve1").lxc(102)
    upid = src.move_volume.post(volume="mp0", **{"target-vmid": 102, "target-volume": "mp1",
                                                 "target-digest": dst.config.get()["digest"]})
    assert ":move_volume:101-mp0>102-mp1:" in upid
    assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    log = [line["t"] for line in prox.nodes("pve1").tasks(upid).log.get()]
    assert log[0] == "moving volume 'mp0' from container '101' to '102'"
    assert "target container '102' updated with 'mp1'" in log
    assert "mp0" not in src.config.get()
    assert dst.config.get()["mp1"] == "local-lvm:vm-102-disk-2,mp=/srv/data,backup=1,size=2G"
    owners = disks(prox)
    assert owners["local-lvm:vm-102-disk-2"] == 102 and "local-lvm:vm-101-disk-1" not in owners
    assert used(prox) == before  # renamed, not copied


def test_reassign_into_a_running_target_hot_plugs_and_unused_moves_while_running(
        sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 103, mp0="local-lvm:1,mp=/a")
    create(prox, 104)
    src, dst = prox.nodes("pve1").lxc(103), prox.nodes("pve1").lxc(104)
    for ct in (src, dst):
        assert wait(prox, "pve1", ct.status.start.post())["exitstatus"] == "OK"
    with pytest.raises(ResourceException, match="Cannot move in-use volume while the source CT "
                                                "is running - detach or shutdown first"):
        src.move_volume.post(volume="mp0", **{"target-vmid": 104})
    src.config.put(delete="mp0")  # a running CT keeps the removal pending until a restart
    assert wait(prox, "pve1", src.status.reboot.post())["exitstatus"] == "OK"
    assert src.config.get()["unused0"] == "local-lvm:vm-103-disk-1"
    status = wait(prox, "pve1", src.move_volume.post(
        volume="unused0", **{"target-vmid": 104, "target-volume": "unused3"}))
    assert status["exitstatus"] == "OK"
    assert dst.config.get()["unused3"] == "local-lvm:vm-104-disk-1"
    src.config.put(mp1="local-lvm:1,mp=/b")  # hot-plugged: a new mount point
    assert wait(prox, "pve1", src.status.stop.post())["exitstatus"] == "OK"
    status = wait(prox, "pve1", src.move_volume.post(volume="mp1", **{"target-vmid": 104}))
    assert status["exitstatus"] == "OK"
    assert dst.config.get(current=1)["mp1"].startswith("local-lvm:vm-104-disk-2,mp=/b,")


@pytest.mark.parametrize(("params", "message"), [
    ({"volume": "rootfs", "target-vmid": 106}, "Cannot move to/from 'rootfs'"),
    ({"volume": "unused0", "target-vmid": 106, "target-volume": "mp5"},
     "Moving an unused volume to a used one is not possible"),
    ({"volume": "mp0", "target-vmid": 106}, "Target volume key 'mp0' is already in use for "
                                            "container '106'"),
    ({"volume": "mp3", "target-vmid": 106}, "volume 'mp3' for container '105' does not exist"),
    ({"volume": "mp0", "target-vmid": 999}, "could not find CT 999"),
    ({"volume": "mp0", "target-vmid": 107, "target-volume": "mp1"},
     r"Both containers need to be on the same node \(pve1 != pve2\)"),
    ({"volume": "mp0", "target-vmid": 106, "target-volume": "mp1", "digest": "0" * 40},
     "Container 105: detected modified configuration - file changed by other user"),
    ({"volume": "mp2", "target-vmid": 106, "target-volume": "mp1"},
     "Cannot move a bindmount or device mount to another container"),
    ({"volume": "mp0", "storage": "local", "target-vmid": 106},
     "either set 'storage' or 'target-vmid', but not both"),
])
def test_reassign_refusals(sim_env: Any, params: dict[str, Any], message: str) -> None:
    prox = sim_env.proxmoxer()
    root = sim_env.proxmoxer(password=sim_env.password)
    create(prox, 105, mp0="local-lvm:1,mp=/a", unused0="local-lvm:vm-105-disk-0")
    create(prox, 106, mp0="local-lvm:1,mp=/b")
    create(prox, 107, node="pve2")
    root.nodes("pve1").lxc(105).config.put(mp2="/mnt/host,mp=/host")
    with pytest.raises(ResourceException, match=message):
        prox.nodes("pve1").lxc(105).move_volume.post(**params)


def test_reassign_refuses_snapshots_locks_and_templates(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 108, mp0="local-lvm:1,mp=/a")
    create(prox, 109)
    src = prox.nodes("pve1").lxc(108)
    assert wait(prox, "pve1", src.snapshot.post(snapname="s1"))["exitstatus"] == "OK"
    with pytest.raises(ResourceException, match="Cannot move volume used by a snapshot to "
                                                "another container"):
        src.move_volume.post(volume="mp0", **{"target-vmid": 109})
    assert wait(prox, "pve1", src.snapshot("s1").delete())["exitstatus"] == "OK"
    sim_env.sim.containers[109].conf["lock"] = "backup"
    with pytest.raises(ResourceException, match=r"CT is locked \(backup\)"):
        src.move_volume.post(volume="mp0", **{"target-vmid": 109})
    sim_env.sim.containers[109].conf["template"] = "1"
    del sim_env.sim.containers[109].conf["lock"]
    with pytest.raises(ResourceException, match="Can't move volumes from or to template CT"):
        src.move_volume.post(volume="mp0", **{"target-vmid": 109})


def test_a_protected_target_fails_after_the_rename_as_proxmox_does(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 110, mp0="local-lvm:1,mp=/a", mp1="local-lvm:1,mp=/b", protection=1)
    create(prox, 111, protection=1)
    src, dst = prox.nodes("pve1").lxc(110), prox.nodes("pve1").lxc(111)
    # the source's protection does not stop a reassign; to `unusedN` the target's neither
    status = wait(prox, "pve1", src.move_volume.post(
        volume="mp0", **{"target-vmid": 111, "target-volume": "unused0"}))
    assert status["exitstatus"] == "OK"
    assert dst.config.get()["unused0"] == "local-lvm:vm-111-disk-1"
    status = wait(prox, "pve1", src.move_volume.post(volume="mp1", **{"target-vmid": 111}))
    assert status["exitstatus"] == "can't update CT 111 drive 'mp1' - protection mode enabled"
    assert "mp1" not in src.config.get() and "mp1" not in dst.config.get()
    assert disks(prox)["local-lvm:vm-111-disk-2"] == 111  # renamed, named by no config


PROTECTED: list[tuple[str, Any, str | None]] = [
    ("destroy", lambda ct, prox: ct.delete(), "can't remove CT 120 - protection mode enabled"),
    ("detach mp0", lambda ct, prox: ct.config.put(delete="mp0"),
     "can't remove CT 120 drive 'mp0' - protection mode enabled"),
    ("delete unused0", lambda ct, prox: ct.config.put(delete="unused0"),
     "can't remove CT 120 drive 'unused0' - protection mode enabled"),
    ("add mp1", lambda ct, prox: ct.config.put(mp1="local-lvm:1,mp=/new"),
     "can't update CT 120 drive 'mp1' - protection mode enabled"),
    ("change mp0", lambda ct, prox: ct.config.put(mp0="local-lvm:vm-120-disk-1,mp=/moved"),
     "can't update CT 120 drive 'mp0' - protection mode enabled"),
    ("change rootfs", lambda ct, prox: ct.config.put(rootfs="local-lvm:vm-120-disk-0,ro=1"),
     "can't update CT 120 drive 'rootfs' - protection mode enabled"),
    ("other options", lambda ct, prox: ct.config.put(memory=1024, hostname="still-ok"), None),
    ("resize", lambda ct, prox: wait(prox, "pve1", ct.resize.put(disk="mp0", size="+1G")),
     None),
    ("move to storage", lambda ct, prox: wait(prox, "pve1", ct.move_volume.post(
        volume="mp0", storage="local")), None),
    ("snapshot", lambda ct, prox: wait(prox, "pve1", ct.snapshot.post(snapname="s1")), None),
    ("migrate", lambda ct, prox: wait(prox, "pve1", ct.migrate.post(target="pve2")), None),
]


@pytest.mark.parametrize(("what", "action", "error"), PROTECTED, ids=[p[0] for p in PROTECTED])
def test_what_protection_blocks(sim_env: Any, what: str, action: Any, error: str | None) -> None:
    prox = sim_env.proxmoxer()
    # creating with protection and a mount point works: disks are made before the flag counts
    status = create(prox, 120, mp0="local-lvm:1,mp=/data", protection=1)
    assert status["exitstatus"] == "OK"
    ct = prox.nodes("pve1").lxc(120)
    sim_env.sim.containers[120].conf["unused0"] = "local-lvm:vm-120-disk-1"
    if error is None:
        result = action(ct, prox)
        assert result is None or result.get("exitstatus") == "OK", result
    else:
        with pytest.raises(ResourceException, match=error) as caught:
            action(ct, prox)
        assert caught.value.status_code == 500
