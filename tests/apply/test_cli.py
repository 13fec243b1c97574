"""`pxrun apply / destroy / force-unlock` end to end with `--sim` (the embedded simulator),
including Ctrl-C in a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pxrun.cli.main import main
from pxrun.sim.runtime import init_state
from pxrun.sim.settings import SimSettings
from tests.apply.conftest import run, spec_text

pytestmark = pytest.mark.integration
PXRUN = Path(sys.executable).with_name("pxrun")


def events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_apply_json_events_then_destroy(simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {count: 2}\n"), encoding="utf-8")
    assert run(simdir, "apply", "--auto-approve", "--json") == 0
    out = events(capsys.readouterr().out)
    kinds = [e["event"] for e in out]
    assert kinds[0] == "plan" and kinds[1] == "apply_started" and kinds[-1] == "apply_finished"
    assert {"step_started", "task_started", "step_finished", "change_finished"} <= set(kinds)
    final = out[-1]
    assert final["ok"] and final["counts"]["done"] == 2
    assert all(r["ip"] for r in final["results"])

    assert run(simdir, "plan", "--detailed-exitcode") == 0  # converged
    capsys.readouterr()
    assert run(simdir, "destroy", "--auto-approve") == 0
    text = capsys.readouterr().out
    assert "Apply complete: 2 done" in text
    assert run(simdir, "plan", "--detailed-exitcode") == 2  # everything to create again


def test_non_tty_without_auto_approve_is_refused(simdir: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {}\n"), encoding="utf-8")
    assert run(simdir, "apply") == 3
    assert "--auto-approve" in capsys.readouterr().err


def test_saved_plan_applies_when_fresh_and_is_refused_when_stale(
        simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {}\n"), encoding="utf-8")
    assert run(simdir, "plan", "-o", "p1.json") == 0
    assert run(simdir, "apply", "p1.json") == 0  # a saved plan needs no question
    Path("pxrun.yaml").write_text(spec_text("web: {resources: {memory: 640}}\n"),
                                  encoding="utf-8")
    assert run(simdir, "plan", "-o", "p2.json") == 0
    Path("pxrun.yaml").write_text(spec_text("web: {resources: {memory: 700}}\n"),
                                  encoding="utf-8")
    capsys.readouterr()
    assert run(simdir, "apply", "p2.json") == 1
    err = capsys.readouterr().err
    assert "plan is stale" in err and "spec changed" in err


def test_locked_stack_fails_clearly_and_force_unlock_releases(
        simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {}\n"), encoding="utf-8")
    from pxrun.apply.stacklock import StackLock
    from pxrun.cli.cluster import open_client
    from pxrun.cli.context import Settings

    with open_client(Settings(sim=True, sim_dir=simdir)) as (client, _):
        lock = StackLock(client, "t", owner="someone@elsewhere pid 7")
        lock.acquire()
        lock._stop.set()  # keep the pool after this "process" ends
    capsys.readouterr()
    assert run(simdir, "apply", "--auto-approve") == 1
    err = capsys.readouterr().err
    assert "stack 't' is locked: held by someone@elsewhere pid 7" in err
    assert "force-unlock" in err
    assert run(simdir, "force-unlock") == 0
    assert "released the lock of stack 't'" in capsys.readouterr().out
    assert run(simdir, "apply", "--auto-approve") == 0


def test_ctrl_c_stops_scheduling_and_accounts_for_every_container(tmp_path: Path) -> None:
    state = tmp_path / "sim"
    init_state(state, settings=SimSettings(time_scale=1.0, seed=9, task_durations={
        "vzcreate": 0.8, "vzstart": 0.2}))
    spec = tmp_path / "pxrun.yaml"
    spec.write_text(spec_text("web: {count: 6}\n"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXMOX_")}
    proc = subprocess.Popen(
        [str(PXRUN), "--sim", "--sim-dir", str(state), "apply", "-f", str(spec),
         "--auto-approve", "--json", "--parallelism", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if '"task_started"' in line:  # a create task is running on the cluster
            proc.send_signal(signal.SIGINT)
            break
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    out = events("".join(seen) + rest)
    assert any(e["event"] == "interrupted" for e in out)
    final = next(e for e in out if e["event"] == "apply_finished")
    results = {r["address"]: r for r in final["results"]}
    assert len(results) == 6
    created = {a for a, r in results.items() if "create" in r["steps_done"]}
    assert created and len(created) < 6  # running work finished, nothing new started
    assert {r["outcome"] for r in results.values()} <= {"done", "interrupted"}

    # The cluster holds exactly the containers the summary says were created.
    assert main(["--sim", "--sim-dir", str(state), "plan", "-f", str(spec), "--json",
                 "-o", str(tmp_path / "rest.json")]) == 0
    rest_plan = json.loads((tmp_path / "rest.json").read_text())
    to_create = {c["address"] for c in rest_plan["resource_changes"]
                 if c["actions"] == ["create"]}
    assert to_create == set(results) - created
