"""Calling the simulator's handlers in-process, validated as the server validates them.

For model tests that need no HTTP: `call(sim, "PUT", "/nodes/pve1/lxc/101/config",
memory=1024)` routes, validates against the parameter table (400s as `ApiError`), and runs
the handler as root@pam (or `auth=`); `finish(sim, upid)` waits for a task's exit status.
"""

from __future__ import annotations

import time
from typing import Any

import pxrun.sim.handlers  # noqa: F401  (registers every route)
from pxrun.sim.api import Auth, Request, match
from pxrun.sim.state import Simulator
from pxrun.sim.validate import validate_params

ROOT = Auth("root@pam")


def call(sim: Simulator, method: str, path: str, *, auth: Auth = ROOT, **params: Any) -> Any:
    route, path_params = match(method, path)
    typed = validate_params(method, route.template, {**params, **path_params})
    return route.handler(sim, Request(method, path, route.template, typed, auth))


def finish(sim: Simulator, upid: str, timeout: float = 10.0) -> str:
    """Wait until the task ends; its exit status (`OK`, `WARNINGS: n` or the error)."""
    deadline = time.monotonic() + timeout
    thread = sim.tasks.threads.get(upid)
    if thread is not None:
        thread.join(timeout)
    while time.monotonic() < deadline:
        with sim.lock:
            task = sim.tasks.tasks[upid]
            if not task.running:
                return str(task.exitstatus)
        time.sleep(0.001)
    raise AssertionError(f"task {upid} did not finish")


def ok(sim: Simulator, method: str, path: str, **params: Any) -> None:
    """Run a task-starting call and require it to end OK."""
    status = finish(sim, call(sim, method, path, **params))
    assert status == "OK", status
