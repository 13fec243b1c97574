"""`pxrun templates list|download` against the simulator's nodes, storages and catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pxrun.cli.cmd_templates import shorthand_of
from tests.cli.conftest import run

pytestmark = pytest.mark.integration
DEBIAN_13 = "debian-13-standard_13.1-2_amd64.tar.zst"


def _rows(simdir: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict]:
    capsys.readouterr()
    assert run(simdir, "templates", "list", "--json", *args) == 0
    return {r["template"]: r for r in json.loads(capsys.readouterr().out)}


def test_list_shows_downloaded_and_catalog(simdir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows(simdir, capsys)
    debian12 = rows["debian-12-standard_12.7-1_amd64.tar.zst"]
    assert debian12["shorthand"] == "debian-12"
    assert {(d["node"], d["volid"]) for d in debian12["downloaded"]} == {
        (n, "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst") for n in
        ("pve1", "pve2", "pve3")}
    assert rows[DEBIAN_13]["downloaded"] == []
    assert sorted(rows[DEBIAN_13]["catalog_nodes"]) == ["pve1", "pve2", "pve3"]
    only = _rows(simdir, capsys, "--node", "pve2")
    assert all(r["catalog_nodes"] == ["pve2"] for r in only.values())
    assert run(simdir, "templates", "list") == 0
    table = capsys.readouterr().out
    assert "debian-13" in table and "pve1:local, pve2:local, pve3:local" in table


def test_download_a_shorthand_with_progress(simdir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run(simdir, "templates", "download", "debian-13", "--storage", "local",
               "--node", "pve1", "--node", "pve3") == 0
    out = capsys.readouterr().out
    assert f"pve1:local: download {DEBIAN_13} ..." in out
    assert "pve3:local: download: waiting for task UPID:pve3:" in out
    assert "pve3:local: download done" in out
    assert "Use it in a spec as template: debian-13" in out
    got = _rows(simdir, capsys)[DEBIAN_13]
    assert sorted(d["node"] for d in got["downloaded"]) == ["pve1", "pve3"]
    assert run(simdir, "templates", "download", DEBIAN_13, "--json") == 0
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert [e["address"] for e in events if e["event"] == "step_finished"] == ["pve2:local"]
    assert "is on pve1:local already" in captured.err


@pytest.mark.parametrize(("args", "says"), [
    (["debain-13"], "did you mean debian-13"),
    (["ubuntu-24.10"], "did you mean ubuntu-24.04"),
    (["nonsense-xyz"], "pxrun templates list"),
    (["debian-13", "--storage", "local-lvm"], "local-lvm on pve1 does not take templates"),
    (["debian-13", "--node", "pve7"], "--node pve7: no such node"),
])
def test_download_mistakes(args: list[str], says: str, simdir: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert run(simdir, "templates", "download", *args) == 3
    assert says in capsys.readouterr().err


@pytest.mark.parametrize(("file", "short"), [
    ("debian-12-standard_12.7-1_amd64.tar.zst", "debian-12"),
    ("ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "ubuntu-24.04"),
    ("alpine-3.20-default_20240908_amd64.tar.xz", "alpine-3.20"),
    ("turnkey-wordpress_18.0-1_amd64.tar.gz", "turnkey-wordpress_18.0-1_amd64.tar.gz"),
])
def test_shorthand_of(file: str, short: str) -> None:
    """The shorthand shown is one a spec may write: the planner resolves it to this file."""
    from pxrun.plan.templates import matches_shorthand

    assert shorthand_of(file) == short
    if short != file:
        assert matches_shorthand(short, file)
