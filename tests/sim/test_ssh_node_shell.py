"""A simulated node behaves like a node: a real shell with `pct` on PATH, `/etc/pve`, sudo,
and containers whose file view mounts their mount points (issues 10 and 14).

One simulator for the module; containers are made through the HTTPS API (proxmoxer) as a
client would, commands go over real SSH (Fabric, host keys checked).
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from fabric import Connection

from pxrun.sim import rootfs
from pxrun.sim.pctrun import EXEC_LOG
from pxrun.sim.runtime import SimFacts, SimRuntime, init_state
from pxrun.sim.settings import SimSettings
from tests.sim.conftest import proxmoxer_for
from tests.sim.test_ssh_pct import connect, create_ct, run, wait_task

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (bwrap)"),
]

Env = tuple[SimFacts, Any]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    state = tmp_path_factory.mktemp("sim")
    init_state(state)
    with SimRuntime(state, settings=SimSettings(time_scale=0)) as runtime:
        px = proxmoxer_for(runtime.facts)
        create_ct(px, "pve1", 101, hostname="web1")
        create_ct(px, "pve2", 201, hostname="other")
        yield runtime.facts, px


@pytest.fixture
def pve1(env: Env) -> Iterator[Connection]:
    with connect(env[0]) as conn:
        yield conn


def test_push_then_exec_in_one_command_line(pve1: Connection) -> None:
    pve1.put(io.BytesIO(b"pushed\n"), "/tmp/a")
    result = run(pve1, "pct push 101 /tmp/a /root/b && pct exec 101 -- cat /root/b")
    assert (result.exited, result.stdout, result.stderr) == (0, "pushed\n", "")


def test_pipes_carry_binary_data_through_pct_exec(pve1: Connection) -> None:
    pve1.open()
    payload = bytes(range(256)) * 512
    stdin, stdout, _ = pve1.client.exec_command(
        "cat | pct exec 101 -- sh -c 'cat > /tmp/bin' && pct exec 101 -- cat /tmp/bin | wc -c")
    stdin.write(payload)
    stdin.channel.shutdown_write()
    assert stdout.read().strip() == str(len(payload)).encode()
    assert stdout.channel.recv_exit_status() == 0


def test_exit_statuses_and_errors_reach_the_shell(pve1: Connection) -> None:
    result = run(pve1, "pct exec 101 -- sh -c 'exit 7'; echo rc=$?; pct exec 999 -- true; "
                       "echo rc=$?")
    assert result.stdout == "rc=7\nrc=255\n"
    assert result.stderr == "Configuration file 'nodes/pve1/lxc/999.conf' does not exist\n"


def test_relative_paths_are_the_callers_working_directory(pve1: Connection) -> None:
    result = run(pve1, "d=$(mktemp -d) && cd \"$d\" && echo hi > f && pct push 101 f /root/rel"
                       " --perms 0600 && test -e f && pct exec 101 -- stat -c '%a %s' /root/rel")
    assert (result.exited, result.stdout) == (0, "600 3\n")


def test_sudo_bash_login_shells_and_pct_by_full_path(pve1: Connection) -> None:
    result = run(pve1, "sudo -n /usr/sbin/pct status 101 | tr a-z A-Z; "
                       "bash -lc 'command -v pct; echo $0'")
    assert result.stdout == "STATUS: RUNNING\n/usr/sbin/pct\nbash\n"
    refused = run(pve1, "sudo -u alice pct status 101")
    assert (refused.exited, refused.stderr) == (1, "sudo: unknown user alice\n")


def test_etc_pve_shows_every_config_in_proxmox_file_format(pve1: Connection, env: Env) -> None:
    px = env[1]
    px.nodes("pve1").lxc(101).config.put(description="line one\nkey: value 100%")
    conf = run(pve1, "cat /etc/pve/lxc/101.conf").stdout
    assert conf.startswith("#line one\n#key%3A value 100%25\narch: amd64\n")
    assert "hostname: web1\n" in conf and "rootfs: local-lvm:vm-101-disk-0,size=4G\n" in conf
    # the cluster file system: other nodes' containers under nodes/, ours under lxc/ too
    other = run(pve1, "test -e /etc/pve/lxc/201.conf || cat /etc/pve/nodes/pve2/lxc/201.conf")
    assert "hostname: other\n" in other.stdout
    # pct set in the same shell is visible at once; a line pve-container cannot parse,
    # written by hand, is skipped with its warning (writes: tests/sim/test_etcpve_writes.py)
    result = run(pve1, "pct set 101 --cores 3 && grep ^cores /etc/pve/lxc/101.conf; "
                       "echo x >> /etc/pve/lxc/101.conf")
    assert result.stdout == "cores: 3\n"
    assert result.stderr == "vm 101 - unable to parse config: x\n"
    assert "local-lvm" in run(pve1, "cat /etc/pve/storage.cfg").stdout
    assert run(pve1, "echo x >> /etc/pve/storage.cfg").exited == 1  # read-only


def test_the_node_records_each_process_it_started(pve1: Connection, env: Env) -> None:
    run(pve1, "echo marker-1 >/dev/null && pct exec 101 -- true")
    log = env[0].state_dir / "nodefs" / "pve1" / EXEC_LOG
    argvs = [json.loads(line)["argv"] for line in log.read_text().splitlines()]
    assert ["bash", "-c", "echo marker-1 >/dev/null && pct exec 101 -- true"] in argvs
    assert ["/usr/sbin/pct", "exec", "101", "--", "true"] in argvs


def test_a_container_login_is_ssh_into_the_container(env: Env) -> None:
    facts = env[0]
    with Connection("127.0.0.1", port=facts.ssh_port, user=facts.ssh_user_for_container(201),
                    connect_kwargs={"key_filename": str(facts.ssh_key), "look_for_keys": False,
                                    "allow_agent": False}) as conn:
        conn.client.load_host_keys(str(facts.known_hosts))
        result = run(conn, "hostname; test -e /etc/pve || echo no-pve")
    assert result.stdout == "other\nno-pve\n"


def test_the_container_sees_its_network_and_dns(pve1: Connection, env: Env) -> None:
    env[1].nodes("pve1").lxc(101).config.put(net0="name=eth0,bridge=vmbr0,ip=10.20.0.50/24,"
                                                  "gw=10.20.0.1")
    result = run(pve1, "pct exec 101 -- sh -c 'ip -4 route show default; getent hosts "
                       "deb.debian.org >/dev/null && echo dns-ok; ip link set eth0 down'")
    assert result.stdout == "default via 10.20.0.1 dev eth0\ndns-ok\n"
    assert result.stderr == "RTNETLINK answers: Operation not permitted\n"


# -- mount points --------------------------------------------------------------------------


def test_volume_mount_points_hold_their_own_files(pve1: Connection, env: Env) -> None:
    facts, px = env
    wait_task(px, "pve1", px.nodes("pve1").lxc(101).status.stop.post())
    px.nodes("pve1").lxc(101).config.put(mp0="local-lvm:1,mp=/srv/data")
    volid = px.nodes("pve1").lxc(101).config.get()["mp0"].split(",")[0]
    wait_task(px, "pve1", px.nodes("pve1").lxc(101).status.start.post())
    assert run(pve1, "pct exec 101 -- sh -c 'echo kept > /srv/data/file'").exited == 0
    volume = rootfs.volume_dir(facts.state_dir, volid)
    assert (volume / "file").read_text() == "kept\n"
    assert not (rootfs.rootfs_dir(facts.state_dir, 101) / "srv/data/file").exists()
    # a volume reassigned to another container takes its files along
    new = volid.replace("vm-101-", "vm-201-")
    rootfs.rename_volume_dir(facts.state_dir, volid, new)
    assert (rootfs.volume_dir(facts.state_dir, new) / "file").read_text() == "kept\n"
    assert not volume.exists()


def test_bind_mounts_show_the_nodes_directory_read_only(pve1: Connection) -> None:
    run(pve1, "mkdir -p /mnt/media && echo film > /mnt/media/a.mkv")
    assert run(pve1, "pct set 201 --mp1 /mnt/media,mp=/media,ro=1").exited == 255  # on pve2
    result = run(pve1, "pct set 101 --mp1 /mnt/media,mp=/media,ro=1")
    assert result.exited == 0, result.stderr
    # hot-plugged into the running container's config: visible at the next exec
    result = run(pve1, "pct exec 101 -- sh -c 'cat /media/a.mkv; touch /media/b'")
    assert result.stdout == "film\n"
    assert "Read-only file system" in result.stderr


def test_a_volumes_files_follow_a_migration(env: Env) -> None:
    facts, px = env
    create_ct(px, "pve1", 105, hostname="mover", start=False)
    px.nodes("pve1").lxc(105).config.put(mp0="local-lvm:1,mp=/srv/data")
    wait_task(px, "pve1", px.nodes("pve1").lxc(105).status.start.post())
    with connect(facts) as conn:
        assert run(conn, "pct exec 105 -- sh -c 'echo moved > /srv/data/f'").exited == 0
    wait_task(px, "pve1", px.nodes("pve1").lxc(105).status.stop.post())
    assert wait_task(px, "pve1", px.nodes("pve1").lxc(105).migrate.post(target="pve2"))[
        "exitstatus"] == "OK"
    wait_task(px, "pve2", px.nodes("pve2").lxc(105).status.start.post())
    with connect(facts, "pve2") as conn:
        assert run(conn, "pct exec 105 -- cat /srv/data/f").stdout == "moved\n"
