"""Waiting for Proxmox tasks (UPIDs): poll with backoff, read the log on failure or warnings.

Why not proxmoxer's `Tasks.blocking_status`: it polls at a fixed interval (1 s by default,
which makes every start/stop cost a second), returns None on timeout, never raises on a
failed task, and ignores warnings. Proxmox itself counts `OK` and `WARNINGS: n` as success.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pxrun.errors import ApiError, TaskFailedError, TaskTimeoutError

_UPID = re.compile(
    r"UPID:(?P<node>[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):(?P<pid>[0-9A-Fa-f]{8}):"
    r"(?P<pstart>[0-9A-Fa-f]{8,9}):(?P<starttime>[0-9A-Fa-f]{8}):(?P<type>[^:\s/]+):"
    r"(?P<id>[^:\s/]*):(?P<user>[^:\s/]+):")
_WARNINGS = re.compile(r"WARNINGS: \d+")
LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class Upid:
    """The parts of a task id that pxrun needs: where it runs and what it is."""

    upid: str
    node: str
    type: str
    id: str
    user: str
    starttime: int

    @classmethod
    def parse(cls, upid: str) -> Upid:
        match = _UPID.fullmatch(upid.strip())
        if match is None:
            raise ApiError(f"not a Proxmox task id: {upid!r}",
                           hint="a task id looks like UPID:node:PID:PSTART:TIME:type:id:user:")
        return cls(upid=upid.strip(), node=match["node"], type=match["type"], id=match["id"],
                   user=match["user"], starttime=int(match["starttime"], 16))


@dataclass(frozen=True)
class TaskResult:
    """A finished, successful task. `warnings` holds the log's WARN lines (if it warned)."""

    upid: str
    node: str
    type: str
    exitstatus: str
    warnings: tuple[str, ...] = ()
    log_tail: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True)
class PollPolicy:
    """Fast first (most LXC tasks end in well under a second), then at most once a second."""

    first: float = 0.05
    factor: float = 2.0
    cap: float = 1.0


DEFAULT_POLL = PollPolicy()


def is_success(exitstatus: str) -> bool:
    """Proxmox's own rule: `OK` or `WARNINGS: n`."""
    return exitstatus == "OK" or bool(_WARNINGS.fullmatch(exitstatus))


def wait_task(get: Callable[..., Any], upid: str, *, timeout: float,
              poll: PollPolicy = DEFAULT_POLL, clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> TaskResult:
    """Block until the task stops; return its result or raise `TaskFailedError` /
    `TaskTimeoutError`. `get(path, **params)` is the client's GET (with its retries)."""
    task = Upid.parse(upid)
    base = f"nodes/{task.node}/tasks/{task.upid}"
    started = clock()
    delay = poll.first
    while True:
        status = get(f"{base}/status")
        if isinstance(status, dict) and status.get("status") == "stopped":
            break
        elapsed = clock() - started
        if elapsed >= timeout:
            raise TaskTimeoutError(
                f"task {task.type} {task.id} on {task.node} still running after {timeout:g} s",
                upid=task.upid)
        sleep(min(delay, max(timeout - elapsed, 0.0)))
        delay = min(delay * poll.factor, poll.cap)
    seconds = clock() - started
    exitstatus = str(status.get("exitstatus", "unexpected status"))
    if exitstatus == "OK":
        return TaskResult(upid=task.upid, node=task.node, type=task.type, exitstatus=exitstatus,
                          seconds=seconds)
    tail = _log_tail(get, base)
    if is_success(exitstatus):
        warnings = tuple(line for line in tail if line.startswith("WARN")) or (exitstatus,)
        return TaskResult(upid=task.upid, node=task.node, type=task.type, exitstatus=exitstatus,
                          warnings=warnings, log_tail=tail, seconds=seconds)
    raise TaskFailedError(f"task {task.type} {task.id} on {task.node} failed: {exitstatus}",
                          upid=task.upid, exitstatus=exitstatus, log_tail=list(tail))


def _log_tail(get: Callable[..., Any], base: str, lines: int = LOG_TAIL_LINES) -> tuple[str, ...]:
    """The last lines of the task log. The whole log is read (`limit=0`) because the line
    count (`total`) is not part of `data`; LXC task logs are short."""
    try:
        entries = get(f"{base}/log", start=0, limit=0)
    except ApiError:
        return ()  # the task's own failure is the news; a missing log must not hide it
    texts = [str(e.get("t", "")) for e in entries if isinstance(e, dict)] if isinstance(
        entries, list) else []
    return tuple(texts[-lines:])
