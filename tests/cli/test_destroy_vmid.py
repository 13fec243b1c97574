"""`pxrun destroy VMID` (pxrun 0.1's command line) through the planner and executor: the
question on stdin, --force, and refusal of containers pxrun does not manage."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pxrun.cli.cluster import open_client
from pxrun.cli.context import Settings
from tests.cli.conftest import run, spec_text
from tests.observe.conftest import create_ct

pytestmark = pytest.mark.integration


def _vmids(simdir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    capsys.readouterr()
    assert run(simdir, "list", "--json") == 0
    return {row["name"]: row["vmid"] for row in json.loads(capsys.readouterr().out)}


@pytest.fixture
def two(simdir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    Path("pxrun.yaml").write_text(spec_text("web: {}\ndb: {}\n"), encoding="utf-8")
    assert run(simdir, "apply", "--auto-approve", "-q") == 0
    return _vmids(simdir, capsys)


def test_asks_and_no_keeps_the_container(simdir: Path, two: dict[str, int],
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert run(simdir, "destroy", str(two["web"])) == 1
    captured = capsys.readouterr()
    assert f'- container "web" (vmid {two["web"]}' in captured.out  # the plan was shown
    assert f"Destroy container web (vmid {two['web']} on pve" in captured.err
    assert "nothing was changed" in captured.err
    assert set(_vmids(simdir, capsys)) == {"web", "db"}


def test_yes_destroys_only_that_container(simdir: Path, two: dict[str, int],
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert run(simdir, "destroy", str(two["web"])) == 0
    assert "Apply complete: 1 done" in capsys.readouterr().out
    assert set(_vmids(simdir, capsys)) == {"db"}
    # the spec still has web: a plan creates it again; db is untouched
    assert run(simdir, "plan", "--detailed-exitcode") == 2
    assert "1 to add, 0 to change" in capsys.readouterr().out


def test_pxrun_0_1_force_purge_does_not_ask(simdir: Path, two: dict[str, int],
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nobody to answer
    assert run(simdir, "destroy", str(two["db"]), "--force", "--purge") == 0
    assert set(_vmids(simdir, capsys)) == {"web"}


def test_closed_stdin_names_the_flag(simdir: Path, two: dict[str, int],
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run(simdir, "destroy", str(two["db"])) == 3
    assert "stdin is closed; pass --force instead" in capsys.readouterr().err
    assert set(_vmids(simdir, capsys)) == {"web", "db"}


def test_unmanaged_missing_and_mixed_are_refused(simdir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with open_client(Settings(sim=True, sim_dir=simdir)) as (client, _):
        create_ct(client, "pve2", 150, hostname="handmade")
    assert run(simdir, "destroy", "150", "--force") == 1
    err = capsys.readouterr().err
    assert "container 150 (handmade) is not managed by pxrun" in err
    assert "pct destroy 150 --purge" in err and "on pve2" in err
    assert "handmade" in json.dumps(_vmids(simdir, capsys))
    assert run(simdir, "destroy", "999", "--force") == 1
    assert "there is no guest 999" in capsys.readouterr().err
    assert run(simdir, "destroy", "150", "-f", "pxrun.yaml") == 3
    assert "not both" in capsys.readouterr().err


def test_unmanaged_refusal_suggests_import_or_unmanaged(simdir: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    with open_client(Settings(sim=True, sim_dir=simdir)) as (client, _):
        create_ct(client, "pve1", 150, hostname="handmade")
    assert run(simdir, "destroy", "150", "--force") == 1
    err = capsys.readouterr().err
    assert "pxrun import 150" in err and "pxrun destroy 150 --unmanaged" in err


def test_unmanaged_is_deleted_when_told_so(simdir: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with open_client(Settings(sim=True, sim_dir=simdir)) as (client, _):
        create_ct(client, "pve1", 150, hostname="handmade", start=1)
        create_ct(client, "pve2", 151, hostname="keeper", protection=1)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert run(simdir, "destroy", "150", "--unmanaged") == 1
    captured = capsys.readouterr()
    assert '- container "handmade" (vmid 150 on pve1)' in captured.out
    assert "Destroy container handmade (vmid 150 on pve1) which no stack manages" in (
        captured.err)
    assert run(simdir, "destroy", "150", "--unmanaged", "--force") == 0
    assert run(simdir, "destroy", "151", "--unmanaged", "--force") == 1  # protection holds
    assert "it has protection enabled" in capsys.readouterr().err
    assert set(_vmids(simdir, capsys)) == {"keeper"}


def test_pxrun_0_1_force_purge_deletes_an_unmanaged_container_with_a_note(
        simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open_client(Settings(sim=True, sim_dir=simdir)) as (client, _):
        create_ct(client, "pve2", 150, hostname="from-0-1")
    assert run(simdir, "destroy", "150", "--force", "--purge") == 0
    err = capsys.readouterr().err
    assert "note: container 150 (from-0-1) is not managed by pxrun" in err
    assert "--unmanaged" in err
    assert _vmids(simdir, capsys) == {}
