"""Fidelity fixes found by running third-party clients (Ansible community.proxmox) against the
simulator (spec 0024). Each test names the Proxmox source the behaviour follows."""

from __future__ import annotations

from typing import Any

import pytest
from proxmoxer.core import ResourceException

from tests.sim.conftest import SimEnv

SEEDED = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def _wait(px: Any, node: str, upid: str) -> dict[str, Any]:
    while True:  # tasks run at 5% of their durations; this polls, it does not sleep
        status: dict[str, Any] = px.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status


# -- GET /storage, GET /storage/{storage} (pve-storage API2/Storage/Config.pm) ---------------


def test_storage_index_is_storage_cfg(sim_env: SimEnv) -> None:
    px = sim_env.proxmoxer()
    items = {s["storage"]: s for s in px.storage.get()}
    assert items["local"] == {
        "storage": "local", "type": "dir", "path": "/var/lib/vz",
        "content": "backup,iso,rootdir,vztmpl", "digest": items["local"]["digest"],
    }
    assert items["local-lvm"]["thinpool"] == "data" and items["local-lvm"]["vgname"] == "pve"
    shared = [s for s in items.values() if s["type"] == "nfs"]
    assert shared and all(s["shared"] == 1 for s in shared)  # nfs is always shared
    digests = {s["digest"] for s in items.values()}
    assert len(digests) == 1 and len(digests.pop()) == 40  # one file, one SHA1
    assert [s["storage"] for s in px.storage.get(type="lvmthin")] == ["local-lvm"]


def test_storage_read_one_and_unknown(sim_env: SimEnv) -> None:
    px = sim_env.proxmoxer()
    assert px.storage("local-lvm").get()["type"] == "lvmthin"
    with pytest.raises(ResourceException) as missing:
        px.storage("nosuch").get()
    assert (missing.value.status_code, missing.value.content) == (
        500, "storage 'nosuch' does not exist")
    with pytest.raises(ResourceException) as bad:
        px.storage.get(type="ext4")
    assert bad.value.status_code == 400 and "enumeration" in bad.value.errors["type"]


# -- content/{volume}: one fragment, slashes included (Status.pm `fragmentDelimiter => ''`) ----


def test_volume_id_with_slash_in_the_path(sim_env: SimEnv) -> None:
    px = sim_env.proxmoxer()
    # proxmoxer splits the id on '/', so the URL carries .../content/local:vztmpl/debian-...
    info = px.nodes("pve1").storage("local").content(SEEDED).get()
    assert info["path"].endswith("/template/cache/debian-12-standard_12.7-1_amd64.tar.zst")


def test_volume_delete_is_an_imgdel_task(sim_env: SimEnv) -> None:
    px = sim_env.proxmoxer()
    node = px.nodes("pve1")
    upid = node.storage("local").content(SEEDED).delete()
    assert upid.split(":")[5:7] == ["imgdel", "local"]
    status = _wait(px, "pve1", upid)
    assert status["exitstatus"] == "OK"
    log = [line["t"] for line in node.tasks(upid).log.get()]
    assert f"Removed volume '{SEEDED}'" in log
    assert SEEDED not in [v["volid"] for v in node.storage("local").content.get()]


def test_volume_delete_with_delay_waits(sim_env: SimEnv) -> None:
    px = sim_env.proxmoxer()
    assert px.nodes("pve2").storage("local").content(SEEDED).delete(delay=5) is None
    assert px.nodes("pve2").storage("local").content.get(content="vztmpl") == []


# -- GET snapshot / feature are validated like every other call -------------------------------


def test_feature_and_snapshot_parameters_are_validated(sim_env: SimEnv) -> None:
    px = sim_env.proxmoxer()
    with pytest.raises(ResourceException) as missing:
        px.nodes("pve1").lxc(100).feature.get()
    assert missing.value.errors == {"feature": "property is missing and it is not optional"}
    with pytest.raises(ResourceException) as bad:
        px("nodes/pve1/lxc/abc/snapshot").get()
    assert bad.value.status_code == 400 and "vmid" in bad.value.errors
