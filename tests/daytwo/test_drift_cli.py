"""`pxrun drift` against the simulator: exit codes, the report, the metrics textfile.

The out-of-band changes are made the way people make them: with plain proxmoxer (as the
GUI or an Ansible play would), not through pxrun.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pxrun.cli.main import main
from pxrun.daytwo.schema import SCHEMA_PATH
from tests.apply.conftest import Stage, spec_text
from tests.daytwo.conftest import metric, parse_metrics

pytestmark = pytest.mark.integration
STACK = "t"


def drift(capsys: pytest.CaptureFixture[str], spec: Path, *args: str) -> tuple[int, str, str]:
    code = main(["drift", "-f", str(spec), *args])
    out, err = capsys.readouterr()
    return code, out, err


def report(capsys: pytest.CaptureFixture[str], spec: Path, *args: str) -> tuple[int, dict]:
    code, out, _ = drift(capsys, spec, "--json", *args)
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    return code, doc


def test_no_drift_exits_0_and_writes_metrics(stage: Stage, cli_env: object,
                                            capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    stage.write(spec_text("""
        web: {count: 2}
        tool: {state: stopped}
    """))
    assert stage.apply().ok
    prom = tmp_path / "pxrun.prom"
    code, out, _ = drift(capsys, stage.spec, "--metrics", str(prom))
    assert code == 0, out
    assert "No drift" in out
    samples = parse_metrics(prom.read_text(encoding="utf-8"))
    assert metric(samples, "pxrun_last_check_success", stack=STACK) == 1
    assert metric(samples, "pxrun_managed_containers", stack=STACK, state="running") == 2
    assert metric(samples, "pxrun_managed_containers", stack=STACK, state="stopped") == 1
    assert metric(samples, "pxrun_managed_containers", stack=STACK, state="unknown") == 0
    assert metric(samples, "pxrun_drifted_containers", stack=STACK) == 0
    assert metric(samples, "pxrun_last_check_timestamp_seconds", stack=STACK) > 1.7e9
    assert not list(tmp_path.glob("*.prom.*"))  # the temporary file was renamed away


def test_out_of_band_change_with_plain_proxmoxer_is_drift(
        stage: Stage, cli_env: object, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    stage.write(spec_text("""
        web: {}
        db: {}
    """))
    assert stage.apply().ok
    web = stage.plan().change("web")
    assert web is not None and web.vmid is not None and web.node is not None
    prox = stage.env.proxmoxer()
    prox.nodes(web.node).lxc(web.vmid).config.put(memory=768, cores=2, onboot=1)
    code, doc = report(capsys, stage.spec)
    assert code == 2
    assert doc["drifted"] and doc["summary"]["drifted_containers"] == 1
    (item,) = doc["containers"]
    assert item["address"] == "web" and item["kind"] == "changed"
    fields = {f["path"]: f for f in item["fields"]}
    assert fields["resources.memory"]["spec"] == 512
    assert fields["resources.memory"]["cluster"] == 768
    assert not fields["resources.memory"]["pending"]
    assert fields["resources.cores"]["cluster"] == 2
    assert "onboot" not in fields  # the spec leaves it unset: not managed, not drift
    code, out, _ = drift(capsys, stage.spec)
    assert code == 2
    assert "web (vmid" in out and "changed outside pxrun" in out
    assert "resources.memory: 512 → 768" in out
    prom = tmp_path / "m.prom"
    assert main(["-q", "drift", "-f", str(stage.spec), "--metrics", str(prom)]) == 2
    assert capsys.readouterr().out.startswith("Drift: 1 container differs from the spec")
    # Global options mean the same after the command name (one table, specs/0070).
    assert main(["drift", "-f", str(stage.spec), "-q"]) == 2
    assert capsys.readouterr().out == "Drift: 1 container differs from the spec (2 fields).\n"
    samples = parse_metrics(prom.read_text(encoding="utf-8"))
    assert metric(samples, "pxrun_drifted_containers", stack=STACK) == 1
    assert metric(samples, "pxrun_drifted_fields", stack=STACK) == 2
    assert metric(samples, "pxrun_pending_drift_containers", stack=STACK) == 0


def test_pending_changes_are_drift_and_say_so(stage: Stage, cli_env: object,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    stage.write(spec_text("""
        web: {timezone: UTC}
        app: {}
    """))
    assert stage.apply().ok
    web, app = stage.plan().change("web"), stage.plan().change("app")
    assert web is not None and app is not None
    # pxrun itself left a change pending (restart policy never): the config matches the
    # spec, the running container does not yet.
    stage.write(spec_text("""
        web: {timezone: UTC}
        app: {timezone: UTC}
    """))
    assert stage.apply(stage.plan(restart="never")).ok
    # Someone sets a timezone by hand: Proxmox holds it pending on the running container.
    stage.env.proxmoxer().nodes(web.node).lxc(web.vmid).config.put(timezone="Europe/Berlin")
    code, doc = report(capsys, stage.spec)
    assert code == 2
    by_name = {c["address"]: {f["path"]: f for f in c["fields"]} for c in doc["containers"]}
    tz = by_name["web"]["timezone"]
    assert tz["pending"] and tz["cluster"] == "Europe/Berlin" and tz["running"] == "UTC"
    tz = by_name["app"]["timezone"]
    assert tz["pending"] and tz["cluster"] == "UTC" == tz["spec"] and tz["running"] is None
    assert doc["summary"]["pending_containers"] == 2
    code, out, _ = drift(capsys, stage.spec)
    assert "pending: Proxmox applies it at the next restart" in out
    assert "pending: the config matches the spec" in out


def test_unreachable_cluster_exits_1_and_metrics_say_failed(
        stage: Stage, cli_env: object, capsys: pytest.CaptureFixture[str],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stage.write(spec_text("web: {}"))
    monkeypatch.setenv("PROXMOX_HOST", "https://127.0.0.1:1")
    monkeypatch.setenv("PROXMOX_TIMEOUT", "2")
    prom = tmp_path / "m.prom"
    code, _, err = drift(capsys, stage.spec, "--metrics", str(prom))
    assert code == 1 and "Traceback" not in err
    samples = parse_metrics(prom.read_text(encoding="utf-8"))
    assert metric(samples, "pxrun_last_check_success", stack=STACK) == 0
    assert ("pxrun_drifted_containers", (("stack", STACK),)) not in samples


def test_invalid_spec_exits_3(cli_env: object, capsys: pytest.CaptureFixture[str],
                              tmp_path: Path) -> None:
    spec = tmp_path / "pxrun.yaml"
    spec.write_text("version: 1\nstack: t\ncontainers:\n  web: {resources: {cores: 0}}\n")
    prom = tmp_path / "m.prom"
    code, _, err = drift(capsys, spec, "--metrics", str(prom))
    assert code == 3 and "pxrun.yaml:4" in err
    samples = parse_metrics(prom.read_text(encoding="utf-8"))
    assert metric(samples, "pxrun_last_check_success", stack="unknown") == 0


def test_offline_node_makes_containers_unknown_not_drifted(
        stage: Stage, cli_env: object, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    stage.write(spec_text("""
        a: {node: pve1}
        b: {node: pve2}
    """))
    assert stage.apply().ok
    stage.env.sim.settings.faults.offline_nodes = ["pve2"]
    prom = tmp_path / "m.prom"
    code, doc = report(capsys, stage.spec, "--metrics", str(prom))
    assert code == 0, doc
    assert [u["node"] for u in doc["unknown"]] == ["pve2"]
    assert doc["offline_nodes"] == ["pve2"]
    samples = parse_metrics(prom.read_text(encoding="utf-8"))
    assert metric(samples, "pxrun_unknown_containers", stack=STACK) == 1
    assert metric(samples, "pxrun_managed_containers", stack=STACK, state="unknown") == 1
    assert metric(samples, "pxrun_offline_nodes", stack=STACK) == 1
