"""The task engine: asynchronous workers with real UPIDs, logs and exit statuses.

Why threads and not an event loop: a Proxmox worker is a forked process that sleeps, locks
the config, changes state and writes a log; a thread per task mirrors that one to one and
lets clients poll `tasks/{upid}/status` exactly as they do against a real node. Durations
come from `SimSettings.task_duration`, so tests run them with `time_scale` near zero.

A worker is a plain function `work(ctx)`. It calls `ctx.sleep()` for simulated time (which
raises `TaskAborted` when the task is stopped through `DELETE tasks/{upid}`), `ctx.log()`
for log lines, and raises `TaskError` (or any exception) to end with `TASK ERROR: ...`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):"
    r"([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$"
)

# How many finished tasks per node we keep (Proxmox rotates its task index too).
KEEP_FINISHED = 1000
INTERRUPTED = "TASK ERROR: task interrupted by simulator restart"


class TaskError(Exception):
    """A worker failure; the message becomes `TASK ERROR: <message>`."""


class TaskAborted(TaskError):
    """The task was stopped from outside (pvedaemon sends SIGTERM: `received interrupt`)."""

    def __init__(self) -> None:
        super().__init__("received interrupt")


def encode_upid(node: str, pid: int, pstart: int, starttime: int, kind: str, wid: str,
                user: str) -> str:
    return f"UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{wid}:{user}:"


def decode_upid(upid: str) -> dict[str, Any] | None:
    """Split a UPID as PVE::Tools::upid_decode does; None when it does not parse."""
    found = UPID_RE.match(upid)
    if not found:
        return None
    return {
        "upid": upid,
        "node": found.group(1),
        "pid": int(found.group(3), 16),
        "pstart": int(found.group(4), 16),
        "starttime": int(found.group(5), 16),
        "type": found.group(6),
        "id": found.group(7),
        "user": found.group(8),
    }


def exitstatus_of(last_line: str) -> str:
    """Derive `exitstatus` from a finished task's last log line, as PVE does."""
    if last_line == "TASK OK":
        return "OK"
    if re.fullmatch(r"TASK WARNINGS: \d+", last_line):
        return last_line[len("TASK "):]
    if last_line.startswith("TASK ERROR: "):
        return last_line[len("TASK ERROR: "):]
    return "unexpected status"


@dataclass
class Task:
    """One task as its UPID and log describe it."""

    upid: str
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str
    log: list[str] = field(default_factory=list)
    endtime: int | None = None
    warnings: int = 0

    @property
    def running(self) -> bool:
        return self.endtime is None

    @property
    def exitstatus(self) -> str | None:
        if self.running:
            return None
        return exitstatus_of(self.log[-1] if self.log else "")

    def status_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "upid": self.upid, "node": self.node, "pid": self.pid, "pstart": self.pstart,
            "starttime": self.starttime, "type": self.type, "id": self.id, "user": self.user,
            "status": "running" if self.running else "stopped",
        }
        if "!" in self.user:
            data["user"], data["tokenid"] = self.user.split("!", 1)
        if not self.running:
            data["exitstatus"] = self.exitstatus
        return data

    def list_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "upid": self.upid, "node": self.node, "pid": self.pid, "pstart": self.pstart,
            "starttime": self.starttime, "type": self.type, "id": self.id, "user": self.user,
        }
        if not self.running:
            data["endtime"] = self.endtime
            data["status"] = self.exitstatus
        return data

    def to_json(self) -> dict[str, Any]:
        return {"upid": self.upid, "log": self.log, "endtime": self.endtime,
                "warnings": self.warnings}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        parts = decode_upid(data["upid"])
        if parts is None:
            raise ValueError(f"bad UPID in state: {data['upid']}")
        task = cls(upid=data["upid"], node=parts["node"], pid=parts["pid"],
                   pstart=parts["pstart"], starttime=parts["starttime"], type=parts["type"],
                   id=parts["id"], user=parts["user"], log=list(data.get("log", [])),
                   endtime=data.get("endtime"), warnings=int(data.get("warnings", 0)))
        if task.running:
            # The process that ran it is gone: PVE shows such tasks as `unexpected status`.
            task.endtime = int(time.time())
            task.log.append(INTERRUPTED)
        return task


class TaskContext:
    """What a worker sees: its task, simulated time, the log, and fault injection."""

    def __init__(self, engine: TaskEngine, task: Task) -> None:
        self.engine = engine
        self.task = task
        self._wake = threading.Event()
        self.aborted = False

    @property
    def sim(self) -> Simulator:
        return self.engine.sim

    def log(self, line: str) -> None:
        with self.sim.lock:
            self.task.log.extend(line.split("\n"))

    def warn(self, line: str) -> None:
        self.log(f"WARN: {line}")
        self.task.warnings += 1

    def sleep(self, seconds: float) -> None:
        """Pass simulated time; stopping the task interrupts it."""
        if seconds > 0 and not self.engine.fast_forward:
            self._wake.wait(seconds)
        if self.aborted:
            raise TaskAborted()

    def phase(self, share: float = 1.0) -> None:
        """Sleep `share` of this task type's configured duration."""
        self.sleep(self.sim.settings.task_duration(self.task.type) * share)

    def fault(self) -> bool:
        """True when settings.faults.task_failure says this task should fail now."""
        rate = self.sim.settings.faults.task_failure.get(self.task.type, 0.0)
        return rate > 0 and self.sim.rng.random() < rate

    def abort(self) -> None:
        self.aborted = True
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()


Worker = Callable[[TaskContext], None]


class TaskEngine:
    """All tasks of the cluster, running and finished, per node."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.tasks: dict[str, Task] = {}
        self.contexts: dict[str, TaskContext] = {}
        self.threads: dict[str, threading.Thread] = {}
        self.fast_forward = False
        self._last_pid = 0
        self.dirty: set[str] = set()  # UPIDs to (re)write or, if gone, delete on commit
        self._finished: dict[str, list[Task]] = {}  # node -> finished tasks, oldest first

    def _new_pid(self) -> int:
        pid = self.sim.rng.randint(2000, 4_000_000)
        while pid == self._last_pid:
            pid += 1
        self._last_pid = pid
        return pid

    def start(self, node: str, kind: str, wid: str, user: str, work: Worker) -> str:
        """Fork a worker (caller holds sim.lock) and return its UPID."""
        now = time.time()
        boot = self.sim.nodes[node].boot_time
        pid = self._new_pid()
        pstart = max(1, int((now - boot) * 100))
        upid = encode_upid(node, pid, pstart, int(now), kind, wid, user)
        while upid in self.tasks:
            pid = self._new_pid()
            upid = encode_upid(node, pid, pstart, int(now), kind, wid, user)
        task = Task(upid=upid, node=node, pid=pid, pstart=pstart, starttime=int(now), type=kind,
                    id=wid, user=user)
        self.tasks[upid] = task
        self.dirty.add(upid)
        ctx = TaskContext(self, task)
        self.contexts[upid] = ctx
        thread = threading.Thread(target=self._run, args=(ctx, work), name=f"task-{kind}-{wid}",
                                  daemon=True)
        self.threads[upid] = thread
        thread.start()
        return upid

    def _run(self, ctx: TaskContext, work: Worker) -> None:
        task = ctx.task
        try:
            work(ctx)
        except TaskError as exc:
            final = f"TASK ERROR: {_one_line(str(exc))}"
        except Exception as exc:  # a bug in a worker still ends the task like PVE would
            final = f"TASK ERROR: {_one_line(str(exc)) or type(exc).__name__}"
        else:
            final = f"TASK WARNINGS: {task.warnings}" if task.warnings else "TASK OK"
        with self.sim.lock:
            task.log.append(final)
            task.endtime = int(time.time())
            self.contexts.pop(task.upid, None)
            self.threads.pop(task.upid, None)
            self.dirty.add(task.upid)
            self._retire(task)
            self.sim.commit()

    def _retire(self, task: Task) -> None:
        """Keep the newest KEEP_FINISHED finished tasks per node, in constant time."""
        finished = self._finished.setdefault(task.node, [])
        finished.append(task)
        while len(finished) > KEEP_FINISHED:
            old = finished.pop(0)
            if self.tasks.get(old.upid) is old:
                del self.tasks[old.upid]
                self.dirty.add(old.upid)

    def stop(self, upid: str) -> None:
        ctx = self.contexts.get(upid)
        if ctx is not None:
            ctx.abort()

    def running_for(self, vmid: int, kind: str | None = None) -> list[Task]:
        return [t for t in self.tasks.values()
                if t.running and t.id == str(vmid) and (kind is None or t.type == kind)]

    def finish_all(self, timeout: float = 10.0) -> None:
        """Let running tasks complete at once (close/save before exit), then join them."""
        self.fast_forward = True
        for ctx in list(self.contexts.values()):
            ctx.wake()
        deadline = time.monotonic() + timeout
        for thread in list(self.threads.values()):
            thread.join(max(0.0, deadline - time.monotonic()))

    def to_json(self) -> list[dict[str, Any]]:
        return [t.to_json() for t in sorted(self.tasks.values(), key=lambda t: t.starttime)]

    def load(self, items: list[dict[str, Any]]) -> None:
        loaded = sorted((Task.from_json(item) for item in items),
                        key=lambda t: (t.starttime, t.upid))
        for task in loaded:
            if task.upid in self.tasks:
                continue
            self.tasks[task.upid] = task
            if task.log and task.log[-1] == INTERRUPTED:
                self.dirty.add(task.upid)  # record the restart's verdict on disk
            self._retire(task)


def _one_line(text: str) -> str:
    return text.strip().replace("\n", " ")
