"""`pxrun --sim list` end to end: the embedded simulator, CONNECT's client, our table/JSON/YAML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pxrun.cli.cmd_list import filter_rows
from pxrun.cli.main import main
from pxrun.connect.client import ProxmoxerClient
from pxrun.connect.settings import ConnectionSettings, Endpoint, Secret
from pxrun.observe.inventory import GuestRow, _row
from pxrun.pve.marker import Marker, join_description
from pxrun.sim.embedded import running_simulator
from tests.observe.conftest import create_ct

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulator state with a managed container (static IP) and an unmanaged one (DHCP)."""
    state = tmp_path_factory.mktemp("list") / "sim"
    with running_simulator(state) as facts:
        host, port = facts.endpoint.removeprefix("https://").rsplit(":", 1)
        settings = ConnectionSettings(endpoint=Endpoint(host, int(port)),
                                      token_id=facts.token_id,
                                      token_secret=Secret(facts.token_secret),
                                      ca_file=facts.ca_file)
        with ProxmoxerClient(settings) as client:
            create_ct(client, "pve1", 101, hostname="web-1", memory=2048, cores=2,
                      tags="pxrun-homelab;web",
                      description=join_description("", Marker(stack="homelab", name="web")),
                      net0="name=eth0,bridge=vmbr0,ip=10.0.0.11/24,gw=10.0.0.1", start=1)
            create_ct(client, "pve2", 150, hostname="legacy", tags="old")
    return state


def _run(sim_dir: Path, *args: str) -> int:
    return main(["--sim", "--sim-dir", str(sim_dir), *args])


def test_json_lists_every_container_with_its_stack(sim_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(sim_dir, "--json", "list") == 0
    rows = {r["vmid"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {101, 150}
    web = rows[101]
    assert (web["name"], web["stack"], web["node"], web["status"]) == \
        ("web", "homelab", "pve1", "running")
    assert (web["cores"], web["memory"], web["disk"]) == (2, 2048, 8)
    assert web["ips"] == ["10.0.0.11"] and web["tags"] == ["web"]
    assert web["hostname"] == "web-1"
    legacy = rows[150]
    assert (legacy["name"], legacy["stack"], legacy["ips"]) == ("legacy", None, ["dhcp"])


def test_filters_and_yaml(sim_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(sim_dir, "list", "--yaml", "--stack", "homelab") == 0
    assert [r["vmid"] for r in yaml.safe_load(capsys.readouterr().out)] == [101]
    assert _run(sim_dir, "--json", "list", "--node", "pve2") == 0
    assert [r["vmid"] for r in json.loads(capsys.readouterr().out)] == [150]


def test_table_and_live_ips(sim_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(sim_dir, "--no-color", "list", "--ips") == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["VMID", "NAME", "NODE", "STATUS", "STACK", "CORES", "MEMORY", "DISK",
                      "IP", "TAGS"]
    assert "homelab" in out and "legacy" in out and "10.0.0.11" in out


def test_filter_rows_is_pure() -> None:
    rows = [GuestRow(vmid=3, name="c", node="b", status="stopped", stack=None),
            GuestRow(vmid=1, name="a", node="a", status="running", stack="s"),
            GuestRow(vmid=2, name="b", node="b", status="running", stack="t")]
    assert [r.vmid for r in filter_rows(rows)] == [1, 2, 3]
    assert [r.vmid for r in filter_rows(rows, status="running", nodes=("b",))] == [2]
    assert [r.vmid for r in filter_rows(rows, managed=True)] == [1, 2]
    assert [r.vmid for r in filter_rows(rows, stacks=("t", "x"))] == [2]


def test_row_for_an_offline_node_keeps_the_resources_view() -> None:
    guest = {"vmid": 120, "name": "db", "node": "pve3", "type": "lxc", "tags": ("pxrun-lab",),
             "maxcpu": 4.0, "maxmem": 1024**3, "maxdisk": 16 * 1024**3, "template": False}
    row = _row(guest, "unknown", None, None)
    assert (row.name, row.stack, row.status, row.memory, row.disk, row.tags) == \
        ("db", "lab", "unknown", 1024, 16.0, ())
