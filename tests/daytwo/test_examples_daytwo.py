"""The day-two examples: systemd units verify, the cron line and CI steps call real flags."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pxrun.cli.main import main

FOLDER = Path(__file__).resolve().parents[2] / "examples" / "day-two"
UNITS = ("pxrun-watch.service", "pxrun-drift.service", "pxrun-drift.timer")


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here; the units are checked where it is")
    pxrun = Path(sys.executable).parent / "pxrun"  # verify wants ExecStart to exist
    for name in UNITS:
        text = (FOLDER / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/usr/local/bin/pxrun", str(pxrun)))
    done = subprocess.run([analyze, "verify", *UNITS], cwd=tmp_path, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def _pxrun_lines() -> list[list[str]]:
    """Every pxrun command line in the examples (ExecStart, cron, CI `run:` steps)."""
    out = []
    for file in sorted(f for f in FOLDER.iterdir() if f.suffix != ".md"):
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("#") or "pxrun " not in line or "install" in line:
                continue
            words = line[line.index("pxrun ") :].split()
            if words[1] in ("plan", "apply", "drift", "watch", "-q"):
                out.append(words[1:])
    return out


@pytest.mark.parametrize("args", _pxrun_lines(), ids=" ".join)
def test_example_command_lines_parse(args: list[str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Each line's options exist: `--help` after them parses the whole line first."""
    words = [w for w in args if w not in ("-o", "plan.json", ">", "plan.txt")]
    assert main([*words, "--help"]) == 0, capsys.readouterr().err
