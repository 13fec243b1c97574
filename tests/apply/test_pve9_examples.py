"""The Proxmox VE 9 examples run on `pxrun --sim` as the README shows them and converge:
examples/app-containers (nginx, postgres with a data volume) and
examples/gpu-passthrough.yaml (devices, cgroup rule, mount entry, idmap)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pxrun.sim import rootfs
from pxrun.sim.state import Simulator
from tests.apply.conftest import run

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (bwrap)"),
]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _containers(simdir: Path) -> dict[str, Any]:
    sim = Simulator.load(simdir)
    return {str(ct.conf.get("hostname")): ct for ct in sim.containers.values()}


def test_app_containers_example(simdir: Path) -> None:
    spec = str(EXAMPLES / "app-containers")
    assert run(simdir, "apply", "--auto-approve", "-f", spec) == 0
    assert run(simdir, "plan", "--detailed-exitcode", "--check-images", "-f", spec) == 0
    cts = _containers(simdir)
    db, web = cts["db"], cts["web"]
    assert db.conf["mp0"].split(",")[0].startswith("local-lvm:vm-")
    assert "POSTGRES_DB=app" in db.conf["env"]
    assert db.conf["entrypoint"] == "docker-entrypoint.sh postgres"
    assert "host-managed=1" in web.conf["net0"]
    assert web.running and db.running


def test_gpu_passthrough_example(simdir: Path) -> None:
    spec = str(EXAMPLES / "gpu-passthrough.yaml")
    assert run(simdir, "apply", "--auto-approve", "-f", spec) == 0
    assert run(simdir, "plan", "--detailed-exitcode", "-f", spec) == 0
    ct = _containers(simdir)["jellyfin"]
    raw = dict(ct.raw_lxc)
    assert raw["lxc.cgroup2.devices.allow"] == "c 226:* rwm"
    assert ("lxc.idmap", "g 104 104 1") in ct.raw_lxc
    assert ct.conf["dev0"].startswith("/dev/dri/renderD128")
    subgid = rootfs.nodefs_dir(simdir, ct.node) / "etc" / "subgid"
    assert {"root:44:1", "root:104:1"} <= set(subgid.read_text().splitlines())
    assert ct.running
