"""The README's promises: CI runs exactly its test command, and its quick start works."""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

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


def _code_and_comment(line: str) -> tuple[str, str]:
    """A shell line split at its comment (a # outside quotes, at a word start)."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1:]
    return line.rstrip(), ""


def readme_commands(text: str) -> list[tuple[str, int]]:
    """Every `pxrun …` command of the README's ```sh blocks, in order, with the exit status
    its comment promises (`# exits N`, else 0). Install steps before `&&` are dropped: the
    test runs in this checkout's environment."""
    out: list[tuple[str, int]] = []
    for block in _sh_blocks(text):
        for line in block.replace("\\\n", " ").splitlines():
            code, comment = _code_and_comment(line)
            if not re.search(r"(^|[\s/(])pxrun\b", code):
                continue
            found = re.search(r"exits (\d+)", comment)
            out.append((code.split("&&")[-1].strip(), int(found[1]) if found else 0))
    return out


def _simple_argv(command: str) -> tuple[dict[str, str], list[str]] | None:
    """(env assignments, pxrun args) of a plain `[VAR=x ...] .venv/bin/pxrun ARGS` line, or
    None when the line needs a shell (pipes, $(...), redirections)."""
    if re.search(r"[|&;<>$`()]", command):
        return None
    words = shlex.split(command)
    env: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if not words or not words[0].endswith("pxrun"):
        return None
    return env, words[1:]


def test_every_readme_command_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Each fenced pxrun command, in README order, in a fresh directory that holds this
    checkout's .venv, examples/ and tests/ (the README's paths) and nothing else: the
    simulator state starts empty, and no PROXMOX_* setting or profile is around.

    A plain `pxrun ARGS` line runs in-process with exactly those arguments (fast: no
    interpreter start per line); a line that needs a shell runs through bash."""
    from pxrun.cli.main import main

    commands = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) >= 15
    assert any("create" in c for c, _ in commands) and any("show" in c for c, _ in commands)
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    for name in ("examples", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith(("PROXMOX_", "SOPS_"))]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nobody answers questions
    for command, status in commands:
        simple = _simple_argv(command)
        if simple is None:
            proc = subprocess.run(["bash", "-c", command], text=True, capture_output=True,
                                  timeout=120, stdin=subprocess.DEVNULL, check=False)
            assert proc.returncode == status, f"{command}\n{proc.stdout}\n{proc.stderr}"
            continue
        env, args = simple
        with monkeypatch.context() as scoped:
            for name, value in env.items():
                scoped.setenv(name, value)
            got = main(args)
        out = capsys.readouterr()
        assert got == status, f"{command}\n{out.out}\n{out.err}"


def test_readme_profiles_example_loads(tmp_path: Path) -> None:
    """The README's clusters.yaml is a valid profiles file (keys, shape, sops reference)."""
    from pxrun.connect.profiles import block_values, load_profiles

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, flags=re.S)
                  if "clusters.yaml" in b]
    path = tmp_path / "clusters.yaml"
    path.write_text(example, encoding="utf-8")
    profiles = load_profiles(path)
    assert profiles is not None and profiles.default in profiles.clusters
    for name, block in profiles.clusters.items():
        values = block_values(block, label=name, base_dir=tmp_path)
        assert {"endpoint", "token_id", "token_secret"} <= set(values)
