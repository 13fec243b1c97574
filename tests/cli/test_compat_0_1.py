"""pxrun 0.1.1's documented `list` command lines (its README and QUICKSTART), unchanged.

The create, destroy and --storage examples are in test_create.py and test_destroy_vmid.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pxrun.cli.commands import ALIASES
from pxrun.cli.main import main
from tests.cli.conftest import run, spec_text

pytestmark = pytest.mark.integration


@pytest.fixture
def two(simdir: Path) -> None:
    Path("pxrun.yaml").write_text(spec_text(
        "web: {node: pve1}\nold: {node: pve2, state: stopped}\n"), encoding="utf-8")
    assert run(simdir, "apply", "--auto-approve", "-q") == 0


@pytest.mark.usefixtures("two")
def test_list_formats_and_filters(simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(simdir, "list", "--format", "json") == 0
    assert {r["name"] for r in json.loads(capsys.readouterr().out)} == {"web", "old"}
    assert run(simdir, "list", "--format", "yaml") == 0
    assert {r["name"] for r in yaml.safe_load(capsys.readouterr().out)} == {"web", "old"}
    assert run(simdir, "list", "--format", "table") == 0
    assert capsys.readouterr().out.startswith("VMID")
    assert run(simdir, "list", "--status", "running", "--format", "json") == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["web"]
    assert run(simdir, "list", "--status", "stopped", "--format", "json") == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["old"]
    assert run(simdir, "list", "--node", "pve2", "--format", "json") == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["old"]


@pytest.mark.usefixtures("two")
def test_debug_flag(simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--sim", "--sim-dir", str(simdir), "--debug", "list"]) == 0
    assert "web" in capsys.readouterr().out


def test_save_config_is_reserved_for_export() -> None:
    """0.1's `save-config VMID -o FILE` becomes an alias of `export` (adoption work)."""
    assert ALIASES["save-config"] == "export"
