"""`/etc/pve` is the configuration: a root shell on a node edits a container's `.conf` and
the API, `pct` and the next start read that text (pmxcfs); what pmxcfs refuses is refused.

Raw `lxc.*` keys exist nowhere else (no API call sets them), so this is how they get set.
One simulator for the module; commands go over real SSH, reads through proxmoxer.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from fabric import Connection

from pxrun.sim.runtime import SimFacts, SimRuntime, init_state
from pxrun.sim.settings import SimSettings
from tests.sim.conftest import proxmoxer_for
from tests.sim.test_ssh_pct import connect, create_ct, run, wait_task

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (bwrap)"),
]

Env = tuple[SimFacts, Any]
RULE = "lxc.cgroup2.devices.allow: c 226:* rwm"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    state = tmp_path_factory.mktemp("sim")
    init_state(state)
    with SimRuntime(state, settings=SimSettings(time_scale=0)) as runtime:
        px = proxmoxer_for(runtime.facts)
        create_ct(px, "pve1", 101, hostname="gpu", start=False)
        create_ct(px, "pve2", 201, hostname="other", start=False)
        yield runtime.facts, px


@pytest.fixture
def pve1(env: Env) -> Iterator[Connection]:
    with connect(env[0]) as conn:
        yield conn


def _append_atomically(conn: Connection, vmid: int, line: str) -> Any:
    """What a careful tool does: a temporary file beside the config, then rename."""
    return run(conn, f"f=/etc/pve/lxc/{vmid}.conf; t=/etc/pve/lxc/.{vmid}.conf.tmp; "
                     f"cp $f $t && echo '{line}' >> $t && mv $t $f")


def test_a_renamed_config_is_the_config_for_the_api_and_the_node(pve1: Connection,
                                                                  env: Env) -> None:
    px = env[1]
    result = _append_atomically(pve1, 101, RULE)
    assert (result.exited, result.stderr) == (0, "")
    config = px.nodes("pve1").lxc(101).config.get()
    assert config["lxc"] == [["lxc.cgroup2.devices.allow", "c 226:* rwm"]]
    text = run(pve1, "cat /etc/pve/lxc/101.conf").stdout
    assert text.endswith(RULE + "\n")
    assert config["digest"] == hashlib.sha1(text.encode()).hexdigest()
    # an API write keeps the raw line (it is part of the file) and changes the digest
    px.nodes("pve1").lxc(101).config.put(cores=2, digest=config["digest"])
    assert run(pve1, "grep -c '^lxc' /etc/pve/lxc/101.conf").stdout == "1\n"
    assert px.nodes("pve1").lxc(101).config.get()["digest"] != config["digest"]


def test_a_config_written_in_the_same_command_line_is_what_pct_changes(pve1: Connection,
                                                                        env: Env) -> None:
    result = run(pve1, "sed -i 's/^memory: .*/memory: 768/' /etc/pve/lxc/101.conf && "
                       "pct set 101 --cores 3 && grep -E '^(cores|memory)' /etc/pve/lxc/101.conf")
    assert (result.exited, result.stdout) == (0, "cores: 3\nmemory: 768\n"), result.stderr
    assert env[1].nodes("pve1").lxc(101).config.get()["memory"] == 768


def wait_for_stopped(px: Any, node: str, vmid: int) -> None:
    if px.nodes(node).lxc(vmid).status.current.get()["status"] == "running":
        wait_task(px, node, px.nodes(node).lxc(vmid).status.stop.post())


def test_a_config_for_a_vmid_on_another_node_is_refused(pve1: Connection, env: Env) -> None:
    before = env[1].nodes("pve2").lxc(201).config.get()
    result = run(pve1, "printf 'hostname: stolen\\nmemory: 64\\n' > /etc/pve/lxc/201.conf")
    assert result.exited == 1
    assert "File exists (pmxcfs: CT 201 already exists on node 'pve2'" in result.stderr
    assert run(pve1, "test -e /etc/pve/lxc/201.conf").exited == 1
    assert env[1].nodes("pve2").lxc(201).config.get() == before


def test_any_node_may_edit_any_nodes_files(pve1: Connection, env: Env) -> None:
    result = run(pve1, "sed -i 's/^hostname: .*/hostname: renamed/' "
                       "/etc/pve/nodes/pve2/lxc/201.conf")
    assert (result.exited, result.stderr) == (0, "")
    assert env[1].nodes("pve2").lxc(201).config.get()["hostname"] == "renamed"


def test_creating_or_deleting_configs_by_hand_is_refused(pve1: Connection, env: Env) -> None:
    made = run(pve1, "echo 'memory: 64' > /etc/pve/lxc/777.conf")
    assert made.exited == 1 and "not modelled" in made.stderr
    gone = run(pve1, "rm /etc/pve/lxc/101.conf")
    assert gone.exited == 1 and "the file was put back" in gone.stderr
    assert run(pve1, "test -s /etc/pve/lxc/101.conf").exited == 0
    assert env[1].nodes("pve1").lxc(101).config.get()["hostname"] == "gpu"


def test_unknown_keys_are_skipped_with_pve_containers_warning(pve1: Connection,
                                                               env: Env) -> None:
    result = _append_atomically(pve1, 101, "colour: blue")
    assert result.stderr == "vm 101 - unable to parse config: colour: blue\n"
    assert "colour" not in env[1].nodes("pve1").lxc(101).config.get()


def test_an_idmap_needs_the_nodes_subordinate_ids_to_start(pve1: Connection,
                                                            env: Env) -> None:
    px = env[1]
    lines = ["lxc.idmap: u 0 100000 65536", "lxc.idmap: g 0 100000 44",
             "lxc.idmap: g 44 44 1", "lxc.idmap: g 45 100045 65491"]
    for line in lines:
        assert _append_atomically(pve1, 101, line).exited == 0
    status = wait_task(px, "pve1", px.nodes("pve1").lxc(101).status.start.post())
    assert status["exitstatus"] == "startup for container '101' failed"
    log = [e["t"] for e in px.nodes("pve1").tasks(status["upid"]).log.get()]
    assert any('newgidmap: gid range [44-45) -> [44-45) not allowed' in t for t in log)
    run(pve1, "echo root:44:1 >> /etc/subgid")
    status = wait_task(px, "pve1", px.nodes("pve1").lxc(101).status.start.post())
    assert status["exitstatus"] == "OK"
    wait_for_stopped(px, "pve1", 101)
