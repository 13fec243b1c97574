"""Power transitions and delete: start, clean shutdown with a hard stop after it, reboot.

Proxmox answers a start of a running container with `CT N already running` and a stop of a
stopped one with `CT N not running` before any task is forked (reference A2); pxrun reads
those as "already in the wanted state", which also makes a start retried after a lost
answer safe.

Delete checks ownership and `protection` first, so a protected (or foreign) container is
refused before anything has been stopped; then shutdown (bounded), a hard stop if it did
not stop in time, and `DELETE ... purge=1`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pxrun.apply.ownership import existing_marker
from pxrun.apply.steps_create import wait_for_address
from pxrun.apply.steps_pve9 import await_ha
from pxrun.errors import ApiError, ApplyError, NotFoundError, TaskFailedError, TaskTimeoutError

if TYPE_CHECKING:
    from pxrun.apply.context import Run
    from pxrun.connect.tasks import TaskResult
    from pxrun.plan.model import DeleteContainer, Power


def _already(text: str) -> bool:
    return "already running" in text


def _not_running(text: str) -> bool:
    return "not running" in text


def _power_task(run: Run, action: str, kind: str, done: Callable[[str], bool]
                ) -> TaskResult | None:
    """POST status/<action>; Proxmox's "already in that state" answer counts as done,
    whether it comes first or on a retry after a lost answer (then the status is looked
    at before the request is sent again)."""
    wanted = "running" if action == "start" else "stopped"
    try:
        return run.task("post", run.path(f"status/{action}"), kind=kind, step=action,
                        task_type=f"vz{action}", verify=lambda: _status(run) == wanted,
                        maybe_done=lambda e: done(e.reason))
    except ApiError as exc:
        if not done(exc.reason):
            raise
    return None


def start(run: Run) -> None:
    with run.step("start", run.node_keys()):
        result = _power_task(run, "start", "start", _already)
        await_ha(run, result, status="running")  # an HA-managed container: HA starts it
    run.running = True
    run.config_rewritten = True  # a start applies what was pending


def stop(run: Run) -> None:
    """Shut down cleanly within the `shutdown` timeout; stop hard if it did not stop."""
    timeout = int(run.shared.options.timeout("shutdown"))
    with run.step("shutdown", run.node_keys(), detail=f"up to {timeout} s"):
        try:
            result = run.task("post", run.path("status/shutdown"), kind="stop",
                              step="shutdown", task_type="vzshutdown",
                              verify=lambda: _status(run) == "stopped",
                              maybe_done=lambda e: _not_running(e.reason), timeout=timeout)
            await_ha(run, result, status="stopped")
            stopped = True
        except (TaskFailedError, TaskTimeoutError) as exc:
            stopped = False
            run.warn(f"clean shutdown did not finish ({exc.message}); stopping hard")
        except ApiError as exc:
            if not _not_running(exc.reason):
                raise
            stopped = True
    if not stopped:
        with run.step("stop", run.node_keys()):
            await_ha(run, _power_task(run, "stop", "stop", _not_running), status="stopped")
    run.running = False


def reboot(run: Run) -> None:
    """Restart, which applies pending changes. A stopped container is simply started."""
    timeout = int(run.shared.options.timeout("shutdown"))
    with run.step("restart", run.node_keys()):
        sent_at = time.monotonic()
        try:
            run.task("post", run.path("status/reboot"), kind="reboot", step="restart",
                     task_type="vzreboot", verify=lambda: _rebooted(run, sent_at),
                     timeout=timeout)
        except ApiError as exc:
            if not _not_running(exc.reason):
                raise
            run.task("post", run.path("status/start"), kind="start", step="restart",
                     task_type="vzstart", verify=lambda: _status(run) == "running",
                     maybe_done=lambda e: _already(e.reason))
    run.running = True
    run.pending.clear()
    run.config_rewritten = True


def power(run: Run, op: Power) -> None:
    """A power operation; restarts that are not required follow the restart policy. One
    naming another container (the old one of a replace) acts on that one."""
    if op.vmid is not None and op.node is not None and op.vmid != run.vmid:
        with run.acting_on(op.node, op.vmid):
            _power(run, op)
        return
    _power(run, op)


def _power(run: Run, op: Power) -> None:
    policy = op.policy
    override = run.shared.options.restart
    if policy != "required" and override is not None:
        policy = override
    if policy == "ask":
        with run.shared.ask_lock:
            policy = "auto" if run.shared.hook.ask_restart(run.address, run.pending) else "never"
    if policy == "never":
        keys = ", ".join(run.pending) or "pending changes"
        run.left_pending.extend(run.pending)
        run.warn(f"restart not allowed by the restart policy: {keys} stay pending until the "
                 "container restarts")
        return
    if op.action == "stop":
        stop(run)
        return
    if op.action == "start":
        start(run)
    else:
        reboot(run)
    if op.await_address != "no":
        wait_for_address(run, required=op.await_address == "require")


def delete(run: Run, op: DeleteContainer) -> None:
    """Delete `op`'s container. When this change made another container first (a replace
    creating before it deletes), the run keeps pointing at the new one; otherwise at the
    deleted one, so the summary names what was deleted."""
    if run.created and run.vmid not in (None, op.vmid):
        with run.acting_on(op.node, op.vmid):
            _delete(run, op)
        return
    run.node, run.vmid = op.node, op.vmid
    _delete(run, op)
    run.running = None


def _delete(run: Run, op: DeleteContainer) -> None:
    with run.step("check", detail="ownership and protection"):
        try:
            config = run.client.get(run.path("config"))
        except NotFoundError:
            run.warn(f"container {op.vmid} is already gone")
            return
        marker = existing_marker(config) if isinstance(config, dict) else None
        if marker is None and op.hostname is not None:  # recognised without a marker
            found = config.get("hostname") if isinstance(config, dict) else None
            if found != op.hostname:
                raise ApplyError(f"container {op.vmid} is no longer the one planned: its "
                                 f"hostname is {found}, not {op.hostname}")
        elif marker is None or marker.stack != run.shared.stack:
            raise ApplyError(f"container {op.vmid} does not carry this stack's marker; "
                             "pxrun deletes only containers it owns")
        if isinstance(config, dict) and str(config.get("protection", "0")) == "1":
            raise ApplyError(f"container {op.vmid} has protection enabled; nothing was "
                             "stopped or deleted",
                             hint="turn protection off (protection: false in the spec, "
                                  "then apply) before deleting it")
    if op.stop_first or _status(run) == "running":
        stop(run)
    with run.step("delete", run.node_keys()):
        run.task("delete", run.path(), kind="delete", step="delete", task_type="vzdestroy",
                 verify=lambda: _status(run) == "gone",
                 maybe_done=lambda e: isinstance(e, NotFoundError), purge=1)


def _rebooted(run: Run, sent_at: float) -> bool:
    """After a reboot whose answer was lost: running again, and the keys that were pending
    are applied (or, with none pending, it started after the request was sent)."""
    current = run.client.get(run.path("status/current"))
    if not isinstance(current, dict) or current.get("status") != "running":
        return False
    if run.pending:
        items = run.client.get(run.path("pending"))
        held = {str(i.get("key")) for i in items if isinstance(i, dict)
                and ("pending" in i or i.get("delete"))} if isinstance(items, list) else set()
        return not held & set(run.pending)
    return int(current.get("uptime") or 0) < time.monotonic() - sent_at


def _status(run: Run) -> str:
    """running / stopped, "gone" when the container does not exist (here)."""
    try:
        current = run.client.get(run.path("status/current"))
    except NotFoundError:
        return "gone"
    return str(current.get("status", "unknown")) if isinstance(current, dict) else "unknown"
