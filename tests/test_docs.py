"""The README's promises: CI runs exactly its test command, and its quick start works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _sh_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    test_cmds = [b for b in _sh_blocks(readme) if "pytest" in b]
    assert len(test_cmds) == 1, "the README must show exactly one test command"
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_cmds[0] in ci_lines


def test_quick_start_applies_the_example_on_the_simulator(tmp_path: Path) -> None:
    """The pxrun part of the README's one-line quick start, run in a fresh directory."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = _sh_blocks(readme)[0]
    pxrun_part = quick.split("&&")[-1].split()
    assert pxrun_part[0].endswith("pxrun") and "--sim" in pxrun_part
    args = [a if not a.startswith("examples/") else str(ROOT / a) for a in pxrun_part[1:]]
    proc = subprocess.run([sys.executable, "-m", "pxrun", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "to add" in proc.stdout
    assert "Apply complete" in proc.stdout + proc.stderr
    again = subprocess.run([sys.executable, "-m", "pxrun", "--sim", "plan", "--detailed-exitcode",
                            "-f", str(ROOT / "examples" / "quickstart.yaml")], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
