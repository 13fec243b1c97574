"""The node SSH endpoint over real SSH (Fabric/paramiko) against a running simulator.

One simulator per module (containers are created through the HTTPS API with proxmoxer, as a
client would); each test uses its own container or files, so they do not interfere.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import paramiko
import pytest
from fabric import Connection

from pxrun.sim import sandbox
from pxrun.sim.runtime import SimFacts, SimRuntime, init_state
from pxrun.sim.settings import SimSettings
from tests.sim.conftest import proxmoxer_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (bwrap)"),
]

Env = tuple[SimFacts, Any, SimRuntime]  # facts, a proxmoxer client, the runtime
DEBIAN = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def wait_task(px: Any, node: str, upid: str) -> dict[str, Any]:
    while True:  # tasks finish at once (time_scale=0); this polls, it does not sleep
        status: dict[str, Any] = px.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status


def create_ct(px: Any, node: str, vmid: int, *, hostname: str, template: str = DEBIAN,
              start: bool = True) -> None:
    assert wait_task(px, node, px.nodes(node).lxc.post(
        vmid=vmid, ostemplate=template, hostname=hostname, rootfs="local-lvm:4"))[
        "exitstatus"] == "OK"
    if start:
        assert wait_task(px, node, px.nodes(node).lxc(vmid).status.start.post())[
            "exitstatus"] == "OK"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    state = tmp_path_factory.mktemp("sim")
    init_state(state)
    with SimRuntime(state, settings=SimSettings(time_scale=0)) as runtime:
        facts = runtime.facts
        px = proxmoxer_for(facts)
        create_ct(px, "pve1", 101, hostname="web1")
        create_ct(px, "pve1", 102, hostname="idle", start=False)
        create_ct(px, "pve2", 201, hostname="other")
        yield facts, px, runtime


def connect(facts: SimFacts, node: str = "pve1", key: str | None = None) -> Connection:
    """A Fabric connection that trusts only the simulator's host key (no auto-add)."""
    conn = Connection("127.0.0.1", port=facts.ssh_port, user=facts.ssh_user_for(node),
                      connect_kwargs={"key_filename": key or str(facts.ssh_key),
                                      "look_for_keys": False, "allow_agent": False})
    conn.client.load_host_keys(str(facts.known_hosts))
    conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return conn


@pytest.fixture
def pve1(env: Env) -> Iterator[Connection]:
    with connect(env[0]) as conn:
        yield conn


def run(conn: Connection, command: str, stdin: str | None = None) -> Any:
    return conn.run(command, warn=True, hide=True,
                    in_stream=io.StringIO(stdin) if stdin is not None else False)


def test_exec_passes_exit_status_stdout_and_stderr(pve1: Connection) -> None:
    result = run(pve1, "pct exec 101 -- sh -c 'echo out; echo err >&2; exit 3'")
    assert (result.exited, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_exec_streams_stdin_like_ansibles_cat_transfer(pve1: Connection) -> None:
    payload = "line one\nline two\n"  # Fabric feeds stdin a byte at a time: keep it short
    assert run(pve1, "pct exec 101 -- sh -c 'cat > /etc/motd'", stdin=payload).exited == 0
    assert run(pve1, "pct exec 101 -- cat /etc/motd").stdout == payload


def test_exec_streams_a_large_stdin_both_ways(pve1: Connection) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB, binary
    pve1.open()
    stdin, stdout, _ = pve1.client.exec_command("pct exec 101 -- sh -c 'cat > /tmp/big'")
    stdin.write(payload)
    stdin.channel.shutdown_write()
    assert stdout.channel.recv_exit_status() == 0
    _, stdout, _ = pve1.client.exec_command("pct exec 101 -- cat /tmp/big")
    assert stdout.read() == payload


def test_container_sees_its_own_distribution_and_hostname(pve1: Connection) -> None:
    result = run(pve1, "pct exec 101 -- sh -c '. /etc/os-release; echo $ID $VERSION_ID; "
                       "hostname; cat /etc/hostname'")
    assert result.stdout.split() == ["debian", "12", "web1", "web1"]


def test_stopped_container_refuses_exec_push_and_pull(pve1: Connection) -> None:
    result = run(pve1, "pct exec 102 -- true")
    assert (result.exited, result.stderr) == (255, "container '102' not running!\n")
    assert run(pve1, "pct push 102 /etc/hostname /x").stderr == (
        "can only push files to a running CT\n")
    assert run(pve1, "pct pull 102 /etc/hostname /x").exited == 255
    assert run(pve1, "pct status 102").stdout == "status: stopped\n"
    assert run(pve1, "pct status 101").stdout == "status: running\n"


@pytest.mark.parametrize("vmid", [999, 201])  # 201 exists, but on pve2
def test_container_must_exist_on_the_node_connected_to(pve1: Connection, vmid: int) -> None:
    result = run(pve1, f"pct exec {vmid} -- true")
    assert result.exited == 255
    assert result.stderr == f"Configuration file 'nodes/pve1/lxc/{vmid}.conf' does not exist\n"


def test_other_node_is_reached_as_its_own_user(env: Env) -> None:
    with connect(env[0], "pve2") as conn:
        assert run(conn, "pct exec 201 -- hostname").stdout == "other\n"


def test_sftp_upload_then_push_then_pull(pve1: Connection, env: Env) -> None:
    pve1.put(io.BytesIO(b"secret config\n"), "/tmp/pxrun-upload")
    staged = env[0].state_dir / "nodefs" / "pve1" / "tmp" / "pxrun-upload"
    assert staged.read_bytes() == b"secret config\n"  # SFTP's "/" is the node sandbox
    assert run(pve1, "pct exec 101 -- useradd -m -s /bin/sh app").exited == 0
    result = run(pve1, "pct push 101 /tmp/pxrun-upload /etc/app.conf --perms 0640 "
                       "--user app --group app")
    assert (result.exited, result.stderr) == (0, "")
    listing = run(pve1, "pct exec 101 -- stat -c '%a %U %G' /etc/app.conf").stdout
    assert listing == "640 app app\n"
    assert run(pve1, "pct pull 101 /etc/app.conf /tmp/back.conf").exited == 0
    fetched = io.BytesIO()
    pve1.get("/tmp/back.conf", fetched)
    assert fetched.getvalue() == b"secret config\n"


def test_push_reports_pcts_errors(pve1: Connection) -> None:
    assert run(pve1, "pct push 101 /tmp/nope /etc/x").stderr == (
        "failed to open /tmp/nope for reading\n")
    pve1.put(io.BytesIO(b"x"), "/tmp/one")
    result = run(pve1, "pct push 101 /tmp/one /no/such/dir/x")
    assert result.exited == 255
    assert result.stderr.startswith("failed to create file: /no/such/dir/x: ")
    assert run(pve1, "pct push 101 /tmp/one /etc/x --user ghost").stderr == (
        "failed to get uid for: ghost\n")


def test_node_shell_commands_run_in_the_node_sandbox(pve1: Connection,
                                                      env: Env) -> None:
    result = run(pve1, "mkdir -p /tmp/stage && cat > /tmp/stage/f && hostname", stdin="data")
    assert (result.exited, result.stdout) == (0, "pve1\n")
    assert (env[0].state_dir / "nodefs/pve1/tmp/stage/f").read_text() == "data"


@pytest.mark.parametrize("inline", [True, False])
def test_environment_reaches_the_container(pve1: Connection, inline: bool) -> None:
    # inline: Fabric sends `export GREETING=hello && <command>`; else an SSH env request
    pve1.inline_ssh_env = inline
    result = pve1.run("pct exec 101 -- sh -c 'echo $GREETING'", env={"GREETING": "hello"},
                      hide=True, warn=True, in_stream=False)
    assert result.stdout == "hello\n"


def log_lines(state_dir: Path, vmid: int, tool: str) -> list[dict[str, Any]]:
    path = state_dir / "rootfs" / str(vmid) / "var/log/pxrun-sim" / f"{tool}.log"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_package_manager_shims_record_and_install(pve1: Connection,
                                                  env: Env) -> None:
    script = ("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y "
              "--no-install-recommends nginx 'quote\"d' && dpkg -s nginx | grep Status")
    result = run(pve1, f"pct exec 101 -- sh -c '{script}'".replace("'quote\"d'", "quoted"))
    assert result.exited == 0
    assert result.stdout.endswith("Status: install ok installed\n")
    argvs = [entry["argv"] for entry in log_lines(env[0].state_dir, 101, "apt-get")]
    assert ["install", "-y", "--no-install-recommends", "nginx", "quoted"] in argvs
    missing = run(pve1, "pct exec 101 -- dpkg -s not-installed")
    assert missing.exited == 1 and "is not installed" in missing.stderr


def test_docker_and_tailscale_installers_succeed_and_keys_stay_secret(
        pve1: Connection, env: Env) -> None:
    assert run(pve1, "pct exec 101 -- sh -c 'command -v docker'").exited != 0
    script = ("curl -fsSL https://get.docker.com | sh && docker info >/dev/null && "
              "systemctl is-active docker && curl -fsSL https://tailscale.com/install.sh | sh"
              " >/dev/null && tailscale up --authkey=tskey-auth-SECRET --hostname=web1 && "
              "tailscale ip -4")
    result = run(pve1, f"pct exec 101 -- sh -c '{script}'")
    assert result.exited == 0, result.stderr
    assert "active\n100.64." in result.stdout
    assert run(pve1, "pct exec 101 -- sh -c 'command -v docker'").stdout == (
        "/usr/local/bin/docker\n")
    logs = (env[0].state_dir / "rootfs/101/var/log/pxrun-sim/tailscale.log").read_text()
    assert "SECRET" not in logs and "--authkey=***" in logs
    offline = run(pve1, "pct exec 101 -- curl -fsSL https://example.com/x")
    assert (offline.exited, offline.stderr) == (6, "curl: (6) Could not resolve host: "
                                                   "example.com\n")


def test_alpine_container_has_apk_not_apt(env: Env) -> None:
    facts, px = env[0], env[1]
    upid = px.nodes("pve1").aplinfo.post(storage="local",
                                         template="alpine-3.20-default_20240908_amd64.tar.xz")
    wait_task(px, "pve1", upid)
    create_ct(px, "pve1", 103, hostname="alp",
              template="local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz")
    with connect(facts) as conn:
        result = run(conn, "pct exec 103 -- sh -c '. /etc/os-release; echo $ID; "
                           "command -v apt-get || echo no-apt; apk add --no-cache curl "
                           ">/dev/null && apk info -e curl'")
    assert result.stdout.split() == ["alpine", "no-apt", "curl"]


def test_only_the_configured_key_and_node_users_get_in(env: Env,
                                                       tmp_path: Path) -> None:
    facts = env[0]
    with pytest.raises(paramiko.AuthenticationException), connect(facts, "pve9") as conn:
        conn.run("true", hide=True, in_stream=False)
    other = tmp_path / "other_key"

    other.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    with pytest.raises(paramiko.AuthenticationException), connect(
            facts, "pve1", key=str(other)) as conn:
        conn.run("true", hide=True, in_stream=False)


def test_missing_bwrap_is_refused_with_the_package_name(pve1: Connection,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    result = run(pve1, "pct exec 101 -- true")
    assert result.exited == 255
    assert "Debian package 'bubblewrap'" in result.stderr


def test_pty_requests_pass_output_through(pve1: Connection) -> None:
    result = pve1.run("pct exec 101 -- sh -c 'echo one; exit 4'", pty=True, warn=True,
                      hide=True, in_stream=False)
    assert result.exited == 4
    assert result.stdout.replace("\r\n", "\n") == "one\n"


def test_an_offline_node_refuses_the_login(env: Env) -> None:
    facts, _, runtime = env
    assert runtime.sim is not None
    runtime.sim.settings.faults.offline_nodes = ["pve3"]
    try:
        with pytest.raises(paramiko.AuthenticationException), connect(facts, "pve3") as conn:
            conn.run("true", hide=True, in_stream=False)
    finally:
        runtime.sim.settings.faults.offline_nodes = []
