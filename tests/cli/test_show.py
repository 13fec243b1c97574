"""`pxrun show PLANFILE`: a saved plan reads exactly as `pxrun plan` printed it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pxrun.cli.main import main
from tests.cli.conftest import run, spec_text


def test_show_renders_what_plan_printed(simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {}\ndb: {resources: {memory: 2048}}\n"),
                                  encoding="utf-8")
    assert run(simdir, "plan", "-o", "plan.json") == 0
    printed = capsys.readouterr().out
    plan_text = printed[: printed.index("Saved the plan")]
    assert main(["show", "plan.json"]) == 0  # no --sim: the cluster is not needed
    shown = capsys.readouterr().out
    assert shown.startswith("Saved plan plan.json: stack t, made by pxrun ")
    assert "from pxrun.yaml." in shown.splitlines()[0]
    assert plan_text.strip() in shown
    assert "pxrun apply plan.json" in shown
    assert main(["show", "plan.json", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == json.loads(Path("plan.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("content", "says"), [
    ("not json", "is not JSON"),
    ("[1, 2]", "is not a pxrun plan"),
    ('{"format_version": "9.0"}', "format version 9.0"),
    ('{"format_version": "2.0", "mode": "normal"}', "is not a pxrun plan"),
    ('{"format_version": "1.1", "mode": "normal"}', "format version 1.1"),
])
def test_show_refuses_what_apply_would_refuse(content: str, says: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    assert main(["show", str(bad)]) in (1, 3)
    assert says in capsys.readouterr().err


def test_show_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(tmp_path / "nope.json")]) == 3
    assert "cannot read" in capsys.readouterr().err
