"""Uploads, URL metadata, `/cluster/tasks` and the (empty) QEMU list, through proxmoxer and
its own file helpers."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
from proxmoxer.core import ResourceException
from proxmoxer.tools import Files

from tests.sim.test_behaviour_lifecycle import create, wait


def small_template(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        data = b"ID=debian\nVERSION_ID=12\n"
        info = tarfile.TarInfo("./etc/os-release")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_qemu_list_is_empty_on_every_node(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    assert [prox.nodes(n["node"]).qemu.get() for n in prox.nodes.get()] == [[], [], []]


def test_upload_a_template_then_create_from_it(sim_env: Any, tmp_path: Path) -> None:
    prox = sim_env.proxmoxer()
    path = small_template(tmp_path / "mine-1.0_amd64.tar.gz")
    status = Files(prox, "pve1", "local").upload_local_file_to_storage(str(path))
    assert status["exitstatus"] == "OK" and status["type"] == "imgcopy"
    items = {v["volid"]: v for v in prox.nodes("pve1").storage("local").content.get()}
    uploaded = items["local:vztmpl/mine-1.0_amd64.tar.gz"]
    assert (uploaded["size"], uploaded["format"]) == (path.stat().st_size, "tgz")
    log = [line["t"] for line in prox.nodes("pve1").tasks(status["upid"]).log.get()]
    assert "checksum verified" in log and log[-1] == "TASK OK"
    assert create(prox, 101, ostemplate="local:vztmpl/mine-1.0_amd64.tar.gz")[
        "exitstatus"] == "OK"


def test_upload_refusals(sim_env: Any, tmp_path: Path) -> None:
    prox = sim_env.proxmoxer()
    path = small_template(tmp_path / "x.tar.gz")
    with path.open("rb") as handle, pytest.raises(ResourceException) as wrong:
        prox.nodes("pve1").storage("local").upload.post(content="iso", filename=handle)
    assert wrong.value.errors == {"filename": "wrong file extension"}
    with path.open("rb") as handle, pytest.raises(ResourceException, match="storage "
                                                  "'local-lvm' does not support 'vztmpl'"):
        prox.nodes("pve1").storage("local-lvm").upload.post(content="vztmpl", filename=handle)
    with path.open("rb") as handle:
        upid = prox.nodes("pve1").storage("local").upload.post(
            content="vztmpl", filename=handle, checksum="0" * 64,
            **{"checksum-algorithm": "sha256"})
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert wait(prox, "pve1", upid)["exitstatus"] == \
        f"checksum mismatch: got '{digest}' != expect '{'0' * 64}'"


def test_url_metadata_and_proxmoxers_download_helper(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    url = "http://download.proxmox.com/images/system/alpine-3.22-default_20250617_amd64.tar.xz"
    info = prox.nodes("pve1")("query-url-metadata").get(url=url)
    assert info["filename"] == "alpine-3.22-default_20250617_amd64.tar.xz"
    assert info["size"] > 0 and info["mimetype"] == "application/x-tar"
    status = Files(prox, "pve1", "local").download_file_to_storage(
        url, checksum="0" * 128, checksum_type="sha512")
    assert status["exitstatus"] == "OK"
    assert "local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz" in [
        v["volid"] for v in prox.nodes("pve1").storage("local").content.get()]


def test_cluster_tasks_lists_every_node(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 102, node="pve1")
    create(prox, 103, node="pve2")
    sim_env.sim.settings.time_scale = 50.0  # keep one task running
    running = prox.nodes("pve2").lxc(103).status.start.post()
    tasks = prox.cluster.tasks.get()
    assert {t["node"] for t in tasks} >= {"pve1", "pve2"}
    by_upid = {t["upid"]: t for t in tasks}
    assert "status" not in by_upid[running] and by_upid[running]["saved"] == "0"
    assert all(t["status"] == "OK" for t in tasks if t["upid"] != running)
    prox.nodes("pve2").tasks(running).delete()
