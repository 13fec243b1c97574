"""The runtime: state directories, facts, persistence across runs, the embedded mode."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pxrun.errors import SimulatorError
from pxrun.sim.containers import Container
from pxrun.sim.embedded import running_simulator
from pxrun.sim.runtime import SimRuntime, describe_state, init_state, reset_state
from pxrun.sim.settings import SimSettings
from pxrun.sim.state import Simulator
from tests.sim.conftest import proxmoxer_for

FACT_KEYS = {"endpoint", "token_id", "token_secret", "ca_file", "ssh_port", "ssh_key"}


def test_init_is_idempotent_and_keeps_secrets(tmp_path: Path) -> None:
    first = init_state(tmp_path / "s")
    again = init_state(tmp_path / "s")
    assert first == again  # same token, keys, CA and preferred ports
    assert set(first.to_json()) >= FACT_KEYS
    assert first.token_id == "root@pam!pxrun"
    assert first.nodes == ("pve1", "pve2", "pve3")
    assert first.ssh_user_for("pve2") == "pve2"
    assert first.token_secret not in repr(first)
    assert (first.ssh_key.stat().st_mode & 0o777) == 0o600
    assert first.ssh_host_key.startswith("ssh-ed25519 ")


def test_state_persists_between_runs_and_is_replaced_atomically(tmp_path: Path) -> None:
    state = tmp_path / "s"
    init_state(state)
    with SimRuntime(state, settings=SimSettings(time_scale=0)) as runtime:
        facts = runtime.facts
        assert facts.endpoint.startswith("https://127.0.0.1:")
        px = proxmoxer_for(facts)
        px.nodes("pve1").lxc.post(vmid=150, hostname="kept", rootfs="local-lvm:4",
                                  ostemplate="local:vztmpl/debian-12-standard_12.7-1_amd64"
                                             ".tar.zst")
    assert not [p.name for p in state.rglob("*.tmp")]
    assert (state / "journal.jsonl").stat().st_size == 0  # folded into state.json on stop
    with SimRuntime(state) as runtime:
        assert runtime.sim is not None and 150 in runtime.sim.containers
    assert describe_state(state)["nodes"][0] == {"name": "pve1", "online": True,
                                                 "containers": 1, "running": 0}


def test_reset_keeps_credentials_and_drops_containers(tmp_path: Path) -> None:
    state = tmp_path / "s"
    facts = init_state(state)
    sim = Simulator.load(state)
    sim.containers[150] = Container(vmid=150, node="pve1")
    sim.save(state)
    sim.close()
    (state / "rootfs" / "150").mkdir(parents=True)
    again = reset_state(state)
    assert (again.token_secret, again.ssh_key) == (facts.token_secret, facts.ssh_key)
    assert not Simulator.load(state).containers
    assert not (state / "rootfs").exists()


def test_missing_and_corrupt_state_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SimulatorError, match="no simulator state"):
        SimRuntime(tmp_path / "nowhere").start()
    with pytest.raises(SimulatorError, match="no simulator state"):
        describe_state(tmp_path / "nowhere")
    state = tmp_path / "s"
    init_state(state)
    (state / "state.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SimulatorError, match="unusable") as caught:
        SimRuntime(state).start()
    assert "pxrun sim reset" in caught.value.hint


def test_embedded_mode_initialises_then_starts_quickly(tmp_path: Path) -> None:
    state = tmp_path / ".pxrun" / "sim"
    log = tmp_path / "requests.jsonl"
    with running_simulator(state, request_log=log) as facts:
        assert set(facts.to_json()) >= FACT_KEYS
        import requests

        reply = requests.get(f"{facts.endpoint}/api2/json/version", verify=str(facts.ca_file),
                             headers={"Authorization": f"PVEAPIToken={facts.token_id}="
                                                       f"{facts.token_secret}"}, timeout=10)
        assert reply.status_code == 200
    assert log.read_text().strip()  # the request was logged ...
    assert facts.token_secret not in log.read_text()  # ... without the secret
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        with running_simulator(state):
            timings.append(time.perf_counter() - started)
    # the design asks < 0.3 s; a loose bound here so a busy CI box does not flake
    assert min(timings) < 1.0, timings
    assert json.loads((state / "ports.json").read_text())["port"] > 0
