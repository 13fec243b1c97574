"""The node SSH transport and the `pct set` root runner: units with a fake connection, and
the real thing (Fabric, host keys checked) against the simulator's node endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
import pytest

from pxrun.connect.settings import SshSettings
from pxrun.errors import NodeCommandError, NodeSshError
from pxrun.provision.nodessh import NodeShell, PctSetRunner
from pxrun.provision.sshconn import SshTarget
from pxrun.sim.runtime import SimFacts, SimRuntime, init_state
from pxrun.sim.settings import SimSettings


@dataclass
class FakeResult:
    exited: int
    stdout: str = ""
    stderr: str = ""


class FakeChannel:
    """The part of a paramiko channel `run_command` uses, answering with one result."""

    def __init__(self, result: FakeResult, commands: list[str]) -> None:
        self.result = result
        self.commands = commands
        self.out = [result.stdout.encode()] if result.stdout else []
        self.err = [result.stderr.encode()] if result.stderr else []
        self.eof_received = True
        self.closed = False

    def exec_command(self, command: str) -> None:
        self.commands.append(command)

    def sendall(self, data: bytes) -> None:
        raise AssertionError("no stdin expected")

    def shutdown_write(self) -> None:
        pass

    def recv_ready(self) -> bool:
        return bool(self.out)

    def recv(self, size: int) -> bytes:
        return self.out.pop(0)

    def recv_stderr_ready(self) -> bool:
        return bool(self.err)

    def recv_stderr(self, size: int) -> bytes:
        return self.err.pop(0)

    def exit_status_ready(self) -> bool:
        return True

    def recv_exit_status(self) -> int:
        return self.result.exited

    def close(self) -> None:
        pass


class FakeConn:
    """A connection whose transport hands out channels answering with scripted results; a
    scripted exception fails the session and leaves the connection dead."""

    def __init__(self, results: list[Any]) -> None:
        self.results = results
        self.commands: list[str] = []
        self.closed = False
        self.active = True
        self.client = self

    def get_transport(self) -> FakeConn:
        return self

    def is_active(self) -> bool:
        return self.active

    def open_session(self) -> FakeChannel:
        item = self.results.pop(0)
        if isinstance(item, BaseException):
            self.active = False
            raise item
        return FakeChannel(item, self.commands)

    def close(self) -> None:
        self.closed = True


def shell_with(conn: FakeConn, ssh: SshSettings | None = None) -> tuple[NodeShell, list[str]]:
    opened: list[str] = []

    def connect(target: SshTarget, timeout: float) -> FakeConn:
        opened.append(target.name)
        conn.active = True
        return conn

    return NodeShell(ssh or SshSettings(), connect=connect), opened


def test_pct_set_is_one_quoted_command_and_the_connection_is_reused() -> None:
    conn = FakeConn([FakeResult(0), FakeResult(0)])
    shell, opened = shell_with(conn)
    runner = PctSetRunner(shell)
    runner.pct("pve1", ["set", "101", "--mp1", "/mnt/my media,mp=/media"])
    runner.pct("pve1", ["set", "101", "--delete", "dev0"])
    assert conn.commands == ["pct set 101 --mp1 '/mnt/my media,mp=/media'",
                             "pct set 101 --delete dev0"]
    assert opened == ["pve1"]
    shell.close()
    assert conn.closed


def test_a_non_root_login_uses_sudo_without_a_prompt() -> None:
    conn = FakeConn([FakeResult(0)])
    shell, _ = shell_with(conn, SshSettings(user="pxrun"))
    PctSetRunner(shell).pct("pve1", ["set", "101", "--dev0", "/dev/fuse"])
    assert conn.commands == ["sudo -n pct set 101 --dev0 /dev/fuse"]


def test_pcts_failure_is_a_typed_error_with_its_message() -> None:
    conn = FakeConn([FakeResult(255, stderr="unable to delete required option 'memory'\n")])
    shell, _ = shell_with(conn)
    with pytest.raises(NodeCommandError) as caught:
        PctSetRunner(shell).pct("pve1", ["set", "101", "--delete", "memory"])
    assert caught.value.status == 255
    assert caught.value.message == ("`pct set 101 ...` on pve1 failed (exit 255): unable to "
                                    "delete required option 'memory'")


def test_only_pct_set_is_run() -> None:
    shell, _ = shell_with(FakeConn([]))
    with pytest.raises(ValueError, match="pct set"):
        PctSetRunner(shell).pct("pve1", ["exec", "101", "--", "id"])


@pytest.mark.parametrize(("error", "text"), [
    (paramiko.SSHException("Server '[127.0.0.1]:2222' not found in known_hosts"),
     "host key not in known_hosts"),
    (ConnectionRefusedError(111, "Connection refused"), "Connection refused"),
    (paramiko.AuthenticationException("Authentication failed."), "Authentication failed."),
])
def test_transport_failures_are_node_ssh_errors(error: BaseException, text: str) -> None:
    conn = FakeConn([error, FakeResult(0)])
    shell, opened = shell_with(conn)
    with pytest.raises(NodeSshError, match=text):
        shell.run("pve1", ["pct", "status", "101"])
    assert shell.run("pve1", ["true"]).status == 0  # a fresh connection after the failure
    assert opened == ["pve1", "pve1"]


# -- against the simulator ----------------------------------------------------------------


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimFacts]:
    state = tmp_path_factory.mktemp("sim")
    init_state(state)
    with SimRuntime(state, settings=SimSettings(time_scale=0)) as runtime:
        yield runtime.facts


def sim_ssh(facts: SimFacts, known_hosts: Path | None = None) -> SshSettings:
    return SshSettings(port=facts.ssh_port, key_file=facts.ssh_key,
                       known_hosts=known_hosts or facts.known_hosts,
                       hosts=dict.fromkeys(facts.nodes, "127.0.0.1"),
                       users={n: facts.ssh_user_for(n) for n in facts.nodes})


@pytest.mark.integration
def test_real_ssh_runs_pct_and_reports_its_error(facts: SimFacts) -> None:
    with NodeShell(sim_ssh(facts)) as shell:
        result = shell.run("pve1", ["pct", "status", "999"])
        assert (result.status, result.stderr) == (
            255, "Configuration file 'nodes/pve1/lxc/999.conf' does not exist\n")
        with pytest.raises(NodeCommandError, match=r"999\.conf' does not exist"):
            PctSetRunner(shell).pct("pve1", ["set", "999", "--cores", "2"])


@pytest.mark.integration
def test_an_unknown_host_key_is_refused(facts: SimFacts, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("", encoding="utf-8")
    with NodeShell(sim_ssh(facts, empty)) as shell, pytest.raises(NodeSshError,
                                                                  match="known_hosts"):
        shell.run("pve1", ["true"])
