"""`pct set` on the node SSH endpoint over real SSH (Fabric/paramiko): root@pam-only options
(features, bind and device mount points, devices, hookscript) that an API token may not set.

Needs no bubblewrap: `pct set` only touches the cluster model, never a file view.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from fabric import Connection

from pxrun.sim.runtime import SimFacts, SimRuntime, init_state
from pxrun.sim.settings import SimSettings
from tests.sim.conftest import proxmoxer_for
from tests.sim.test_ssh_pct import connect, create_ct

pytestmark = pytest.mark.integration

Env = tuple[SimFacts, Any]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    state = tmp_path_factory.mktemp("sim")
    init_state(state)
    with SimRuntime(state, settings=SimSettings(time_scale=0)) as runtime:
        facts = runtime.facts
        px = proxmoxer_for(facts)
        create_ct(px, "pve1", 111, hostname="set1", start=False)
        create_ct(px, "pve2", 211, hostname="set2", start=False)
        yield facts, px


def run(conn: Connection, command: str) -> Any:
    return conn.run(command, warn=True, hide=True, in_stream=io.StringIO(""))


def test_pct_set_applies_root_only_options_as_root(env: Env) -> None:
    facts, px = env
    with connect(facts) as conn:
        result = run(conn, "pct set 111 --features keyctl=1,nesting=1,fuse=1 "
                           "--mp1 /mnt/media,mp=/media --dev0 /dev/fuse,mode=0666 "
                           "--hookscript local:snippets/hook.sh")
    assert (result.exited, result.stdout, result.stderr) == (0, "", "")
    config = px.nodes("pve1").lxc(111).config.get()
    assert config["features"] == "fuse=1,keyctl=1,nesting=1"
    assert config["mp1"] == "/mnt/media,mp=/media"
    assert config["dev0"] == "/dev/fuse,mode=0666"
    assert config["hookscript"] == "local:snippets/hook.sh"
    # the same options through the API token are refused (reference A6)
    with pytest.raises(Exception, match="only allowed for root@pam"):
        px.nodes("pve1").lxc(111).config.put(dev1="/dev/net/tun")
    with connect(facts) as conn:
        assert run(conn, "pct set 111 --delete dev0,hookscript").exited == 0
    config = px.nodes("pve1").lxc(111).config.get()
    assert "dev0" not in config and "hookscript" not in config


@pytest.mark.parametrize(("command", "stderr"), [
    ("pct set 111 --bogus 1",
     "400 Parameter verification failed.\nbogus: property is not defined in schema and the "
     "schema does not allow additional properties\npct set <vmid> [OPTIONS]\n"),
    ("pct set 111 --cores many",
     "400 Parameter verification failed.\ncores: type check ('integer') failed - got 'many'\n"
     "pct set <vmid> [OPTIONS]\n"),
    ("pct set 111 --delete memory", "unable to delete required option 'memory'\n"),
    ("pct set 111", "no options specified\n"),
    ("pct set 211 --cores 2", "Configuration file 'nodes/pve1/lxc/211.conf' does not exist\n"),
])
def test_pct_set_errors_speak_like_pct(env: Env, command: str, stderr: str) -> None:
    with connect(env[0]) as conn:
        result = run(conn, command)
    assert (result.exited, result.stderr) == (255, stderr)
