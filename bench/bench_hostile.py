"""Hostile inputs as a user meets them: time and memory until pxrun refuses each one.

Every case of tests/hostile/specs.yaml (as `pxrun validate -f SPEC`) and of
tests/hostile/cli.yaml (its command line) runs as a fresh `python -m pxrun` subprocess, in a
clean directory without PROXMOX_* settings. Printed per case: exit status, wall time, peak
RSS and the last line of stderr. Targets (2-core machine, Python start and, for --sim cases,
the simulator's start included): each case gives its expected exit within 3 s and 200 MB.

    .venv/bin/python bench/bench_hostile.py [--only TEXT] [--check]
    .venv/bin/python bench/bench_hostile.py --pythonpath DIR   # another checkout's pxrun

`--pythonpath` compares with another version (e.g. `git archive main pxrun | tar -x -C DIR`);
there every run is cut at --timeout seconds and --max-mb of address space, since an older
pxrun may not stop by itself.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile.test_hostile_cli import CASES as CLI_CASES  # noqa: E402
from tests.hostile.test_hostile_cli import _files  # noqa: E402
from tests.hostile.test_hostile_specs import CASES as SPEC_CASES  # noqa: E402
from tests.hostile.test_hostile_specs import _spec_text  # noqa: E402

TARGET_S = 3.0
TARGET_MB = 200


def _environment(home: Path, pythonpath: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PXRUN_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), NO_COLOR="1")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float,
        max_mb: int) -> tuple[str, float, float, str]:
    """(exit status or 'timeout'/'killed', wall seconds, peak RSS MB, last stderr line)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (max_mb << 20, max_mb << 20))

    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "pxrun", "--no-color", *argv], cwd=cwd,
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE,
                            preexec_fn=limit)  # noqa: PLW1509 (no thread runs yet: the timer starts after)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, wait_status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
    proc.returncode = code = os.waitstatus_to_exitcode(wait_status)
    timer.cancel()
    wall = time.perf_counter() - started
    status = str(code) if code >= 0 else ("timeout" if wall >= timeout else "killed")
    lines = err.decode("utf-8", "replace").strip().splitlines()
    return status, wall, usage.ru_maxrss / 1024, (lines[-1] if lines else "")


def spec_case(case: dict[str, Any], work: Path) -> list[str]:
    folder = work / "stack"
    (folder / "files").mkdir(parents=True)
    (work / "secret.txt").write_text("outside\n")
    (folder / "pxrun.yaml").write_text(_spec_text(case["spec"]), encoding="utf-8")
    return ["validate", "-f", "stack/pxrun.yaml"]


def cli_case(case: dict[str, Any], work: Path, sim: Path) -> list[str]:
    places = {**_files(work), "sim": str(sim)}
    return [arg.format(**places) for arg in case["argv"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--pythonpath", default=None, help="run this checkout's pxrun")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--max-mb", type=int, default=4096)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    makers: list[tuple[str, dict[str, Any], Callable[[Path, Path], list[str]]]] = [
        *((c["name"], c, lambda w, s, c=c: spec_case(c, w)) for c in SPEC_CASES),
        *((c["name"], c, lambda w, s, c=c: cli_case(c, w, s)) for c in CLI_CASES)]
    missed = False
    print(f"{'case':<58} {'exit':>7} {'wall s':>7} {'peak MB':>8}  last line")
    with tempfile.TemporaryDirectory() as tmp:
        sim = Path(tmp) / "sim"
        for name, case, make in makers:
            if args.only not in name:
                continue
            work = Path(tmp) / "case"
            shutil.rmtree(work, ignore_errors=True)
            (work / "home").mkdir(parents=True)
            argv = make(work, sim)
            env = _environment(work / "home", args.pythonpath)
            status, wall, rss, last = run(argv, work, env, args.timeout, args.max_mb)
            want = "0" if case.get("valid") else str(case.get("exit", 3))
            late = status != want or wall > TARGET_S or rss > TARGET_MB
            missed = missed or late
            print(f"{name[:58]:<58} {status:>7} {wall:7.2f} {rss:8.0f}  {last[:90]}"
                  + ("  MISSED" if late else ""))
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
