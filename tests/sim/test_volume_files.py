"""The files in a volume follow it: migrate, move, reassign, clone, snapshot and rollback,
backup and restore, destroy (volfiles.py; the node shell mounts these directories)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pxrun.sim.rootfs import rootfs_dir, volume_dir
from pxrun.sim.settings import SimSettings
from pxrun.sim.state import Simulator
from tests.sim.direct import ok

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


@pytest.fixture
def sim(tmp_path: Path) -> Simulator:
    simulator = Simulator.create_default(SimSettings(time_scale=0.0, seed=9))
    simulator.save(tmp_path)
    yield simulator
    simulator.close()


def mp0(sim: Simulator, vmid: int) -> str:
    return sim.containers[vmid].conf["mp0"].split(",")[0]


def write(sim: Simulator, volid: str, text: str) -> None:
    assert sim.state_dir is not None
    path = volume_dir(sim.state_dir, volid)
    path.mkdir(parents=True, exist_ok=True)
    (path / "data.txt").write_text(text)


def read(sim: Simulator, volid: str) -> str | None:
    assert sim.state_dir is not None
    path = volume_dir(sim.state_dir, volid) / "data.txt"
    return path.read_text() if path.exists() else None


def test_files_follow_migrate_move_and_reassign(sim: Simulator) -> None:
    ok(sim, "POST", "/nodes/pve1/lxc", vmid=101, ostemplate=TEMPLATE, rootfs="local-lvm:1",
       mp0="local-lvm:1,mp=/srv")
    ok(sim, "POST", "/nodes/pve1/lxc", vmid=102, ostemplate=TEMPLATE, rootfs="local-lvm:1")
    write(sim, mp0(sim, 101), "precious")
    ok(sim, "POST", "/nodes/pve1/lxc/101/move_volume", volume="mp0", storage="local", delete=1)
    assert read(sim, mp0(sim, 101)) == "precious"
    ok(sim, "POST", "/nodes/pve1/lxc/101/migrate", target="pve2")
    ok(sim, "POST", "/nodes/pve2/lxc/101/migrate", target="pve1")
    assert read(sim, mp0(sim, 101)) == "precious"
    ok(sim, "POST", "/nodes/pve1/lxc/101/move_volume", volume="mp0",
       **{"target-vmid": 102, "target-volume": "mp0"})
    assert mp0(sim, 102).startswith("local:102/") and read(sim, mp0(sim, 102)) == "precious"


def test_clone_snapshot_rollback(sim: Simulator) -> None:
    ok(sim, "POST", "/nodes/pve1/lxc", vmid=103, ostemplate=TEMPLATE, rootfs="local-lvm:1",
       mp0="local-lvm:1,mp=/srv")
    assert sim.state_dir is not None
    root = rootfs_dir(sim.state_dir, 103)
    root.mkdir(parents=True, exist_ok=True)
    (root / "etc-marker").write_text("v1")
    write(sim, mp0(sim, 103), "v1")
    ok(sim, "POST", "/nodes/pve1/lxc/103/snapshot", snapname="before")
    write(sim, mp0(sim, 103), "v2")
    (root / "etc-marker").write_text("v2")
    ok(sim, "POST", "/nodes/pve1/lxc/103/clone", newid=203)
    assert read(sim, mp0(sim, 203)) == "v2"
    assert (rootfs_dir(sim.state_dir, 203) / "etc-marker").read_text() == "v2"
    ok(sim, "POST", "/nodes/pve1/lxc/103/snapshot/before/rollback")
    assert read(sim, mp0(sim, 103)) == "v1" and (root / "etc-marker").read_text() == "v1"
    assert read(sim, mp0(sim, 203)) == "v2"  # the clone is a copy


def test_backup_restore_and_destroy(sim: Simulator) -> None:
    ok(sim, "POST", "/nodes/pve1/lxc", vmid=104, ostemplate=TEMPLATE, rootfs="local-lvm:1",
       mp0="local-lvm:1,mp=/srv,backup=1", mp1="local-lvm:1,mp=/scratch")
    first_mp0 = mp0(sim, 104)
    scratch = sim.containers[104].conf["mp1"].split(",")[0]
    write(sim, first_mp0, "kept")
    write(sim, scratch, "not backed up")
    ok(sim, "POST", "/nodes/pve1/vzdump", vmid="104", storage="local")
    archive = next(v.volid for _, v in sim.storages.owned(104) if v.content == "backup")
    ok(sim, "DELETE", "/nodes/pve1/lxc/104", purge=1)
    assert read(sim, first_mp0) is None and read(sim, scratch) is None  # destroyed with it
    ok(sim, "POST", "/nodes/pve1/lxc", vmid=104, ostemplate=archive, restore=1,
       storage="local-lvm")
    assert read(sim, mp0(sim, 104)) == "kept"
    assert read(sim, sim.containers[104].conf["mp1"].split(",")[0]) is None  # empty again
    with sim.lock:
        sim.storages.free(archive, "pve1")  # the archive's copy goes with the backup
    assert not list((sim.state_dir / "backups").iterdir())
