"""The cyclic garbage collector rests while a command runs (pxrun.collector), and comes
back for the long-running phases; the host program's setting is what it finds afterwards."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pxrun.collector import collector_paused, resume_collector
from tests.apply.conftest import run, spec_text

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_paused_then_back_on() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the outer one owns the pause
            assert not gc.isenabled()
        assert not gc.isenabled()
        resume_collector()
        assert gc.isenabled()
    assert gc.isenabled()
    resume_collector()  # outside a pause: nothing to do
    assert gc.isenabled()


def test_a_pause_inside_a_resumed_phase() -> None:
    """watch resumes the collector, then plans every cycle: the plan pauses it again."""
    with collector_paused(restore=False):
        resume_collector()
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled()
        gc.disable()
        resume_collector()  # still the command's pause to resume
        assert gc.isenabled()
    assert gc.isenabled()


def test_a_host_that_turned_it_off_keeps_it_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            resume_collector()
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


PROBE = """
import gc, sys
from pxrun.cli.main import run
seen = []
gc.callbacks.append(lambda phase, info: phase == "start" and seen.append(info["generation"]))
sys.argv = ["pxrun", *sys.argv[1:]]
status = run()
print("collections", len(seen), "enabled", gc.isenabled(), file=sys.stderr)
sys.exit(status)
"""


def _probe(simdir: Path, *args: str) -> tuple[int, list[str]]:
    """`pxrun --sim ARGS` as the program runs (a process of its own, `run`): its exit
    status and what the probe saw (collections started, collector on at the end)."""
    done = subprocess.run([sys.executable, "-c", PROBE, "--sim", "--sim-dir", str(simdir),
                           *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return done.returncode, done.stderr.splitlines()[-1].split()


def test_plan_collects_nothing_and_apply_collects_while_it_runs(simdir: Path) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {count: 3}\n"), encoding="utf-8")
    status, seen = _probe(simdir, "plan")
    # thousands of allocations and not one collection, nor one at the exit
    assert status == 0 and seen == ["collections", "0", "enabled", "False"]
    status, seen = _probe(simdir, "apply", "--auto-approve")
    assert status == 0 and seen[:1] == ["collections"] and int(seen[1]) > 0
    assert seen[2:] == ["enabled", "True"]  # the execution phase collects again


def test_main_in_a_host_process_leaves_the_collector_as_it_found_it(
        simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {count: 1}\n"), encoding="utf-8")
    assert run(simdir, "plan") == 0
    assert gc.isenabled()
    gc.disable()
    try:
        assert run(simdir, "apply", "--auto-approve") == 0
        assert not gc.isenabled()  # apply's resume is not the host's choice to undo
    finally:
        gc.enable()
    capsys.readouterr()
