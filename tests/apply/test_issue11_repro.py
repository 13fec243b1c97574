"""The reproductions of issue 11 ("a plan you can trust with your data"), against the
simulator. Each failed on the code before the fix (checked), and names its symptom.

1. a replace forced by another field keeps mount-point data (tests/apply/test_data_volumes.py
   has the end-to-end tests; the reproduction is here);
2. `protection: true` does not break pxrun's own volume operations;
3. Ctrl-C stops work still waiting for a node slot;
4. a node change plus a config change in one apply;
5. containers without a network do not wait for an address;
6. the plan wording (golden files in tests/render/golden, planner cases in
   tests/plan/cases/trust.yaml) and the apply summary (tests/cli/test_summary_golden.py).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pxrun.apply.context import ApplyOptions
from pxrun.apply.engine import apply_plan
from pxrun.apply.limits import Limits
from pxrun.plan.model import Plan
from tests.apply.conftest import Recorder, Stage, run, spec_text
from tests.apply.nodestage import NodeStage

pytestmark = pytest.mark.integration


def _config(stage: Stage, name: str) -> dict[str, Any]:
    node, vmid = _where(stage, name)
    config = stage.client.get(f"nodes/{node}/lxc/{vmid}/config")
    assert isinstance(config, dict)
    return config


def _where(stage: Stage, name: str) -> tuple[str, int]:
    change = stage.plan().change(name)
    assert change is not None and change.vmid is not None and change.node is not None
    return change.node, change.vmid


# --- 2. protection ----------------------------------------------------------------------


def test_2_create_protected_with_a_bind_mount_sets_protection_last(
        node_stage: NodeStage) -> None:
    # The bind mount goes through `pct set` after the create; Proxmox refuses any drive
    # change on a protected container, so protection must come after it.
    node_stage.write(spec_text("""
        web:
          protection: true
          mounts:
            mp0: {volume: local-lvm:1, path: /srv/data}
            mp1: {host_path: /mnt/media, path: /media}
    """))
    summary = node_stage.apply()
    assert summary.ok, summary.results
    config = _config(node_stage, "web")
    assert str(config["protection"]) == "1" and config["mp1"].startswith("/mnt/media")
    node_stage.assert_converged(node_ssh_available=True)


def test_2_a_volume_added_to_a_protected_container_is_a_plan_error(stage: Stage) -> None:
    stage.write(spec_text("web: {protection: true}\n"))
    assert stage.apply().ok
    stage.write(spec_text("""
        web:
          protection: true
          mounts:
            mp0: {volume: local-lvm:1, path: /srv/data}
    """))
    plan = stage.plan()
    assert [e.message for e in plan.errors] == [
        "mp0: Proxmox refuses to add, change or remove a mount point of a protected "
        "container; set protection: false first (it can be set back afterwards)"]


def test_2_protection_turned_off_with_the_volume_change_is_lifted_first(stage: Stage) -> None:
    stage.write(spec_text("web: {protection: true}\n"))
    assert stage.apply().ok
    stage.write(spec_text("""
        web:
          protection: false
          mounts:
            mp0: {volume: local-lvm:1, path: /srv/data}
    """))
    hook = Recorder()
    summary = stage.apply(hook=hook)
    assert summary.ok, summary.results
    assert hook.steps("web") == ["config", "attach"]
    assert str(_config(stage, "web").get("protection", "0")) == "0"
    stage.assert_converged()


# --- 3. Ctrl-C ----------------------------------------------------------------------------


class StopAtFirstTask(Recorder):
    """Sets the stop event (what Ctrl-C does) as soon as the first create task runs."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self.stop = stop

    def task_started(self, address: str, step: str, upid: str) -> None:
        super().task_started(address, step, upid)
        self.stop.set()


def test_3_ctrl_c_stops_changes_waiting_for_a_node_slot(stage: Stage) -> None:
    stage.write(spec_text("web: {count: 4, node: pve1, state: stopped}\n"))
    plan = stage.plan()
    stop = threading.Event()
    hook = StopAtFirstTask(stop)
    started = time.monotonic()
    summary = apply_plan(stage.client, plan, hook=hook, stop=stop, options=ApplyOptions(
        parallelism=4, limits=Limits(node=1, storage=4), retry_delay=0.01, ip_poll=0.01))
    assert summary.interrupted
    created = [r.address for r in summary.results if "create" in r.steps_done]
    assert len(created) == 1, summary.results  # the others were waiting for the slot
    assert summary.counts() == {"done": 1, "failed": 0, "skipped": 0, "interrupted": 3}
    guests = stage.client.get("nodes/pve1/lxc")
    assert len(guests) == 1
    assert time.monotonic() - started < 10


# --- 4. digest after a config-rewriting operation ----------------------------------------


def test_4_a_migration_and_a_config_change_in_one_apply(stage: Stage) -> None:
    # The migration restarts the container on its new node, and the start applies what was
    # pending: the config (and its digest) changes under the write that follows.
    stage.write(spec_text("web: {node: pve1}\n"))
    assert stage.apply().ok
    node, vmid = _where(stage, "web")
    stage.client.put(f"nodes/{node}/lxc/{vmid}/config", timezone="UTC")  # held pending
    stage.write(spec_text("web: {node: pve2, timezone: UTC, resources: {cores: 2}}\n"))
    plan = stage.plan()
    assert _plan_ops(plan, "web")[:2] == ["migrate", "config"]
    summary = stage.apply(plan)
    assert summary.ok, summary.results
    config = _config(stage, "web")
    assert str(config["cores"]) == "2" and config["timezone"] == "UTC"
    stage.assert_converged()


# --- 5. no network, no wait for an address -----------------------------------------------


NO_NET = """\
version: 1
stack: t
defaults: {template: debian-12, resources: {cores: 1, memory: 256, swap: 0, disk: 4}}
containers:
  quiet: {}
  manual:
    networks: {net0: {bridge: vmbr0, ip: manual}}
"""


def test_5_containers_without_an_address_to_get_do_not_wait_for_one(stage: Stage) -> None:
    stage.spec.write_text(NO_NET, encoding="utf-8")
    hook = Recorder()
    started = time.monotonic()
    summary = stage.apply(hook=hook, timeouts={"ip": 20})
    assert summary.ok, summary.results
    assert "wait-ip" not in hook.steps("quiet") and "wait-ip" not in hook.steps("manual")
    assert not any("IPv4" in w for w in hook.warnings())
    assert time.monotonic() - started < 15


def _plan_ops(plan: Plan, name: str) -> list[str]:
    change = plan.change(name)
    assert change is not None
    return [op.op for op in change.operations]


# --- 6. the plan (and the apply summary) tell the truth -----------------------------------


def test_6_a_plan_with_an_error_still_shows_its_changes(
        simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {protection: true}\n"), encoding="utf-8")
    assert run(simdir, "apply", "--auto-approve") == 0
    Path("pxrun.yaml").write_text(spec_text("""
        web:
          protection: true
          resources: {memory: 768}
          mounts:
            mp0: {volume: local-lvm:1, path: /srv/data}
    """), encoding="utf-8")
    capsys.readouterr()
    assert run(simdir, "plan") == 1
    out, err = capsys.readouterr()
    assert "protection: false first" in err
    assert '~ container "web"' in out and "resources.memory" in out and "mounts.mp0" in out
    assert "The plan has errors" in out
    assert run(simdir, "apply", "--auto-approve") == 1
    out, err = capsys.readouterr()
    assert '~ container "web"' in out and "protection: false first" in err


def test_6_the_summary_names_what_a_delete_deleted_and_a_replace_made(stage: Stage) -> None:
    stage.write(spec_text("web: {}\nold: {}\n"))
    first = {r.address: r for r in stage.apply().results}
    stage.write(spec_text("web: {unprivileged: false, lifecycle: {create_before_destroy: "
                          "true}}\n"))
    summary = stage.apply()
    assert summary.ok, summary.results
    results = {r.address: r for r in summary.results}
    assert (results["old"].vmid, results["old"].node) == (first["old"].vmid, first["old"].node)
    web = results["web"]
    assert web.vmid is not None and web.vmid != first["web"].vmid and web.node is not None
    assert _where(stage, "web") == (web.node, web.vmid)
