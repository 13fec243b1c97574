"""`apply_plan`: run a Plan's changes as a DAG, in parallel within limits, through hooks.

Scheduling:
- each change with operations is one DAG node; `depends_on` orders them: a dependency is
  created/updated first, and — for changes that only delete — destroyed last (reverse
  order, as Terraform does);
- at most `parallelism` changes run at once, each in its own daemon worker thread; every
  API step also takes its node and storage slots (`limits.py`), so no node or storage sees
  more than its limit of concurrent lock-taking calls;
- a failed change skips everything that depends on it, and independent work goes on.

Ctrl-C (KeyboardInterrupt in the calling thread): the first stops scheduling — running
changes finish the operation (Proxmox task) they are in and stop; nothing new starts. A
second stops waiting: the summary says which changes were still running, and their Proxmox
tasks keep running on the cluster (pxrun never cancels a cluster task). Worker threads are
daemons so that an abandoned wait lets the process exit.

The engine takes a Plan and nothing else: it never re-plans or re-reads the spec.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pxrun.apply.context import ApplyOptions, Run, Shared
from pxrun.apply.hooks import Hook
from pxrun.apply.limits import Limiter
from pxrun.apply.steps import run_change
from pxrun.apply.summary import ApplySummary, ChangeResult, ordered
from pxrun.apply.vmid import VmidAllocator
from pxrun.errors import ApiError
from pxrun.plan.model import CreateContainer

if TYPE_CHECKING:
    from pxrun.connect.client import ProxmoxClient
    from pxrun.plan.model import Plan, ResourceChange


def runnable(plan: Plan) -> list[ResourceChange]:
    """The changes that do something (no-op and read changes have no operations)."""
    return [c for c in plan.changes if c.operations]


def _only_deletes(change: ResourceChange) -> bool:
    ops = {op.op for op in change.operations}
    return "delete" in ops and "create" not in ops


def dependencies(changes: Sequence[ResourceChange]) -> dict[str, set[str]]:
    """address -> the addresses that must finish first. Deletes run in reverse order."""
    present = {c.address: c for c in changes}
    deps: dict[str, set[str]] = {c.address: set() for c in changes}
    for change in changes:
        # A rolling replace waits for the replicas before it as for a dependency: one that
        # does not come up stops the roll.
        for target in (*change.depends_on, *change.roll_after):
            other = present.get(target)
            if other is None or other is change:
                continue
            if _only_deletes(change) and _only_deletes(other):
                deps[target].add(change.address)  # the dependent goes first
            elif not _only_deletes(change) and not _only_deletes(other):
                deps[change.address].add(target)
    return deps


def _fixed_vmids(changes: Sequence[ResourceChange]) -> list[int]:
    """The vmids the plan's creates ask for: never handed out to a create without one."""
    return [op.vmid for c in changes for op in c.operations
            if isinstance(op, CreateContainer) and op.vmid is not None]


def apply_plan(client: ProxmoxClient, plan: Plan, *, options: ApplyOptions | None = None,
               hook: Hook | None = None, stop: threading.Event | None = None) -> ApplySummary:
    """Carry out `plan`. Never raises for a failed change (see the summary); raises only
    when nothing could start (e.g. the cluster cannot be reached at all)."""
    options = options or ApplyOptions()
    hook = hook or Hook()
    started = time.monotonic()
    requests_before = _request_count(client)
    changes = runnable(plan)
    shared = Shared(client=client, hook=hook, options=options, stack=plan.stack,
                    limiter=Limiter(options.limits),
                    vmids=VmidAllocator(client, _fixed_vmids(changes)),
                    stop=stop or threading.Event(),
                    shared_storages=_shared_storages(client, options, changes))
    hook.apply_started(changes)
    scheduler = _Scheduler(shared, changes)
    results, interrupted, abandoned = scheduler.run()
    summary = ApplySummary(
        results=ordered(results, [c.address for c in changes]), interrupted=interrupted,
        abandoned=abandoned, seconds=time.monotonic() - started,
        requests=_delta(requests_before, _request_count(client)))
    hook.apply_finished(summary)
    return summary


class _Scheduler:
    """The DAG loop. Runs in the caller's thread; workers report through a queue."""

    def __init__(self, shared: Shared, changes: Sequence[ResourceChange]) -> None:
        self.shared = shared
        self.changes = {c.address: c for c in changes}
        self.order = [c.address for c in changes]
        self.deps = dependencies(changes)
        self.results: dict[str, ChangeResult] = {}
        self.running: dict[str, Run] = {}
        self.done: queue.Queue[ChangeResult] = queue.Queue()

    def run(self) -> tuple[list[ChangeResult], bool, bool]:
        interrupted = abandoned = False
        while True:
            try:
                if not self.shared.stop.is_set():
                    self._skip_blocked()
                    self._start_ready()
                elif not interrupted:
                    interrupted = True  # stopped from outside (a test, a signal handler)
                if not self.running:
                    break
                self._finish(self.done.get())
            except KeyboardInterrupt:
                if not interrupted:
                    interrupted = True
                    self.shared.stop.set()
                    self.shared.hook.interrupted(False)
                    continue
                abandoned = True
                self.shared.hook.interrupted(True)
                self._abandon()
                break
        self._close_unstarted()
        return list(self.results.values()), interrupted, abandoned

    def _ready(self) -> Iterable[str]:
        for address in self.order:
            if address in self.results or address in self.running:
                continue
            if all(d in self.results and self.results[d].outcome == "done"
                   for d in self.deps[address]):
                yield address

    def _node_of(self, address: str) -> str:
        change = self.changes[address]
        first = change.operations[0] if change.operations else None
        return str(getattr(first, "node", None) or getattr(first, "source", None)
                   or change.node or "")

    def _start_ready(self) -> None:
        # Prefer nodes with the least work in flight, so a worker does not sit waiting for
        # a node slot while another node idles (plan order breaks ties).
        busy: dict[str, int] = {}
        for running in self.running:
            busy[self._node_of(running)] = busy.get(self._node_of(running), 0) + 1
        ready = list(self._ready())
        ready.sort(key=lambda a: busy.get(self._node_of(a), 0))
        for address in ready:
            if len(self.running) >= max(1, self.shared.options.parallelism):
                return
            run = Run(shared=self.shared, change=self.changes[address])
            self.running[address] = run
            busy[self._node_of(address)] = busy.get(self._node_of(address), 0) + 1
            worker = threading.Thread(target=self._work, args=(run,), daemon=True,
                                      name=f"apply-{address}")
            worker.start()

    def _work(self, run: Run) -> None:
        try:
            result = run_change(run)
        except BaseException as exc:  # pragma: no cover - run_change catches everything
            result = ChangeResult(address=run.address, action=run.change.action.value,
                                  outcome="failed", error=f"{type(exc).__name__}: {exc}")
        self.done.put(result)

    def _finish(self, result: ChangeResult) -> None:
        self.running.pop(result.address, None)
        self.results[result.address] = result
        self.shared.hook.change_finished(result)

    def _skip_blocked(self) -> None:
        """Skip changes whose dependency failed or was skipped, transitively."""
        changed = True
        while changed:
            changed = False
            for address in self.order:
                if address in self.results or address in self.running:
                    continue
                bad = [d for d in sorted(self.deps[address]) if d in self.results
                       and self.results[d].outcome != "done"]
                if bad:
                    change = self.changes[address]
                    self._finish(ChangeResult(
                        address=address, action=change.action.value, outcome="skipped",
                        vmid=change.vmid, node=change.node,
                        error=f"not started: {bad[0]} did not complete"))
                    changed = True

    def _close_unstarted(self) -> None:
        """After a stop: every change that never started is reported as such."""
        for address in self.order:
            if address in self.results:
                continue
            run = self.running.get(address)
            change = self.changes[address]
            if run is not None:  # abandoned while running
                result = ChangeResult(
                    address=address, action=change.action.value, outcome="interrupted",
                    vmid=run.vmid, node=run.node, steps_done=tuple(run.steps_done),
                    error=f"still running when pxrun stopped waiting: {run.current or '?'} "
                          "(its Proxmox task continues on the cluster)",
                    warnings=tuple(run.warnings))
            else:
                result = ChangeResult(address=address, action=change.action.value,
                                      outcome="interrupted", vmid=change.vmid,
                                      node=change.node, error="not started (interrupted)")
            self.results[address] = result
            self.shared.hook.change_finished(result)

    def _abandon(self) -> None:
        """Second Ctrl-C: collect what already finished, leave the rest running."""
        while True:
            try:
                self._finish(self.done.get_nowait())
            except queue.Empty:
                return


def _shared_storages(client: ProxmoxClient, options: ApplyOptions,
                     changes: Sequence[ResourceChange]) -> frozenset[str]:
    """Which storages are shared (locked cluster-wide): one read, only when it matters."""
    if options.shared_storages is not None:
        return options.shared_storages
    if not any(op.op in ("create", "move_volume", "attach_mount")
               for c in changes for op in c.operations):
        return frozenset()
    try:
        items = client.get("cluster/resources", type="storage")
    except ApiError:
        return frozenset()
    return frozenset(str(i.get("storage")) for i in items if isinstance(i, Mapping)
                     and str(i.get("shared", "0")) in ("1", "True", "true"))


def _request_count(client: Any) -> int | None:
    count = getattr(client, "request_count", None)
    return count if isinstance(count, int) else None


def _delta(before: int | None, after: int | None) -> int | None:
    return after - before if before is not None and after is not None else None
