"""Hostile command lines (cli.yaml) exit 3 with one clear line, run in-process like a user."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.cli.main import main
from tests.hostile.test_hostile_specs import alias_bomb

ROOT = Path(__file__).resolve().parents[2]
CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "cli.yaml").read_text(encoding="utf-8"))["cases"]
RAW_PYTHON = re.compile(r"Traceback|^error: \w*(Error|Exception|Exit|Interrupt)\b", re.M)
FILES = """version: 1
stack: hostile
containers:
  web:
    template: debian-12
    provision:
      files: [{{dest: /etc/x, src: {src}}}]
"""


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim") / "state"


def _files(work: Path) -> dict[str, str]:
    """Make the files cli.yaml's placeholders name; return placeholder -> path."""
    os.mkfifo(work / "fifo")
    (work / "nested.json").write_text("[" * 100_000 + "]" * 100_000)
    (work / "list.json").write_text("[1, 2, 3]")
    (work / "old.json").write_text(json.dumps({"format_version": "0.1", "stack": "x"}))
    shutil.copy(ROOT / "examples" / "quickstart.yaml", work / "quickstart.yaml")
    (work / "mem").mkdir()
    (work / "mem" / "pxrun.yaml").write_text(FILES.format(src="/proc/self/mem"))
    (work / "outside").mkdir()
    (work / "outside" / "pxrun.yaml").write_text(FILES.format(src="../quickstart.yaml"))
    (work / "bomb.yaml").write_text(alias_bomb("seq", 9))
    (work / "recursive.yaml").write_text("a: &a [1, *a]\n")
    (work / "vars.yaml").write_text("version: 1\nstack: s\nvars: {tags: [a]}\ncontainers: {}\n")
    return {"fifo": "fifo", "nested_plan": "nested.json", "list_plan": "list.json",
            "old_plan": "old.json", "spec": "quickstart.yaml", "mem_spec": "mem/pxrun.yaml",
            "outside_spec": "outside/pxrun.yaml", "bomb": "bomb.yaml",
            "recursive": "recursive.yaml", "vars_spec": "vars.yaml",
            "deep": "[" * 600 + "]" * 600}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_command_line(case: dict[str, Any], clean_env: Path, sim_dir: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    for needed in case.get("needs", []):
        if not Path(needed).exists():
            pytest.skip(f"{needed} does not exist on this system")
    places = {**_files(clean_env), "sim": str(sim_dir)}
    argv = ["--no-color", *(arg.format(**places) for arg in case["argv"])]
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == case.get("exit", 3), f"{argv}\nstdout: {out}\nstderr: {err}"
    assert not RAW_PYTHON.search(err), err
    if "stderr" in case:
        assert case["stderr"] in err, err
    if case.get("at_line"):  # a spec problem names file:line:col
        assert re.search(r"^\S+\.yaml:\d+:\d+: ", err, re.M), err
