"""The transport over real SSH against the simulator: exact quoting, files with mode and
owner by `pct push` and by stream, SSH straight into a container, one connection per node,
host keys (refused, trusted on first use and recorded, changed), per-node overrides, a
jump host, node addresses from /cluster/status, and timeouts.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from pxrun.connect.settings import SshOverride
from pxrun.errors import NodeSshError
from pxrun.provision.actions import Put
from pxrun.provision.channel import CommandTimeout
from pxrun.provision.nodessh import NodeShell
from pxrun.provision.runner import ProvisionSession
from pxrun.provision.sshconn import (
    SshTarget,
    node_addresses,
    node_target,
    open_connection,
)
from pxrun.provision.transport import PctTransport, SshTransport
from tests.provision.conftest import Sim, needs_bwrap

pytestmark = [pytest.mark.integration, needs_bwrap]

TRICKY = ["plain", "it's", 'say "hi"', "$HOME and ${PATH}", "`id -u` $(id -u)", "back\\slash",
          "new\nline", "tab\there", "ünïcødé ✓ 日本", "*", "-n", "", "a;b|c&d>e<f", "'\"'"]


@pytest.fixture(scope="module")
def cts(sim: Sim) -> Sim:
    sim.create("pve1", 111, "t1")
    sim.create("pve2", 211, "t2")
    return sim


@pytest.fixture
def session(cts: Sim, tmp_path: Path) -> Iterator[ProvisionSession]:
    with ProvisionSession(cts.ssh(), log_dir=tmp_path / "logs") as session:
        yield session


def echo_args(values: list[str]) -> str:
    return "for a in " + " ".join(shlex.quote(v) for v in values) + '; do printf "<%s>" "$a"; done'


def test_quoting_is_exact_in_the_command_and_through_a_node_shell(
        session: ProvisionSession, cts: Sim) -> None:
    expected = "".join(f"<{v}>" for v in TRICKY)
    transport = session.transport("pve1", 111)
    assert transport.run(echo_args(TRICKY)).stdout == expected
    # the same command line inside a node shell (pipes, `pct` as a command on PATH)
    assert isinstance(transport, PctTransport)
    with NodeShell(cts.ssh(), pool=session.pool) as shell:
        wrapped = shell.run("pve1", ["bash", "-c", transport.command(echo_args(TRICKY))
                                     + " | cat"])
    assert (wrapped.status, wrapped.stdout) == (0, expected)


@pytest.mark.parametrize("method", ["push", "stream"])
def test_files_arrive_with_mode_and_owner(session: ProvisionSession, method: str) -> None:
    transport = session.transport("pve1", 111)
    assert isinstance(transport, PctTransport)
    transport.file_method = method
    assert transport.run("id www-data >/dev/null 2>&1 || useradd www-data").status == 0
    data = bytes(range(256)) * 64 + "é\n".encode()
    dest = f"/srv/{method}/with space.bin"
    assert transport.run(f"mkdir -p /srv/{method}").status == 0
    result = transport.put(Put(dest, data, "0640", "www-data", "www-data"))
    assert (result.status, result.stderr) == (0, "")
    check = transport.run(f"stat -c '%a %U %G %s' {shlex.quote(dest)}; cksum < "
                          f"{shlex.quote(dest)}; ls -a /srv/{method}")
    assert check.stdout.splitlines()[0] == f"640 www-data www-data {len(data)}"
    assert check.stdout.splitlines()[2:] == [".", "..", "with space.bin"]  # no temp left


def test_push_leaves_no_temporary_file_on_the_node_even_when_it_fails(
        session: ProvisionSession, cts: Sim) -> None:
    transport = session.transport("pve1", 111)
    failed = transport.put(Put("/no/such/dir/f", b"x", "0600", None, None))
    assert failed.status == 255 and "failed to create file: /no/such/dir/f" in failed.stderr
    assert transport.put(Put("/root/ok", b"x", "0600", "nobody", None)).status == 0
    assert not list((cts.state / "nodefs/pve1/tmp").glob("pxrun.*"))


def test_ssh_straight_into_the_container(session: ProvisionSession, cts: Sim) -> None:
    ssh = cts.ssh()
    target = SshTarget(name="CT 211", host="127.0.0.1", port=ssh.port,
                       user=cts.facts.ssh_user_for_container(211), key_file=ssh.key_file,
                       known_hosts=ssh.known_hosts)
    transport = SshTransport(session.pool, target, sudo=False)
    assert transport.run(echo_args(TRICKY[:5]) + "; echo; hostname").stdout == (
        "".join(f"<{v}>" for v in TRICKY[:5]) + "\nt2\n")
    assert transport.put(Put("/etc/direct", b"hello\n", "0600", None, None)).status == 0
    assert transport.run("stat -c %a /etc/direct; cat /etc/direct").stdout == "600\nhello\n"


def test_one_connection_per_node_is_reused(cts: Sim, tmp_path: Path) -> None:
    opened: list[str] = []

    def connect(target: SshTarget, timeout: float) -> Any:
        opened.append(target.name)
        return open_connection(target, timeout)

    with ProvisionSession(cts.ssh(), log_dir=tmp_path, connect=connect) as session:
        for _ in range(3):
            for node, vmid in (("pve1", 111), ("pve2", 211)):
                assert session.transport(node, vmid).run("true").status == 0
        with NodeShell(cts.ssh(), pool=session.pool) as shell:
            shell.check("pve1", ["pct", "status", "111"])
    assert sorted(opened) == ["pve1", "pve2"]


def test_a_step_timeout_closes_the_command(session: ProvisionSession) -> None:
    transport = session.transport("pve1", 111)
    with pytest.raises(CommandTimeout) as caught:
        transport.run("echo started; sleep 20", timeout=0.5)
    assert caught.value.stdout == "started\n"
    assert transport.run("echo still usable").stdout == "still usable\n"


# -- host keys ------------------------------------------------------------------------------


def test_an_unknown_host_key_is_refused_unless_trusted_on_first_use(cts: Sim,
                                                                    tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    with ProvisionSession(cts.ssh(known_hosts=known), log_dir=tmp_path) as session, \
            pytest.raises(NodeSshError, match="host key not in known_hosts"):
        session.transport("pve1", 111).run("true")
    trusting = cts.ssh(known_hosts=known, trust_unknown_hosts=True)
    with ProvisionSession(trusting, log_dir=tmp_path) as session:
        assert session.transport("pve1", 111).run("true").status == 0
    recorded = known.read_text()
    assert recorded == f"[127.0.0.1]:{cts.facts.ssh_port} {cts.facts.ssh_host_key}\n"
    # recorded: now checked like any other (a strict session accepts it) ...
    with ProvisionSession(cts.ssh(known_hosts=known), log_dir=tmp_path) as session:
        assert session.transport("pve2", 211).run("true").status == 0
    # ... and a different key for that host is refused, even when trusting new ones
    fake = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().split()
    known.write_text(f"[127.0.0.1]:{cts.facts.ssh_port} {fake[0]} {fake[1]}\n")
    with ProvisionSession(trusting, log_dir=tmp_path) as session, \
            pytest.raises(NodeSshError, match="does not match known_hosts"):
        session.transport("pve1", 111).run("true")


# -- addresses, overrides, jump host -------------------------------------------------------


def test_node_addresses_come_from_cluster_status(cts: Sim) -> None:
    addresses = node_addresses(cts.px.cluster.status.get())
    assert addresses == {"pve1": "10.20.0.2", "pve2": "10.20.0.3", "pve3": "10.20.0.4"}
    plain = cts.ssh(hosts={})
    assert node_target(plain, "pve2", addresses).host == "10.20.0.3"
    assert node_target(cts.ssh(), "pve2", addresses).host == "127.0.0.1"  # hosts: wins
    override = cts.ssh(nodes={"pve2": SshOverride(host="pve2.lan", port=2222, user="ops")})
    target = node_target(override, "pve2", addresses)
    assert (target.host, target.port, target.user) == ("pve2.lan", 2222, "ops")
    assert node_target(override, "pve1", addresses).port == cts.facts.ssh_port


def test_a_jump_host_reaches_the_node(cts: Sim, tmp_path: Path) -> None:
    port = cts.facts.ssh_port
    ssh = cts.ssh(nodes={"pve2": SshOverride(jump=f"pve1@127.0.0.1:{port}")})
    target = node_target(ssh, "pve2")
    assert target.jump is not None and target.jump.where == f"pve1@127.0.0.1:{port}"
    with ProvisionSession(ssh, log_dir=tmp_path) as session:
        assert session.transport("pve2", 211).run("hostname").stdout == "t2\n"
