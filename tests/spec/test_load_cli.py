"""`pxrun validate` at the CLI edge: output, exit statuses, default paths, light imports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pxrun.cli.main import main

FIXTURES = Path(__file__).parent / "fixtures"


def test_five_errors_in_two_files_are_all_reported(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    case = FIXTURES / "bad" / "five-errors"
    monkeypatch.chdir(case)
    status = main(["--no-color", "validate", "-f", "stack"])
    out, err = capsys.readouterr()
    assert status == 3
    assert out == ""
    expected = (case / "expect.txt").read_text().splitlines()
    lines = err.splitlines()
    assert len(expected) == 5
    for want in expected:
        assert any(line.startswith(want) for line in lines), f"missing: {want}\n{err}"
    assert {line.split(":")[0] for line in lines[:5]} == {"stack/a.yaml", "stack/b.yaml"}
    assert "error: 5 problems in the spec" in err
    assert "Traceback" not in err


def test_ok_line_and_json(monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(FIXTURES / "good" / "folder")
    assert main(["validate", "-f", "stack"]) == 0
    assert capsys.readouterr().out == "ok: 2 containers in stack shop\n"
    assert main(["--json", "validate", "-f", "stack"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"ok": True, "stack": "shop", "containers": ["db", "web"],
                   "files": ["stack/00-stack.yaml", "stack/db.yaml", "stack/web.yml"]}


def test_default_spec_file_then_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 3
    err = capsys.readouterr().err
    assert "no pxrun.yaml or pxrun/ folder here" in err and "-f" in err
    shutil.copytree(FIXTURES / "good" / "folder" / "stack", tmp_path / "pxrun")
    assert main(["validate"]) == 0
    assert "stack shop" in capsys.readouterr().out
    (tmp_path / "pxrun.yaml").write_text(
        "version: 1\nstack: single\ncontainers:\n  a: {template: debian-12}\n")
    assert main(["validate"]) == 0
    assert capsys.readouterr().out == "ok: 1 container in stack single\n"


def test_a_missing_file_is_a_spec_problem(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "-f", str(tmp_path / "nope.yaml")]) == 3
    assert "nope.yaml: no such file or folder" in capsys.readouterr().err


def test_validate_imports_no_network_or_ssh_library() -> None:
    spec = FIXTURES / "good" / "count-defaults" / "pxrun.yaml"
    heavy = ["proxmoxer", "fabric", "paramiko", "invoke", "asyncssh", "requests", "pxrun.sim",
             "pxrun.connect"]
    code = (
        "import sys, json\nfrom pxrun.cli.main import main\n"
        f"rc = main(['validate', '-f', {str(spec)!r}])\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.stderr)\n"
        "sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, env={"OWNER": "ops", "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == []
