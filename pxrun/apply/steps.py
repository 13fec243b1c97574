"""One change = its plan operations run in order; the outcome becomes a `ChangeResult`.

Apply is driven by the operations alone (STYLE.md): nothing here looks at the action or the
reason. Between two operations the run checks for Ctrl-C, so a stop never cuts a Proxmox
task short. A failure after this run created the container marks it tainted (in its
marker; a failed provisioning step taints any container, with the step and its log), so
the next plan shows it and finishes it; nothing is ever deleted that the plan did not say.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pxrun.apply import (
    steps_create,
    steps_power,
    steps_provision,
    steps_pve9,
    steps_safety,
    steps_update,
)
from pxrun.apply.context import StepCancelled
from pxrun.apply.summary import ChangeResult, Outcome
from pxrun.errors import ApiError, PxrunError, TaskFailedError

if TYPE_CHECKING:
    from pxrun.apply.context import Run

Step = Callable[["Run", Any], None]


def _runs(run: Run) -> bool:
    """Whether the container runs now: known from our own steps, else what the spec wants
    (used only to show its address in the summary, never to decide an action)."""
    if run.running is not None:
        return run.running
    return (run.change.after or {}).get("state") == "running"


OPERATIONS: dict[str, Step] = {
    "create": steps_create.create,
    "config": steps_update.config_update,
    "attach_mount": steps_update.attach_mount,
    "detach_mount": steps_update.detach_mount,
    "resize": steps_update.resize,
    "move_volume": steps_update.move_volume,
    "migrate": steps_update.migrate,
    "pool": steps_update.set_pool,
    "power": steps_power.power,
    "provision": steps_provision.provision,
    "delete": steps_power.delete,
    "leave_tailnet": steps_provision.leave_tailnet,
    "reassign": steps_safety.reassign,
    "delete_snapshots": steps_safety.delete_snapshots,
    "snapshot": steps_safety.snapshot,
    "backup": steps_safety.backup,
    "raw_lxc": steps_pve9.raw_lxc,
    "ha": steps_pve9.ha_resource,
    "ha_rule": steps_pve9.ha_rule,
}


def _after_failure(run: Run, hint: str) -> str:
    """A failed change that took a snapshot first: roll back to it when the plan says so,
    else say how (`pxrun rollback`). The hint to show."""
    if run.snapshot is None:
        return hint
    name, was_running, roll = run.snapshot
    if not roll:
        return f"roll back with: pxrun rollback {run.address} {name}"
    try:
        steps_safety.rollback(run, name, start=was_running)
    except PxrunError as exc:
        run.warn(f"rolling back to {name} failed: {exc.message}")
        return f"roll back by hand: pxrun rollback {run.address} {name}"
    run.warn(f"the change failed; rolled back to snapshot {name}")
    return hint


def run_change(run: Run) -> ChangeResult:
    """Run every operation of the change; never raises (except for KeyboardInterrupt)."""
    started = time.monotonic()
    change = run.change
    run.node, run.vmid, run.digest = change.node, change.vmid, change.digest
    outcome: Outcome = "done"
    error = hint = ""
    log_tail: tuple[str, ...] = ()
    tainted = False
    try:
        for op in change.operations:
            if run.shared.stop.is_set():
                outcome = "interrupted"
                break
            OPERATIONS[op.op](run, op)
        if outcome == "done" and run.ip is None and run.vmid is not None and _runs(run):
            run.ip = steps_create.read_address(run)  # for the summary table only
        if run.vmid is not None:  # what an HA rule of this apply names it by
            run.shared.vmids_made[change.address] = run.vmid
    except StepCancelled:
        outcome = "interrupted"
    except PxrunError as exc:
        outcome = "failed"
        error = f"{run.current or 'apply'}: {exc.message}"
        hint = exc.hint
        if isinstance(exc, TaskFailedError):
            log_tail = tuple(exc.log_tail)
        elif isinstance(exc, ApiError) and exc.errors:
            error += " (" + "; ".join(f"{k}: {v}" for k, v in sorted(exc.errors.items())) + ")"
        tainted = run.tainted or (run.created and steps_update.mark_tainted(run))
        hint = _after_failure(run, hint)
    except Exception as exc:  # a bug must not hide what the other workers did
        outcome = "failed"
        error = f"{run.current or 'apply'}: {type(exc).__name__}: {exc}"
        tainted = run.tainted or (run.created and steps_update.mark_tainted(run))
        hint = _after_failure(run, hint)
    return ChangeResult(
        address=change.address, action=change.action.value, outcome=outcome, vmid=run.vmid,
        node=run.node if run.vmid is not None else None, ip=run.ip,
        steps_done=tuple(run.steps_done), error=error, hint=hint, log_tail=log_tail,
        warnings=tuple(run.warnings), pending=tuple(run.left_pending), tainted=tainted,
        seconds=time.monotonic() - started)
