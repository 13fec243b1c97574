"""Root@pam-only options (features other than nesting, bind mounts, devices) end to end:
`pxrun --sim apply` sets them with `pct set` over the simulator's node SSH, says so, and
converges; without node SSH the plan refuses them with guidance (spec 0051)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pxrun.cli.cluster import node_ssh_configured
from pxrun.connect.session import ConnectionInfo
from pxrun.connect.settings import ConnectionSettings, Endpoint, Secret, SshSettings
from pxrun.plan.options import PlanOptions
from tests.apply.conftest import Stage, run, spec_text

pytestmark = pytest.mark.integration

ROOT_ONLY = """\
web:
  features: {nesting: true, keyctl: true, fuse: true}
  mounts:
    mp1: {host_path: /mnt/media, path: /media}
  devices:
    dev0: {path: /dev/fuse, mode: "0666"}
"""


def sim_config(simdir: Path, name: str) -> dict[str, Any]:
    """The container's config as the simulator saved it in its state directory."""
    from pxrun.sim.state import Simulator

    sim = Simulator.load(simdir, None)
    ct = next(c for c in sim.containers.values() if c.config.get("hostname") == name)
    return dict(ct.config)


def test_apply_sets_root_only_options_with_pct_set_and_converges(
        simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text(ROOT_ONLY), encoding="utf-8")
    assert run(simdir, "plan") == 0  # node SSH is there with --sim: no plan error
    capsys.readouterr()
    assert run(simdir, "apply", "--auto-approve", "--json") == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()
           if line.startswith("{")]
    warnings = [e["message"] for e in out if e["event"] == "warning"]
    assert any(m.startswith("dev0, features, mp1 set with `pct set` on ")
               and "root@pam-only" in m for m in warnings), warnings
    steps = [e["step"] for e in out if e["event"] == "step_started"]
    assert "pct-set" in steps
    assert out[-1]["ok"]

    config = sim_config(simdir, "web")
    assert config["features"] == "fuse=1,keyctl=1,nesting=1"
    assert config["mp1"].startswith("/mnt/media,mp=/media")
    assert config["dev0"].startswith("/dev/fuse") and "mode=0666" in config["dev0"]

    assert run(simdir, "plan", "--detailed-exitcode") == 0  # converged


def test_plain_output_says_pct_set_was_used(simdir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {features: {keyctl: true}}\n"),
                                  encoding="utf-8")
    assert run(simdir, "apply", "--auto-approve") == 0
    text = capsys.readouterr().out
    assert "web: warning: features set with `pct set` on pve" in text


def test_without_node_ssh_the_plan_refuses_with_guidance(stage: Stage) -> None:
    stage.write(spec_text(ROOT_ONLY))
    plan = stage.plan(is_token=True, node_ssh_available=False)
    messages = " ".join(f"{e.message} {e.hint}" for e in plan.errors)
    assert "can only be set by root@pam" in messages
    assert "configure node SSH (cluster.ssh)" in messages
    assert not stage.plan(is_token=True, node_ssh_available=True).errors


def _info(sources: dict[str, str], simulated: bool = False) -> ConnectionInfo:
    settings = ConnectionSettings(endpoint=Endpoint("pve.example", 8006),
                                  token_id="pxrun@pve!ci", token_secret=Secret("x"),
                                  ssh=SshSettings(), sources=sources)
    return ConnectionInfo(settings=settings, simulated=simulated)


def test_node_ssh_is_configured_only_by_sim_or_an_ssh_setting() -> None:
    assert not node_ssh_configured(_info({"endpoint": "env PROXMOX_HOST"}))
    assert node_ssh_configured(_info({"ssh": "profile home"}))
    assert node_ssh_configured(_info({}, simulated=True))
    assert PlanOptions().node_ssh_available is False


def test_removing_a_device_and_flags_goes_through_pct_set_too(
        simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text(ROOT_ONLY), encoding="utf-8")
    assert run(simdir, "apply", "--auto-approve") == 0
    Path("pxrun.yaml").write_text(spec_text("""\
        web:
          features: {nesting: true, keyctl: false, fuse: false}
          mounts:
            mp1: {host_path: /mnt/media, path: /media}
        """), encoding="utf-8")
    capsys.readouterr()
    assert run(simdir, "apply", "--auto-approve") == 0
    text = capsys.readouterr().out
    assert "web: warning: features set and dev0 removed with `pct set` on pve" in text
    config = sim_config(simdir, "web")
    assert "dev0" not in config and config["features"] == "fuse=0,keyctl=0,nesting=1"
    assert run(simdir, "plan", "--detailed-exitcode") == 0
