"""vzdump, backup volumes, restore with `restore=1`, and backup jobs, through proxmoxer."""

from __future__ import annotations

from typing import Any

import pytest
from proxmoxer.core import ResourceException

from tests.sim.test_behaviour_lifecycle import create, wait


def log_of(prox: Any, upid: str, node: str = "pve1") -> list[str]:
    return [line["t"] for line in prox.nodes(node).tasks(upid).log.get(limit=0)]


def backups(prox: Any, storage: str = "local", node: str = "pve1") -> list[dict[str, Any]]:
    return prox.nodes(node).storage(storage).content.get(content="backup")


def test_snapshot_mode_backup_of_a_running_container(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 101, mp0="local-lvm:1,mp=/srv,backup=1", mp1="local-lvm:1,mp=/tmp2")
    ct = prox.nodes("pve1").lxc(101)
    assert wait(prox, "pve1", ct.status.start.post())["exitstatus"] == "OK"
    upid = prox.nodes("pve1").vzdump.post(vmid=101, storage="local", compress="zstd",
                                          **{"notes-template": "{{guestname}} on {{node}}"})
    assert ":vzdump:101:" in upid
    assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    log = log_of(prox, upid)
    assert "INFO: backup mode: snapshot" in log
    assert "INFO: including mount point mp0 ('/srv') in backup" in log
    assert "INFO: excluding volume mount point mp1 ('/tmp2') from backup (disabled)" in log
    assert log[-2:] == ["INFO: Backup job finished successfully", "TASK OK"]
    [item] = backups(prox)
    assert item["volid"].startswith("local:backup/vzdump-lxc-101-")
    assert item["volid"].endswith(".tar.zst") and item["format"] == "tar.zst"
    assert (item["vmid"], item["subtype"], item["notes"]) == (101, "lxc", "ct101 on pve1")
    assert ct.status.current.get()["status"] == "running" and "lock" not in ct.config.get()
    text = prox.nodes("pve1").vzdump.extractconfig.get(volume=item["volid"])
    assert "hostname: ct101\n" in text and "lock:" not in text


def test_modes_fall_back_and_stop_restarts(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 102, rootfs="local:2")  # dir storage: no snapshots
    ct = prox.nodes("pve1").lxc(102)
    assert wait(prox, "pve1", ct.status.start.post())["exitstatus"] == "OK"
    upid = prox.nodes("pve1").vzdump.post(vmid=102, storage="local")
    assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    log = log_of(prox, upid)
    assert "INFO: mode failure - some volumes do not support snapshots" in log
    assert "INFO: backup mode: suspend" in log
    upid = prox.nodes("pve1").vzdump.post(vmid=102, storage="local", mode="stop")
    assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    log = log_of(prox, upid)
    assert "INFO: stopping virtual guest" in log and "INFO: restarting vm" in log
    assert ct.status.current.get()["status"] == "running"


def test_job_parameters_and_failures(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 103)
    with pytest.raises(ResourceException) as missing:
        prox.nodes("pve1").vzdump.post(storage="local")
    assert missing.value.errors == {"vmid": "property is missing"}
    with pytest.raises(ResourceException) as both:
        prox.nodes("pve1").vzdump.post(vmid=103, all=1)
    assert both.value.errors == {"all": "option conflicts with option 'vmid'"}
    upid = prox.nodes("pve1").vzdump.post(vmid="103,999", storage="local")
    assert wait(prox, "pve1", upid)["exitstatus"] == "job errors"
    assert "ERROR: Backup of VM 999 failed - unable to find configuration file for VM 999 on " \
           "node 'pve1'" in log_of(prox, upid)
    upid = prox.nodes("pve1").vzdump.post(vmid=103, storage="local-lvm")
    assert wait(prox, "pve1", upid)["exitstatus"] == "storage 'local-lvm' does not support " \
                                                     "backups"
    sim_env.sim.containers[103].conf["lock"] = "snapshot"
    upid = prox.nodes("pve1").vzdump.post(vmid=103, storage="local")
    assert wait(prox, "pve1", upid)["exitstatus"] == "job errors"
    assert "ERROR: Backup of VM 103 failed - CT is locked (snapshot)" in log_of(prox, upid)


def test_prune_keeps_the_newest_and_protected(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 104)
    first = prox.nodes("pve1").vzdump.post(vmid=104, storage="local", protected=1)
    assert wait(prox, "pve1", first)["exitstatus"] == "OK"
    for _ in range(2):
        upid = prox.nodes("pve1").vzdump.post(vmid=104, storage="local",
                                              **{"prune-backups": "keep-last=1"})
        assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    found = backups(prox)
    assert len(found) == 2 and sum(1 for b in found if b.get("protected")) == 1


def test_restore_to_a_new_vmid_and_over_an_existing_one(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 105, mp0="local-lvm:2,mp=/data,backup=1", memory=640, tags="keep")
    upid = prox.nodes("pve1").vzdump.post(vmid=105, storage="local")
    assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    archive = backups(prox)[0]["volid"]
    source = prox.nodes("pve1").lxc(105).config.get()
    upid = prox.nodes("pve1").lxc.post(vmid=205, ostemplate=archive, restore=1,
                                       storage="local-lvm")
    assert ":vzrestore:205:" in upid
    assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    restored = prox.nodes("pve1").lxc(205).config.get()
    assert restored["rootfs"] == "local-lvm:vm-205-disk-0,size=8G"
    assert restored["mp0"] == "local-lvm:vm-205-disk-1,mp=/data,backup=1,size=2G"
    assert (restored["memory"], restored["tags"]) == (640, "keep")
    assert restored["net0"] == source["net0"]  # same MAC without `unique`
    unique = wait(prox, "pve1", prox.nodes("pve1").lxc.post(
        vmid=206, ostemplate=archive, restore=1, storage="local-lvm", unique=1, hostname="new"))
    assert unique["exitstatus"] == "OK"
    other = prox.nodes("pve1").lxc(206).config.get()
    assert other["net0"] != source["net0"] and other["hostname"] == "new"
    with pytest.raises(ResourceException, match="CT 105 already exists on node 'pve1'"):
        prox.nodes("pve1").lxc.post(vmid=105, ostemplate=archive, restore=1)
    prox.nodes("pve1").lxc(105).config.put(memory=2048, mp1="local-lvm:1,mp=/extra")
    status = wait(prox, "pve1", prox.nodes("pve1").lxc.post(
        vmid=105, ostemplate=archive, restore=1, force=1, storage="local-lvm"))
    assert status["exitstatus"] == "OK"
    back = prox.nodes("pve1").lxc(105).config.get()
    assert back["memory"] == 640 and "mp1" not in back
    owned = sorted(v["volid"] for v in prox.nodes("pve1").storage("local-lvm").content.get(
        vmid=105))
    assert owned == ["local-lvm:vm-105-disk-0", "local-lvm:vm-105-disk-1"]  # mp1 destroyed


def test_restore_refusals(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 107, protection=1)
    upid = prox.nodes("pve1").vzdump.post(vmid=107, storage="local")
    assert wait(prox, "pve1", upid)["exitstatus"] == "OK"
    archive = backups(prox)[0]["volid"]
    with pytest.raises(ResourceException, match="unable to restore CT 107 - protection mode "
                                                "enabled"):
        prox.nodes("pve1").lxc.post(vmid=107, ostemplate=archive, restore=1, force=1)
    prox.nodes("pve1").lxc(107).config.put(protection=0)
    assert wait(prox, "pve1", prox.nodes("pve1").lxc(107).status.start.post())[
        "exitstatus"] == "OK"
    with pytest.raises(ResourceException, match="can't overwrite running container"):
        prox.nodes("pve1").lxc.post(vmid=107, ostemplate=archive, restore=1, force=1)
    with pytest.raises(ResourceException, match=r"volume 'local:backup/nope\.tar' does not "
                                                "exist"):
        prox.nodes("pve1").lxc.post(vmid=300, ostemplate="local:backup/nope.tar", restore=1)
    with pytest.raises(ResourceException) as unique:
        prox.nodes("pve1").lxc.post(vmid=300, ostemplate=archive, unique=1)
    assert unique.value.errors == {"restore": "missing property - 'unique' requires this "
                                              "property"}


def test_backup_jobs(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 108, mp0="local-lvm:1,mp=/skip")
    create(prox, 109)
    prox.cluster.backup.post(id="nightly", vmid=108, storage="local", schedule="02:30",
                             **{"prune-backups": "keep-last=3"})
    with pytest.raises(ResourceException, match="Job with ID 'nightly' already exists"):
        prox.cluster.backup.post(id="nightly", vmid=108, schedule="02:30")
    with pytest.raises(ResourceException) as nothing:
        prox.cluster.backup.post(vmid=108)
    assert nothing.value.errors == {"schedule": "property is missing and it is not optional"}
    [job] = prox.cluster.backup.get()
    assert job["id"] == "nightly" and job["enabled"] == 1 and job["next-run"] > 0
    assert job["prune-backups"] == {"keep-last": 3}
    prox.cluster.backup("nightly").put(comment="db", delete="prune-backups")
    again = prox.cluster.backup("nightly").get()
    assert again["comment"] == "db" and "prune-backups" not in again
    tree = prox.cluster.backup("nightly").included_volumes.get()
    [guest] = tree["children"]
    assert guest["id"] == 108 and [(v["id"], v["included"]) for v in guest["children"]] == [
        ("rootfs", 1), ("mp0", 0)]
    assert [g["vmid"] for g in prox.cluster("backup-info")("not-backed-up").get()] == [109]
    prox.cluster.backup("nightly").delete()
    with pytest.raises(ResourceException, match="Job 'nightly' does not exist"):
        prox.cluster.backup("nightly").get()
