"""Adoption and identity end to end (issue 13, specs/0081): `pxrun import` / `export` and
plans after people's edits in the GUI, the real CLI against a running simulator.

The simulator runs as a server (`SimRuntime`) for the whole test, so the edits a person
makes in the Proxmox GUI are made as a GUI would: with plain proxmoxer, beside pxrun.
Containers pxrun does not create (bind mounts, devices) are made as root@pam with a ticket.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.cli.main import main
from pxrun.pve.marker import split_description
from pxrun.sim.auth import init_credentials
from pxrun.sim.runtime import SimFacts, SimRuntime, init_state
from pxrun.sim.settings import SimSettings
from tests.apply.conftest import spec_text
from tests.sim.conftest import proxmoxer_for

pytestmark = pytest.mark.integration

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
PASSWORD = "adoption-test-pw"


def wait(px: Any, node: str, upid: str) -> None:
    """Poll a task until it stops (no sleeping: each poll is a request)."""
    while px.nodes(node).tasks(upid).status.get()["status"] != "stopped":
        pass


@dataclass
class Live:
    """A running simulator, pxrun's CLI pointed at it, and plain proxmoxer beside it."""

    facts: SimFacts
    px: Any  # the API token, as a GUI session of another user would write

    def cli(self, command: str, *args: str) -> int:
        conn = ["--endpoint", self.facts.endpoint, "--token-id", self.facts.token_id,
                "--ca-file", str(self.facts.ca_file)]
        return main([command, *args, *conn])

    def root(self) -> Any:
        from proxmoxer import ProxmoxAPI

        return ProxmoxAPI(self.facts.endpoint.removeprefix("https://"), user="root@pam",
                          password=PASSWORD, verify_ssl=str(self.facts.ca_file))

    def make(self, px: Any, node: str, vmid: int, **params: Any) -> None:
        params.setdefault("ostemplate", TEMPLATE)
        params.setdefault("rootfs", "local-lvm:2")
        wait(px, node, px.nodes(node).lxc.post(vmid=vmid, **params))

    def config(self, node: str, vmid: int) -> dict[str, Any]:
        return dict(self.px.nodes(node).lxc(vmid).config.get())

    def where(self) -> dict[str, tuple[str, int]]:
        """hostname -> (node, vmid) of every container."""
        return {str(r["name"]): (str(r["node"]), int(r["vmid"]))
                for r in self.px.cluster.resources.get(type="vm")}


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    state = tmp_path / "sim"
    init_state(state, settings=SimSettings(time_scale=0.02, seed=13))
    init_credentials(state, password=PASSWORD)
    monkeypatch.chdir(tmp_path)
    for var in ("PROXMOX_HOST", "PROXMOX_TOKEN_ID", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    with SimRuntime(state) as runtime:
        monkeypatch.setenv("PROXMOX_TOKEN_SECRET", runtime.facts.token_secret)
        yield Live(facts=runtime.facts, px=proxmoxer_for(runtime.facts))


def _ownership(config: dict[str, Any]) -> tuple[str | None, str | None, str]:
    """(stack of the marker, its name, the notes) of a raw config."""
    notes, marker = split_description(config.get("description"))
    return (marker.stack if marker else None, marker.name if marker else None, notes)


# --- import and export ------------------------------------------------------------------


def test_import_round_trip_over_varied_containers(live: Live,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = live.root()
    root.pools.post(poolid="media")
    live.make(root, "pve1", 201, hostname="web.lan", cores=2, memory=768, swap=0,
              net0="name=eth0,bridge=vmbr0,ip=10.0.0.21/24,gw=10.0.0.1,tag=20,mtu=1400",
              net1="name=eth1,bridge=vmbr1,ip=dhcp,ip6=auto,firewall=1",
              mp0="local-lvm:2,mp=/srv/data,backup=1", features="nesting=1,keyctl=1",
              unprivileged=1, tags="web;prod", onboot=1, startup="order=2,up=30",
              description="Front end.\nDeployed {{ by hand }}.", protection=1, pool="media",
              start=1)
    live.make(root, "pve2", 202, hostname="media", unprivileged=0,
              mp0="/mnt/media,mp=/media,ro=1", mp1="local-lvm:1,mp=/cache",
              dev0="/dev/dri/renderD128,gid=104", nameserver="1.1.1.1 9.9.9.9",
              searchdomain="lan", cpulimit=1.5, cpuunits=200, timezone="Europe/Berlin",
              features="fuse=1,mount=nfs;cifs")
    live.make(root, "pve3", 203, hostname="bare")
    live.make(root, "pve1", 204, hostname="v6", cmode="console", tty=4, console=0,
              net0="name=eth0,bridge=vmbr0,ip6=fd00::4/64,gw6=fd00::1,rate=10,"
                   "hwaddr=BC:24:11:00:00:04")

    assert live.cli("import", "201", "202", "203", "204", "--stack", "legacy",
                    "-o", "legacy.yaml") == 0
    text = Path("legacy.yaml").read_text(encoding="utf-8")
    capsys.readouterr()
    assert live.cli("plan", "-f", "legacy.yaml", "--detailed-exitcode") == 0, (
        capsys.readouterr().out + text)
    assert "No changes" in capsys.readouterr().out

    spec = yaml.safe_load(text)
    assert spec["stack"] == "legacy" and list(spec["containers"]) == ["web", "media", "bare",
                                                                      "v6"]
    web, media, bare = (spec["containers"][n] for n in ("web", "media", "bare"))
    assert web["networks"]["net0"] == {"bridge": "vmbr0", "ip": "10.0.0.21/24",
                                       "gw": "10.0.0.1", "vlan": 20, "mtu": 1400,
                                       "hwaddr": web["networks"]["net0"]["hwaddr"]}
    assert web["mounts"]["mp0"] == {"path": "/srv/data", "volume": "local-lvm:2",
                                    "backup": True}
    assert web["pool"] == "media" and web["protection"] is True
    assert web["features"] == {"nesting": True, "keyctl": True}
    assert media["mounts"]["mp0"] == {"path": "/media", "host_path": "/mnt/media",
                                      "read_only": True}
    assert media["devices"] == {"dev0": {"path": "/dev/dri/renderD128", "gid": 104}}
    assert media["unprivileged"] is False and media["state"] == "stopped"
    # No default spelled out: a fresh container's values and Proxmox's are left out.
    assert set(bare) == {"vmid", "resources", "state", "ostype", "lifecycle"}, bare
    for absent in ("name: eth0", "arch:", "firewall: false", "swap: 512", "console: true"):
        assert absent not in text
    # What cannot be read back is create-only; the unknown template says so.
    assert text.count("create_only: [template, password, ssh_keys]") == 4
    assert text.count("# template: unknown.") == 4
    assert "{% raw %}Front end." in text  # notes that look like Jinja stay literal

    for node, vmid, name in (("pve1", 201, "web"), ("pve2", 202, "media"),
                             ("pve3", 203, "bare"), ("pve1", 204, "v6")):
        config = live.config(node, vmid)
        assert "pxrun-legacy" in config["tags"].split(";")
        assert _ownership(config)[:2] == ("legacy", name)
    assert _ownership(live.config("pve1", 201))[2] == "Front end.\nDeployed {{ by hand }}."

    # export of an adopted container: its stack and name from the marker, same entry
    assert live.cli("export", "201") == 0
    exported = yaml.safe_load(capsys.readouterr().out)
    assert exported["stack"] == "legacy" and exported["containers"]["web"] == web


def test_export_changes_nothing_and_save_config_is_its_0_1_name(
        live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    live.make(live.px, "pve1", 150, hostname="handmade", memory=256,
              net0="name=eth0,bridge=vmbr0,ip=dhcp")
    before = live.config("pve1", 150)
    assert live.cli("save-config", "150", "-o", "handmade.yaml") == 0
    assert live.cli("export", "150") == 0
    assert yaml.safe_load(capsys.readouterr().out) == yaml.safe_load(
        Path("handmade.yaml").read_text(encoding="utf-8"))
    assert live.config("pve1", 150) == before  # no tag, no marker, same digest
    entry = yaml.safe_load(Path("handmade.yaml").read_text(encoding="utf-8"))
    assert entry["stack"] == "adhoc"
    # no `cores` key means all of the node's CPUs: the spec says so (its default is 2)
    cpus = next(n["maxcpu"] for n in live.px.nodes.get() if n["node"] == "pve1")
    assert entry["containers"]["handmade"]["resources"] == {"cores": cpus, "memory": 256,
                                                            "disk": 2}
    # planning the exported spec does not duplicate the container: adopt it instead
    assert live.cli("plan", "-f", "handmade.yaml") == 1
    assert "pxrun import 150 --stack adhoc" in capsys.readouterr().err
    assert live.cli("export", "999") == 1
    assert "there is no guest 999" in capsys.readouterr().err


def test_import_to_stdout_refusals_and_stack_neighbours(
        live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    web = {"template": "debian-12", "networks": {"net0": {"bridge": "vmbr0", "ip": "dhcp"}}}
    home = {"version": 1, "stack": "home", "containers": {"web": web}}
    Path("pxrun.yaml").write_text(yaml.safe_dump(home), encoding="utf-8")
    assert live.cli("apply", "--auto-approve", "-q") == 0
    live.make(live.px, "pve2", 160, hostname="old-box")
    capsys.readouterr()
    assert live.cli("import", "160", "--stack", "home") == 0
    captured = capsys.readouterr()
    spec = yaml.safe_load(captured.out)  # stdout is the spec alone: `> file` works
    assert list(spec["containers"]) == ["old-box"]
    assert '+ ownership.marker = "home/old-box"' in captured.err  # the plan went to stderr
    assert "stack home also manages web" in captured.err
    # the entries join the stack's spec as they are (a spec without defaults here)
    home["containers"].update(spec["containers"])
    Path("pxrun.yaml").write_text(yaml.safe_dump(home), encoding="utf-8")
    assert live.cli("plan", "--detailed-exitcode") == 0, capsys.readouterr()

    vmid = live.where()["web"][1]
    assert live.cli("import", str(vmid), "--stack", "other") == 3
    assert f"container {vmid} belongs to stack home (as web)" in capsys.readouterr().err
    Path("taken.yaml").write_text("x", encoding="utf-8")
    assert live.cli("import", "160", "-o", "taken.yaml") == 3
    assert "taken.yaml exists" in capsys.readouterr().err
    assert live.cli("import", "999", "-o", "new.yaml") == 1
    assert not Path("new.yaml").exists()


# --- identity survives people -------------------------------------------------------------


@pytest.fixture
def applied(live: Live, capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[str, int]]:
    """Stack `t` with web and db applied; hostname -> (node, vmid)."""
    Path("pxrun.yaml").write_text(spec_text("web: {}\ndb: {}\n"), encoding="utf-8")
    assert live.cli("apply", "--auto-approve", "-q") == 0
    capsys.readouterr()
    return live.where()


def _plan(live: Live, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    status = live.cli("plan", "--json")
    return status, json.loads(capsys.readouterr().out)


def _actions(doc: dict[str, Any]) -> dict[str, str]:
    return {c["address"]: "-".join(c["actions"]) for c in doc["resource_changes"]}


def _converge(live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    assert live.cli("apply", "--auto-approve", "-q") == 0, capsys.readouterr()
    assert live.cli("plan", "--detailed-exitcode") == 0, capsys.readouterr()
    capsys.readouterr()


def test_gui_notes_restore_the_marker_and_keep_the_notes(
        live: Live, applied: dict[str, tuple[str, int]],
        capsys: pytest.CaptureFixture[str]) -> None:
    node, vmid = applied["web"]
    live.px.nodes(node).lxc(vmid).config.put(description="Rebooted by Ann, see ticket 42")
    status, doc = _plan(live, capsys)
    assert status == 0 and _actions(doc) == {"web": "update", "db": "no-op"}
    (web,) = [c for c in doc["resource_changes"] if c["address"] == "web"]
    assert [d["path"] for d in web["diffs"]] == ["ownership.marker"]
    _converge(live, capsys)
    assert _ownership(live.config(node, vmid)) == ("t", "web", "Rebooted by Ann, see ticket 42")
    assert sorted(live.where()) == ["db", "web"]


@pytest.mark.parametrize(("edit", "expect"), [
    ({"delete": "tags"}, "ownership.tag"),
    ({"hostname": "renamed"}, "hostname"),
    ({"delete": "tags", "hostname": "renamed"}, "hostname"),
])
def test_gui_tag_and_hostname_edits_are_updates(
        live: Live, applied: dict[str, tuple[str, int]], edit: dict[str, str], expect: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    node, vmid = applied["web"]
    live.px.nodes(node).lxc(vmid).config.put(**edit)
    status, doc = _plan(live, capsys)
    assert status == 0 and _actions(doc) == {"web": "update", "db": "no-op"}
    (web,) = [c for c in doc["resource_changes"] if c["address"] == "web"]
    assert expect in [d["path"] for d in web["diffs"]]
    _converge(live, capsys)
    assert sorted(live.where()) == ["db", "web"]


def test_notes_and_hostname_changed_refuse_rather_than_duplicate(
        live: Live, applied: dict[str, tuple[str, int]],
        capsys: pytest.CaptureFixture[str]) -> None:
    node, vmid = applied["web"]
    live.px.nodes(node).lxc(vmid).config.put(description="", hostname="www")
    assert live.cli("plan") == 1
    err = capsys.readouterr().err
    assert f"web is not created: container {vmid} (www) carries this stack's tag" in err
    assert "set its hostname back to web" in err
    live.px.nodes(node).lxc(vmid).config.put(hostname="web")  # what the hint says
    _converge(live, capsys)
    assert sorted(live.where()) == ["db", "web"]


def test_two_containers_with_one_hostname_in_a_stack_are_refused(
        live: Live, applied: dict[str, tuple[str, int]],
        capsys: pytest.CaptureFixture[str]) -> None:
    live.make(live.px, "pve3", 190, hostname="web", tags="pxrun-t")  # a GUI copy, tagged
    assert live.cli("plan") == 1
    assert "all have hostname web; pxrun cannot tell which one is web" in (
        capsys.readouterr().err)


def test_stopped_and_deleted_by_hand(live: Live, applied: dict[str, tuple[str, int]],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    (web_node, web), (db_node, db) = applied["web"], applied["db"]
    wait(live.px, web_node, live.px.nodes(web_node).lxc(web).status.stop.post())
    wait(live.px, db_node, live.px.nodes(db_node).lxc(db).status.stop.post())
    wait(live.px, db_node, live.px.nodes(db_node).lxc(db).delete(purge=1))
    status, doc = _plan(live, capsys)
    assert status == 0 and _actions(doc) == {"web": "update", "db": "create"}
    (change,) = [c for c in doc["resource_changes"] if c["address"] == "web"]
    assert [o["op"] for o in change["operations"]] == ["power"]
    _converge(live, capsys)
    assert sorted(live.where()) == ["db", "web"]
