"""The model without HTTP: UPIDs, config text and digest, persistence, PVE 8.4 behaviour."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import pxrun.sim.handlers  # noqa: F401  (registers the routes)
from pxrun.sim.api import ApiError, Auth, Request, match
from pxrun.sim.containers import Container
from pxrun.sim.settings import SimSettings
from pxrun.sim.state import Simulator
from pxrun.sim.tasks import decode_upid, encode_upid, exitstatus_of

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
ROOT = Auth("root@pam")


def call(sim: Simulator, method: str, path: str, **params: Any) -> Any:
    route, path_params = match(method, path)
    merged: dict[str, Any] = {**params, **path_params}
    if "vmid" in merged:
        merged["vmid"] = int(merged["vmid"])
    return route.handler(sim, Request(method, path, route.template, merged, ROOT))


def finish(sim: Simulator, upid: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with sim.lock:
            task = sim.tasks.tasks[upid]
            if not task.running:
                return str(task.exitstatus)
    raise AssertionError("task did not finish")


@pytest.fixture
def sim() -> Any:
    simulator = Simulator.create_default(SimSettings(time_scale=0.0, seed=7))
    yield simulator
    simulator.close()


def test_upid_round_trip_and_exitstatus() -> None:
    upid = encode_upid("pve1", 0x2B3C4, 0x1A2B3C4, 0x6650A1B2, "vzcreate", "101",
                       "root@pam!pxrun")
    assert upid == "UPID:pve1:0002B3C4:01A2B3C4:6650A1B2:vzcreate:101:root@pam!pxrun:"
    parts = decode_upid(upid)
    assert parts is not None and parts["pid"] == 0x2B3C4 and parts["id"] == "101"
    assert decode_upid("UPID:pve1:xyz") is None
    assert exitstatus_of("TASK OK") == "OK"
    assert exitstatus_of("TASK WARNINGS: 2") == "WARNINGS: 2"
    assert exitstatus_of("TASK ERROR: boom") == "boom"
    assert exitstatus_of("something") == "unexpected status"


def test_config_text_and_digest() -> None:
    ct = Container(vmid=101, node="pve1", conf={"memory": "512", "arch": "amd64",
                                                "description": "a: 100%\nline2"})
    ct.pending = {"memory": "1024"}
    ct.pending_delete = ["swap"]
    assert ct.render() == ("#a%3A 100%25\n#line2\narch: amd64\nmemory: 512\n\n"
                           "[pve:pending]\ndelete: swap\nmemory: 1024\n")
    before = ct.digest
    ct.conf["cores"] = "2"
    assert ct.digest != before and len(before) == 40
    assert ct.config_json()["memory"] == 1024
    assert ct.config_json(current=True)["memory"] == 512


def test_persistence_across_load(sim: Simulator, tmp_path: Path) -> None:
    sim.save(tmp_path)
    finish(sim, call(sim, "POST", "/nodes/pve1/lxc", vmid=130, ostemplate=TEMPLATE,
                     net0="name=eth0,bridge=vmbr0,ip=dhcp", start=1))
    call(sim, "POST", "/pools", poolid="web")
    again = Simulator.load(tmp_path, SimSettings(time_scale=0.0))
    try:
        ct = again.container(130)
        assert ct is not None and ct.node == "pve1" and ct.status == "running"
        assert ct.config == sim.containers[130].conf
        assert "web" in again.pools
        assert again.storages.find("local-lvm:vm-130-disk-0", "pve1") is None
        assert again.storages.find("local:130/vm-130-disk-0.raw", "pve1") is not None
        assert set(again.tasks.tasks) == set(sim.tasks.tasks)
        assert again.dhcp.leases == sim.dhcp.leases
    finally:
        again.close()


def test_interrupted_task_is_recorded_as_failed(sim: Simulator, tmp_path: Path) -> None:
    sim.settings.time_scale = 100.0
    upid = call(sim, "POST", "/nodes/pve1/lxc", vmid=131, ostemplate=TEMPLATE)
    sim.save(tmp_path)
    data = json.loads((tmp_path / "state.json").read_text())
    assert any(t["upid"] == upid and t["endtime"] is None for t in data["tasks"])
    again = Simulator.load(tmp_path)
    try:
        assert again.tasks.tasks[upid].exitstatus == "task interrupted by simulator restart"
    finally:
        again.close()


def test_pve84_defaults() -> None:
    sim = Simulator.create_default(SimSettings(time_scale=0.0, pve_version="8.4"))
    try:
        assert call(sim, "GET", "/version")["release"] == "8.4"
        finish(sim, call(sim, "POST", "/nodes/pve1/lxc", vmid=140, ostemplate=TEMPLATE))
        assert sim.containers[140].conf["unprivileged"] == "0"
        finish(sim, call(sim, "POST", "/nodes/pve1/lxc/140/status/start"))
        call(sim, "PUT", "/nodes/pve1/lxc/140/config", dev0="/dev/null")
        assert sim.containers[140].pending == {"dev0": "/dev/null"}
        with pytest.raises(ApiError) as err:
            call(sim, "GET", "/nodes/pve1/lxc/140/migrate")
        assert err.value.status == 501
    finally:
        sim.close()


def test_pve91_hotplugs_new_devices(sim: Simulator) -> None:
    finish(sim, call(sim, "POST", "/nodes/pve1/lxc", vmid=141, ostemplate=TEMPLATE, start=1))
    ct = sim.containers[141]
    assert ct.running and ct.conf["unprivileged"] == "1"
    call(sim, "PUT", "/nodes/pve1/lxc/141/config", dev0="/dev/null", tty=3)
    assert ct.conf["dev0"] == "/dev/null" and ct.pending == {"tty": "3"}
    assert ct.config_json()["tty"] == 3


def test_resources_lag(sim: Simulator) -> None:
    sim.settings.resources_lag = 60.0
    finish(sim, call(sim, "POST", "/nodes/pve1/lxc", vmid=142, ostemplate=TEMPLATE, start=1))
    assert call(sim, "GET", "/cluster/resources", type="vm")[0]["status"] == "stopped"
    assert call(sim, "GET", "/nodes/pve1/lxc/142/status/current")["status"] == "running"
