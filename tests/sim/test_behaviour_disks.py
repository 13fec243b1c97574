"""Resize, move_volume, migrate and capacity through plain proxmoxer over HTTPS."""

from __future__ import annotations

from typing import Any

import pytest
from proxmoxer.core import ResourceException

from tests.sim.test_behaviour_lifecycle import create, wait


def test_resize_grow_and_refusals(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 110)
    ct = prox.nodes("pve1").lxc(110)
    assert wait(prox, "pve1", ct.resize.put(disk="rootfs", size="+2G"))["exitstatus"] == "OK"
    assert ct.config.get()["rootfs"] == "local-lvm:vm-110-disk-0,size=10G"
    assert wait(prox, "pve1", ct.resize.put(disk="rootfs", size="12G"))["exitstatus"] == "OK"
    with pytest.raises(ResourceException, match="unable to shrink disk size"):
        ct.resize.put(disk="rootfs", size="4G")
    with pytest.raises(ResourceException, match="disk is already at specified size"):
        ct.resize.put(disk="rootfs", size="12G")
    # beyond the thin pool's capacity: the task fails the way lvcreate/lvextend would
    status = wait(prox, "pve1", ct.resize.put(disk="rootfs", size="+5000G"))
    assert "free space in thin pool pve/data reached threshold" in status["exitstatus"]
    assert ct.config.get()["rootfs"].endswith("size=12G")


def test_create_beyond_capacity_fails_and_rolls_back(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    status = create(prox, 111, rootfs="local-lvm:5000")
    assert status["exitstatus"].startswith("unable to create CT 111 - lvcreate")
    assert prox.nodes("pve1").lxc.get() == []
    assert prox.cluster.nextid.get(vmid=111) == "111"


def test_move_volume(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 112)
    ct = prox.nodes("pve1").lxc(112)
    with pytest.raises(ResourceException) as err:
        ct.move_volume.post(volume="rootfs")
    assert err.value.status_code == 400
    assert "either needs to be set" in err.value.errors["storage"]
    wait(prox, "pve1", ct.status.start.post())
    with pytest.raises(ResourceException, match="cannot move volumes of a running container"):
        ct.move_volume.post(volume="rootfs", storage="nfs-shared")
    wait(prox, "pve1", ct.status.stop.post())
    status = wait(prox, "pve1", ct.move_volume.post(volume="rootfs", storage="nfs-shared"))
    assert status["exitstatus"] == "OK"
    conf = ct.config.get()
    assert conf["rootfs"] == "nfs-shared:112/vm-112-disk-0.raw,size=8G"
    assert conf["unused0"] == "local-lvm:vm-112-disk-0"
    assert "lock" not in conf


def test_migrate_restart_mode(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 113)
    ct = prox.nodes("pve1").lxc(113)
    wait(prox, "pve1", ct.status.start.post())
    with pytest.raises(ResourceException) as err:
        ct.migrate.post(target="pve1")
    assert err.value.errors == {"target": "target is local node."}
    with pytest.raises(ResourceException,
                       match="can't migrate running container without --online or --restart"):
        ct.migrate.post(target="pve2")
    pre = ct.migrate.get()
    assert pre["running"] == 1 and set(pre["allowed-nodes"]) == {"pve2", "pve3"}
    status = wait(prox, "pve1", ct.migrate.post(target="pve2", restart=1))
    assert status["exitstatus"] == "OK"
    assert prox.nodes("pve1").lxc.get() == []
    moved = prox.nodes("pve2").lxc(113)
    assert moved.status.current.get()["status"] == "running"
    assert moved.config.get()["rootfs"] == "local-lvm:vm-113-disk-0,size=8G"
    on_target = prox.nodes("pve2").storage("local-lvm").content.get(vmid=113)
    assert [v["volid"] for v in on_target] == ["local-lvm:vm-113-disk-0"]
    assert prox.nodes("pve1").storage("local-lvm").content.get(vmid=113) == []


def test_hotplug_mountpoint_and_apply_when_stopped(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 114)
    ct = prox.nodes("pve1").lxc(114)
    wait(prox, "pve1", ct.status.start.post())
    ct.config.put(mp0="local-lvm:1,mp=/srv")  # new mount point: hot-plugged, allocated
    assert ct.config.get(current=1)["mp0"] == "local-lvm:vm-114-disk-1,mp=/srv,size=1G"
    ct.config.put(mp0="local-lvm:vm-114-disk-1,mp=/data")  # existing one: stays pending
    assert ct.config.get(current=1)["mp0"].startswith("local-lvm:vm-114-disk-1,mp=/srv")
    wait(prox, "pve1", ct.status.stop.post())
    ct.config.put(swap=256)  # a write on a stopped CT applies everything pending
    conf = ct.config.get(current=1)
    assert conf["mp0"] == "local-lvm:vm-114-disk-1,mp=/data,size=1G" and conf["swap"] == 256
    with pytest.raises(ResourceException) as err:
        ct.config.put(mp1="local-lvm:9000,mp=/big")
    assert err.value.status_code == 400
    assert err.value.errors["mp1"].startswith("unable to apply pending change mp1 : lvcreate")
    assert "mp1" not in ct.config.get()
