"""`pxrun sim init|serve|reset|status` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from pxrun.cli.main import main

FACT_KEYS = {"endpoint", "token_id", "token_secret", "ca_file", "ssh_port", "ssh_key"}


def test_init_json_prints_the_facts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "sim"
    assert main(["--json", "sim", "init", str(state)]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert set(facts) >= FACT_KEYS
    assert Path(facts["ca_file"]).is_file() and Path(facts["ssh_key"]).is_file()
    assert main(["sim", "init", str(state)]) == 0  # again: same secret, human form
    assert facts["token_secret"] in capsys.readouterr().out


def test_init_defaults_to_sim_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["sim", "init"]) == 0
    assert (tmp_path / ".pxrun" / "sim" / "state.json").is_file()
    assert main(["--sim-dir", "other", "sim", "init"]) == 0
    assert (tmp_path / "other" / "ssh_key").is_file()
    capsys.readouterr()


def test_status_and_reset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "sim"
    assert main(["sim", "init", str(state)]) == 0
    capsys.readouterr()
    assert main(["--json", "sim", "status", str(state)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [n["name"] for n in summary["nodes"]] == ["pve1", "pve2", "pve3"]
    assert main(["sim", "status", str(state)]) == 0
    assert "pve1" in capsys.readouterr().out
    assert main(["sim", "reset", str(state)]) == 0
    assert "fresh cluster" in capsys.readouterr().out


def test_missing_state_dir_is_an_error_with_a_hint(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "status", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "error: no simulator state" in err and "hint:" in err and "Traceback" not in err


def test_serve_prints_facts_serves_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    state = tmp_path / "sim"
    log = tmp_path / "requests.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pxrun", "--json", "--request-log", str(log), "sim", "serve",
         str(state), "--latency-ms", "1", "--offline", "pve3", "--time-scale", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        facts = json.loads(proc.stdout.readline())  # one JSON line, flushed once listening
        assert set(facts) >= FACT_KEYS
        auth = {"Authorization": f"PVEAPIToken={facts['token_id']}={facts['token_secret']}"}
        reply = requests.get(f"{facts['endpoint']}/api2/json/nodes", headers=auth,
                             verify=facts["ca_file"], timeout=10)
        assert reply.status_code == 200
        nodes = {n["node"]: n["status"] for n in reply.json()["data"]}
        assert nodes["pve3"] == "offline" and nodes["pve1"] == "online"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "state saved" in err and "Traceback" not in err
    json.loads((state / "state.json").read_text())
    assert not (state / "lock").read_text()  # the server let go of the state directory
    assert log.read_text().count("\n") >= 1
    assert facts["token_secret"] not in log.read_text() + err
    # flags were for that run only: settings.json was not written
    assert not (state / "settings.json").exists()
