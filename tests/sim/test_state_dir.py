"""One process owns a state directory; `pxrun --sim` talks to a running `sim serve`;
facts are absolute; a restarted `sim serve` keeps its port (spec 0025)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from pxrun.cli.cmd_sim import _if_free
from pxrun.cli.main import main
from pxrun.sim import statelock
from pxrun.sim.embedded import running_simulator
from pxrun.sim.runtime import SimRuntime, init_state
from pxrun.sim.settings import SimSettings
from pxrun.sim.state import Simulator
from pxrun.sim.statelock import StateBusy
from tests.sim.conftest import proxmoxer_for

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


@pytest.fixture
def serve_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process acts as `pxrun sim serve` (what the command sets for itself)."""
    monkeypatch.setitem(statelock._KIND, "kind", "serve")


def test_a_second_process_gets_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "s"
    init_state(state)
    with SimRuntime(state, settings=SimSettings(time_scale=0)):
        with pytest.raises(StateBusy, match=r"is in use \(pid \d+, another pxrun command\)") \
                as caught:
            SimRuntime(state).start()
        assert "pxrun sim serve" in caught.value.hint
        with pytest.raises(StateBusy):  # writing through a loaded copy is refused as well
            Simulator.load(state).commit()
        assert statelock.is_owned(state)
    assert not statelock.is_owned(state)  # released on stop: the next run owns it
    with SimRuntime(state, settings=SimSettings(time_scale=0)):
        pass


def test_embedded_mode_talks_to_a_running_server(tmp_path: Path, serve_kind: None) -> None:
    state = tmp_path / "s"
    init_state(state)
    with SimRuntime(state, settings=SimSettings(time_scale=0)) as served:
        with running_simulator(state) as facts:
            assert facts.endpoint == served.facts.endpoint
            assert facts.ssh_port == served.facts.ssh_port
            assert facts.token_secret == served.facts.token_secret
            px = proxmoxer_for(facts)
            px.nodes("pve1").lxc.post(vmid=140, ostemplate=TEMPLATE, hostname="shared")
        assert served.sim is not None and 140 in served.sim.containers
    again = Simulator.load(state)
    assert again.containers[140].conf["hostname"] == "shared"


def test_embedded_mode_does_not_share_another_command(tmp_path: Path) -> None:
    state = tmp_path / "s"
    init_state(state)
    with SimRuntime(state, settings=SimSettings(time_scale=0)), \
            pytest.raises(StateBusy, match="another pxrun command"), \
            running_simulator(state):
        pass


def test_facts_name_absolute_paths_for_a_relative_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--json", "sim", "init", "sim1"]) == 0
    facts = json.loads(capsys.readouterr().out)
    for key in ("ca_file", "ssh_key", "known_hosts", "state_dir"):
        assert Path(facts[key]).is_absolute(), (key, facts[key])
    assert facts["ca_file"] == str(tmp_path / "sim1" / "ca.pem")


def test_a_port_in_time_wait_is_still_free_for_a_restart() -> None:
    """The old server's side of a closed connection sits in TIME_WAIT: still ours to bind."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()  # the server closes first: its end goes to TIME_WAIT
    client.recv(1)
    client.close()
    server.close()
    assert _if_free(port) == port
