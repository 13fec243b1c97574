"""`pxrun create`: five questions on stdin, flags (pxrun 0.1's too), or -c FILE; always
through the planner and executor, so the container is managed and `destroy VMID` works."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import run

pytestmark = pytest.mark.integration
PROMPT = re.compile(r"^(Hostname|Template|Node|Resources|Network)\b.*?: ", re.M)


def _listed(simdir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    assert run(simdir, "list", "--json") == 0
    return {row["name"]: row for row in json.loads(capsys.readouterr().out)}


def _stdin(monkeypatch: pytest.MonkeyPatch, *answers: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(a + "\n" for a in answers)))


def test_five_questions_on_stdin(simdir: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, "web-1.lan", "debian-12", "3", "1 512 4", "10.0.0.5/24 10.0.0.1")
    assert run(simdir, "create") == 0
    captured = capsys.readouterr()
    asked = PROMPT.findall(captured.err)
    assert asked == ["Hostname", "Template", "Node", "Resources", "Network"]
    assert "pve3             " in captured.err and "GiB memory free" in captured.err
    assert "1) debian-12" in captured.err
    out = captured.out
    assert "Container web-1 is ready: vmid " in out and "on pve3, address 10.0.0.5." in out
    assert "ssh root@10.0.0.5" in out and "pct exec" in out
    row = _listed(simdir, capsys)["web-1"]
    assert (row["stack"], row["node"], row["memory"], row["disk"], row["cores"]) == \
        ("adhoc", "pve3", 512, 4, 1)
    assert row["hostname"] == "web-1.lan" and row["ips"] == ["10.0.0.5"]
    assert f"pxrun destroy {row['vmid']}" in out


def test_defaults_and_asking_again(simdir: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Empty answers take the defaults; a bad answer asks the same question again."""
    _stdin(monkeypatch, "Bad_Name", "db", "", "", "2 1G 8", "", "", "")
    assert run(simdir, "create") == 0
    err = capsys.readouterr().err
    assert "is not a valid DNS name" in err
    assert "memory is in MiB: write 1024, not 1G" in err
    assert len(set(PROMPT.findall(err))) == 5  # five questions, two asked twice
    row = _listed(simdir, capsys)["db"]
    assert (row["cores"], row["memory"], row["disk"], row["ips"]) == (2, 1024, 10, ["dhcp"])


def test_closed_stdin_names_the_flag(simdir: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch)
    assert run(simdir, "create") == 3
    assert "stdin is closed; pass --hostname instead" in capsys.readouterr().err


def test_pxrun_0_1_command_line(simdir: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    """0.1.1's documented example, unchanged: no question, --storage 10 is a disk size."""
    _stdin(monkeypatch)  # nothing may be asked
    assert run(simdir, "create", "--hostname", "mytest", "--cores", "2", "--memory", "2048",
               "--storage", "10", "--ip", "dhcp") == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert notes == ["note: --storage 10 is read as pxrun 0.1's disk size (10 GiB); write "
                     "--disk 10 (--storage now names the storage)"]
    row = _listed(simdir, capsys)["mytest"]
    assert (row["memory"], row["disk"], row["stack"]) == (2048, 10, "adhoc")


def test_pxrun_0_1_short_flags_and_storage_pool(simdir: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run(simdir, "create", "-h", "cache", "-t", "debian-12", "-n", "pve2",
               "--storage-pool", "nfs-shared", "--network-bridge", "vmbr1", "--no-start") == 0
    row = _listed(simdir, capsys)["cache"]
    assert (row["node"], row["status"]) == ("pve2", "stopped")


LEGACY = """\
version: "1.0"
container:
  hostname: dev-web-1
  template: debian-12
  resources: {cores: 4, memory: 2048, storage: 20}
  network: {ip: dhcp}
provisioning:
  packages: [nginx, git]
"""


@pytest.mark.parametrize("flag", ["--config", "-c", "-f"])
def test_from_a_pxrun_0_1_file_with_overrides(flag: str, simdir: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    Path("container.yaml").write_text(LEGACY, encoding="utf-8")
    assert run(simdir, "create", flag, "container.yaml", "--memory", "1024") == 0
    out = capsys.readouterr().out
    assert "+ provision: locale, packages" in out  # the file's provisioning is in the plan
    assert "dev-web-1: provision packages done" in out  # ... and it ran
    row = _listed(simdir, capsys)["dev-web-1"]
    assert (row["cores"], row["memory"], row["disk"]) == (4, 1024, 20)
    installed = simdir / "rootfs" / str(row["vmid"]) / "var/lib/pxrun-sim/packages"
    assert {"nginx", "git"} <= {line.split()[0] for line in installed.read_text().splitlines()}


def test_dry_run_json_and_provision_file(simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("steps.yaml").write_text("packages: [htop]\n", encoding="utf-8")
    Path("key.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ1c3kgYmVlcw me@laptop\n",
                               encoding="utf-8")
    assert run(simdir, "create", "-h", "box", "--provision", "steps.yaml",
               "--ssh-key", "key.pub", "--dry-run", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    (change,) = doc["resource_changes"]
    assert change["actions"] == ["create"] and "packages" in change["after"]["provision"]
    assert "ssh_keys" in change["after"]["provision"]  # the key: a provisioning step
    assert "box" not in _listed(simdir, capsys)  # nothing was created


def test_json_prints_where_it_is(simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(simdir, "create", "-h", "api", "--json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    created = events[-1]
    assert created["event"] == "created" and created["name"] == "api"
    assert created["ip"] and any("pxrun destroy" in c["command"] for c in created["connect"])


def test_mistakes(simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(simdir, "create", "-h", "web", "--memory", "1G", "--dry-run") == 3
    assert "--memory: resources.memory: memory is in MiB: write 1024, not 1G" in \
        capsys.readouterr().err
    assert run(simdir, "create", "-h", "web", "--storage", "4", "--disk", "8") == 3
    assert "both set the disk size" in capsys.readouterr().err
    assert run(simdir, "create", "-h", "web", "-q") == 0
    capsys.readouterr()
    assert run(simdir, "create", "-h", "web") == 3
    err = capsys.readouterr().err
    assert "stack adhoc has a container web already" in err and "pxrun destroy" in err
    assert run(simdir, "create", "-h", "web", "--stack", "other", "-q") == 0  # another stack


@pytest.mark.parametrize(("answer", "resources"), [
    ("", {}),
    ("4 2048 20", {"cores": "4", "memory": "2048", "disk": "20"}),
    ("4, 2048", {"cores": "4", "memory": "2048"}),
    ("2 1024 10 on nfs-shared", {"cores": "2", "memory": "1024", "disk": "10",
                                 "storage": "nfs-shared"}),
    ("memory=2G cpu=3 storage=local-lvm", {"memory": "2G", "cores": "3",
                                           "storage": "local-lvm"}),
])
def test_parse_resources(answer: str, resources: dict[str, str]) -> None:
    from pxrun.cli.create_prompts import parse_resources

    assert parse_resources(answer) == resources


@pytest.mark.parametrize(("answer", "network"), [
    ("", {}),
    ("dhcp", {"ip": "dhcp"}),
    ("10.0.0.5/24 10.0.0.1", {"ip": "10.0.0.5/24", "gw": "10.0.0.1"}),
    ("dhcp on vmbr1 vlan=20", {"ip": "dhcp", "bridge": "vmbr1", "vlan": "20"}),
    ("ip=10.1.1.1/16 gateway=10.1.0.1", {"ip": "10.1.1.1/16", "gw": "10.1.0.1"}),
])
def test_parse_network(answer: str, network: dict[str, str]) -> None:
    from pxrun.cli.create_prompts import parse_network

    assert parse_network(answer) == network


@pytest.mark.parametrize(("parse", "answer", "says"), [
    ("parse_resources", "1 2 3 4", "at most cores, memory"),
    ("parse_resources", "cores=1 memroy=2", "unknown setting 'memroy' (did you mean 'memory'?)"),
    ("parse_resources", "2 on", "'on' needs a storage name"),
    ("parse_network", "a b c", "give dhcp, or an address/prefix and a gateway"),
    ("check_network", "dhcp vlan=9999", "vlan must be between 1 and 4094"),
    ("check_resources", "two", "cores: must be a whole number"),
])
def test_answers_that_are_asked_again(parse: str, answer: str, says: str) -> None:
    from pxrun.cli import create_prompts
    from pxrun.errors import UsageError

    with pytest.raises(UsageError) as info:
        getattr(create_prompts, parse)(answer)
    assert says in info.value.message
