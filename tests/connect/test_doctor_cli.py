"""`pxrun doctor` end to end through `main([...])`: embedded --sim, real failures, JSON."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from pxrun.cli.main import main
from tests.connect.conftest import Cluster

pytestmark = pytest.mark.integration


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory and an environment with no connection settings of the machine."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("PROXMOX_HOST", "PROXMOX_TOKEN_ID", "PROXMOX_TOKEN_SECRET", "PROXMOX_CA_FILE",
                 "PROXMOX_VERIFY_SSL", "PROXMOX_FINGERPRINT", "PROXMOX_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("NO_COLOR", "1")
    return work


def _use(cluster: Cluster, monkeypatch: pytest.MonkeyPatch, **overrides: str) -> None:
    for key, value in cluster.env(**overrides).items():
        monkeypatch.setenv(key, value)


def test_sim_doctor(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sim", "doctor"]) == 0
    out = capsys.readouterr().out
    assert "Connection (simulator)" in out
    assert "token_secret  ********" in out
    assert "verified against CA file" in out
    assert "Proxmox VE  9.1" in out
    assert "pve1" in out and "online" in out
    assert "VM.Allocate" in out
    from pxrun.sim.runtime import init_state

    facts = init_state(clean_env / ".pxrun" / "sim")  # idempotent: reads the existing state
    assert facts.token_secret not in out


def test_sim_doctor_json(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sim", "--json", "doctor"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["simulated"] is True
    assert {n["name"] for n in report["nodes"]} == {"pve1", "pve2", "pve3"}
    rows = {r["setting"]: r for r in report["settings"]}
    assert rows["token_secret"]["value"] == "********"
    assert rows["endpoint"]["source"] == "simulator"
    assert {p["privilege"]: p["status"] for p in report["privileges"]}["VM.Allocate"] == "yes"


def test_doctor_shows_sources_from_env_and_dotenv(cluster: Cluster, clean_env: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _use(cluster, monkeypatch, PROXMOX_TOKEN_SECRET="")
    (clean_env / ".env").write_text(f"PROXMOX_TOKEN_SECRET={cluster.token_secret}\n")
    assert main(["--json", "doctor"]) == 0
    captured = capsys.readouterr()
    assert cluster.token_secret not in captured.out + captured.err
    rows = {r["setting"]: r["source"] for r in json.loads(captured.out)["settings"]}
    assert rows["endpoint"] == "environment PROXMOX_HOST"
    assert rows["token_secret"] == ".env PROXMOX_TOKEN_SECRET"


def test_doctor_bad_token_exits_1(cluster: Cluster, clean_env: Path,
                                  monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    _use(cluster, monkeypatch, PROXMOX_TOKEN_SECRET="wrong-secret")
    assert main(["doctor"]) == 1
    captured = capsys.readouterr()
    assert "error: authentication failed" in captured.err
    assert "hint:" in captured.err
    assert "wrong-secret" not in captured.out + captured.err


def test_doctor_wrong_ca_shows_fingerprint(cluster: Cluster, clean_env: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    _use(cluster, monkeypatch, PROXMOX_CA_FILE="")
    assert main(["--json", "doctor"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["reachable"] is True and report["authenticated"] is False
    assert len(report["server_fingerprint"]) == 95
    assert "TLS verification" in report["error"]


def test_doctor_unreachable_exits_1(clean_env: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PROXMOX_HOST", f"127.0.0.1:{port}")
    monkeypatch.setenv("PROXMOX_TOKEN_ID", "pxrun@pve!ci")
    monkeypatch.setenv("PROXMOX_TOKEN_SECRET", "s")
    assert main(["doctor", "--timeout", "2"]) == 1
    assert "cannot connect to https://127.0.0.1" in capsys.readouterr().err


def test_doctor_without_settings_says_what_to_set(clean_env: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 1
    err = capsys.readouterr().err
    assert "no Proxmox endpoint configured" in err
    assert "PROXMOX_HOST" in err


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_insecure_flag_prints_a_warning(cluster: Cluster, clean_env: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _use(cluster, monkeypatch, PROXMOX_CA_FILE="")
    assert main(["doctor", "--insecure"]) == 0
    out = capsys.readouterr().out
    assert "warning: TLS verification is off (--insecure)" in out
    assert "NOT VERIFIED" in out


SPEC = """\
version: 1
stack: lab
containers:
  web:
    template: debian-12
    features: {nesting: true, keyctl: true}
    mounts:
      mp0: {host_path: /srv/media, path: /media}
    devices:
      dev0: {path: /dev/dri/renderD128}
  db:
    template: debian-12
    features: {nesting: true}
"""


def test_doctor_names_root_only_spec_options(clean_env: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (clean_env / "pxrun.yaml").write_text(SPEC)
    status = main(["--sim", "--json", "doctor"])
    report = json.loads(capsys.readouterr().out)
    if not report["spec_checked"]:
        pytest.skip(f"the spec loader could not read the example: {report['warnings']}")
    assert status == 0  # a warning, not a failure: the cluster itself is fine
    assert report["root_only"] == [
        "web: devices.dev0 (device passthrough)",
        "web: features.keyctl (features other than nesting)",
        "web: mounts.mp0 (bind mounts)",
    ]
    assert any("need root@pam" in w for w in report["warnings"])
