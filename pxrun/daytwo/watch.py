"""`pxrun watch`'s loop: every interval, check drift; with `--apply`, reconcile.

One cycle: load the spec (it may have changed in git) -> hold or seek the stack lock (only
with --apply) -> observe and report drift -> track unreachable nodes -> if this watcher
holds the lock, reconcile what the policy allows -> records, log events, metrics.

Safety, in the order it matters:
- A node that stops answering makes its containers unknown; nothing is deleted, recreated
  or moved because of it. After `node_timeout` the watcher raises the alert; only
  containers that opted in (`on_node_lost: recreate`) are recreated, and only as
  `pxrun.plan.nodelost` allows. When the lost node answers again, the old copy of a
  recreated container is stale: the plan removes it, this loop only with --allow delete.
- Two watchers of one stack are active/passive through the stack lock in the cluster
  (`pxrun.apply.stacklock`): the holder acts; the other observes, reports and serves
  metrics, and takes over when the lock expires. No other coordination service.
- `stop` (SIGTERM/SIGINT in the CLI) lets the running step finish, then the lock is
  released. Waiting between cycles is `stop.wait`, so a stop is never delayed by a sleep.

Time comes from an injected wall clock, so tests move a node outage past its timeout or a
lock past its expiry without waiting; durations are measured with the real monotonic clock.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pxrun.apply.stacklock import DEFAULT_TTL, LockHeldError, StackLock
from pxrun.connect.client import ProxmoxClient
from pxrun.daytwo.check import Check, Desired, Memo, check_drift
from pxrun.daytwo.drift import iso
from pxrun.daytwo.metrics import CheckOutcome, WatchMetrics
from pxrun.daytwo.nodes import NodeTracker
from pxrun.daytwo.reconcile import Acted, ActOptions, category, diff_values, reconcile
from pxrun.daytwo.records import Record, Records
from pxrun.errors import ApiError, PxrunError
from pxrun.plan.nodelost import NodeLostDecision

Emit = Callable[[dict[str, Any]], None]
STANDARD = ("stack", "container", "node", "operation", "error")


@dataclass(frozen=True)
class WatchOptions:
    """How the loop runs. Times in seconds."""

    interval: float = 300.0
    jitter: float = 0.1  # each wait is interval * (1 + jitter * U[0, 1))
    apply: bool = False
    act: ActOptions = field(default_factory=ActOptions)
    node_timeout: float = 300.0
    lock_ttl: float = DEFAULT_TTL
    renew_in_background: bool = True  # renew the lock during a long apply
    max_cycles: int | None = None


class Watcher:
    """The reconcile loop for one stack. `load` returns the spec as loaded now."""

    def __init__(self, client: ProxmoxClient, load: Callable[[], Desired],
                 options: WatchOptions, *, emit: Emit, stack: str,
                 clock: Callable[[], float] = time.time, owner: str | None = None,
                 stop: threading.Event | None = None, rng: random.Random | None = None) -> None:
        self.client, self.load, self.options, self.emit = client, load, options, emit
        self.stack, self.clock, self.owner = stack, clock, owner
        self.stop = stop or threading.Event()
        self.rng = rng or random.Random()
        self.metrics = WatchMetrics(stack)
        self.records = Records()
        self.memo = Memo()  # configs parsed and plans made last cycle, reused if unchanged
        self.nodes = NodeTracker(options.node_timeout)
        self.lock: StackLock | None = None
        self.active = False
        self.cycles = 0
        self.last_ok: float | None = None
        self._names: dict[int, str] = {}  # vmid -> spec name, remembered across outages
        self._said: dict[str, Any] = {}  # what the records last said per container
        self._decided: set[tuple[str, int, bool]] = set()  # (node, vmid, recreate) logged
        self._stale: set[str] = set()  # stale copies already reported

    # -- events and records ----------------------------------------------------------------
    def say(self, event: str, **fields: Any) -> None:
        """One log event: time, event, the standard fields, then the event's own."""
        line = {"time": iso(self.clock()), "event": event,
                **{k: fields.pop(k, None) for k in STANDARD}, **fields}
        line["stack"] = line["stack"] or self.stack
        self.emit(line)

    def record(self, container: str | None, action: str, result: str, **fields: Any) -> None:
        rec = Record(time=iso(self.clock()), stack=self.stack, container=container,
                     action=action, result=result, **fields)
        self.records.add(rec)
        self.emit({"event": "record", **rec.to_json()})

    def _once(self, container: str, said: Any, action: str, result: str, **fields: Any) -> None:
        """Record only when what there is to say about `container` changed."""
        if self._said.get(container) != said:
            self._said[container] = said
            self.record(container, action, result, **fields)

    # -- health ----------------------------------------------------------------------------
    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while the last good check is younger than two intervals."""
        now = self.clock()
        age = None if self.last_ok is None else now - self.last_ok
        ok = age is not None and age < 2 * self.options.interval
        return ok, {"ok": ok, "stack": self.stack, "active": self.active,
                    "cycles": self.cycles, "last_check_age_seconds":
                    None if age is None else round(age, 3)}

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> None:
        """Cycle until stopped (or `max_cycles`); always release the lock at the end."""
        self.say("watch_started", interval=self.options.interval, apply=self.options.apply)
        try:
            while not self.stop.is_set():
                self.cycle()
                if self.options.max_cycles is not None and self.cycles >= self.options.max_cycles:
                    break
                wait = self.options.interval * (1 + self.options.jitter * self.rng.random())
                if self.stop.wait(wait):
                    break
        finally:
            self.close()
            self.say("watch_stopped", cycles=self.cycles)

    def close(self) -> None:
        if self.lock is not None and self.lock.held:
            self.lock.release()
            self.say("lock_released", operation="lock")
        self.active = False
        self.metrics.active.labels(self.stack).set(0)

    def cycle(self) -> Check | None:
        """One reconcile. Never raises for a cluster or spec problem: it is logged,
        recorded and counted, and the next cycle tries again."""
        now, ticks, cpu = self.clock(), time.perf_counter(), time.process_time()
        self.cycles += 1
        check: Check | None = None
        try:
            desired = self.load()
            self.stack = desired.stack.stack
            self.active = self._lease() if self.options.apply else False
            check = check_drift(self.client, desired, facts=self.active, clock=self.clock,
                                memo=self.memo)
            self._track(check, now)
            self._report_stale(check)
            acted: list[Acted] = []
            if self.active and not self.stop.is_set():
                acted, decisions = reconcile(
                    self.client, desired, check, lost=self.nodes.lost(), names=self._names,
                    options=self.options.act, stop=self.stop, say=self.say, at=iso(now))
                self._log_decisions(decisions)
            self._record_drift(check, acted)
        except PxrunError as exc:
            seconds = time.perf_counter() - ticks
            self.say("check_failed", operation="check", error=exc.message)
            self.record(None, "check", "failed", error=exc.message, duration=round(seconds, 3))
            self.metrics.cycle(CheckOutcome(stack=self.stack, success=False, checked_at=now,
                                            duration=seconds), ok=False, seconds=seconds)
            return None
        finally:
            self.metrics.active.labels(self.stack).set(1 if self.active else 0)
            self.metrics.checks.set_nodes(self.stack, self.nodes.states(self.clock()))
        seconds = time.perf_counter() - ticks
        report = check.report
        self.last_ok = self.clock()
        result = "in sync" if not report.drifted else \
            f"drift: {report.summary.drifted_containers} containers"
        self.record(None, "check", result, duration=round(seconds, 3))
        self.metrics.cycle(CheckOutcome(stack=self.stack, success=True, checked_at=now,
                                        duration=seconds, report=report), ok=True,
                           seconds=seconds)
        # CPU seconds of this process (all threads): what the cycle costs us, whatever
        # else the machine is doing; `seconds` is the wall time.
        self.say("cycle_finished", seconds=round(seconds, 3),
                 cpu_seconds=round(time.process_time() - cpu, 3), active=self.active,
                 drifted=report.summary.drifted_containers, unknown=report.summary.unknown,
                 cycle=self.cycles)
        return check

    # -- the parts -------------------------------------------------------------------------
    def _lease(self) -> bool:
        """Hold the stack lock (renew it) or try to take it; True when this watcher acts."""
        if self.lock is not None and self.lock.stack != self.stack:
            self.close()
            self.lock = None
        if self.lock is None:
            self.lock = StackLock(self.client, self.stack, owner=self.owner,
                                  ttl=self.options.lock_ttl, clock=self.clock,
                                  background=self.options.renew_in_background,
                                  on_warning=lambda m: self.say("lock_warning",
                                                                operation="lock", error=m))
        was = self.active
        try:
            if self.lock.held:
                if self.lock.renew():
                    return True
                self.say("lock_lost", operation="lock",
                         error="another holder has the stack lock now: passive")
                return False
            self.lock.acquire(timeout=0)
            self.say("lock_acquired", operation="lock", owner=self.lock.info.owner)
            return True
        except LockHeldError as exc:
            if was or self.cycles == 1:
                self.say("passive", operation="lock", error=exc.message)
            return False
        except ApiError as exc:
            self.say("lock_error", operation="lock", error=exc.message)
            return False

    def _track(self, check: Check, now: float) -> None:
        observed = check.observed
        self._names.update({oc.vmid: name for name, oc in observed.containers.items()})
        held: dict[str, list[str]] = {}
        for guest in observed.unknown:
            held.setdefault(guest.node, []).append(
                self._names.get(guest.vmid) or guest.name or str(guest.vmid))
        down = {n for n, info in observed.nodes.items() if not info.online} | set(held)
        for event in self.nodes.update(down, held, now):
            if event.kind == "reconnected":  # a later outage is decided and logged anew
                self._decided = {d for d in self._decided if d[0] != event.node}
            if event.kind == "timeout_exceeded":
                self.metrics.alerts.labels(self.stack, event.node).inc()
            for name in event.containers or (None,):
                self.say(f"node_{event.kind}", container=name, node=event.node,
                         operation="observe", seconds=round(event.seconds, 3),
                         error=f"node {event.node} is not answering"
                         if event.kind != "reconnected" else None)
                if name is not None:
                    result = {"disconnected": f"unknown: node {event.node} is not answering; "
                                              "nothing is done",
                              "timeout_exceeded": f"alert: node {event.node} unreachable for "
                                                  f"{event.seconds:.0f} s",
                              "reconnected": f"known again: node {event.node} answers; "
                                             "nothing was done meanwhile"}[event.kind]
                    self._said.pop(name, None)
                    self.record(name, "none", result, node=event.node)

    def _report_stale(self, check: Check) -> None:
        """An event (an alert for the log) the first time each stale copy is seen: an old
        copy of a recreated container whose node answers again. The plan removes it; this
        watcher does so only with --allow delete (the record says when it is withheld)."""
        now = {c.address: c for c in check.report.containers if c.kind == "stale"}
        for address in sorted(now.keys() - self._stale):
            item = now[address]
            removes = self.active and "delete" in self.options.act.allow
            self.say("stale_copy", container=address, node=item.node, operation="observe",
                     vmid=item.vmid, reason=item.reason,
                     action="delete" if removes else "alert only: --allow does not include "
                     "delete" if self.active else "alert only: this watcher is passive")
        self._stale = set(now)

    def _log_decisions(self, decisions: tuple[NodeLostDecision, ...]) -> None:
        for d in decisions:
            if (d.node, d.vmid, d.recreate) in self._decided:
                continue
            self._decided.add((d.node, d.vmid, d.recreate))
            self.say("node_lost_decision", container=d.address, node=d.node,
                     operation="recreate" if d.recreate else "alert", reason=d.reason,
                     vmid=d.vmid)

    def _record_drift(self, check: Check, acted: list[Acted]) -> None:
        done = {a.change.address for a in acted}
        for item in acted:
            desired, observed = diff_values(item.change)
            result = item.outcome + (f": {item.error}" if item.error else "")
            self._said.pop(item.change.address, None)
            if item.outcome != "withheld":
                self.metrics.actions.labels(self.stack, category(item.change.action),
                                            item.outcome).inc()
            self._once(item.change.address, ("acted", item.outcome, item.change.reason),
                       category(item.change.action), result, desired=desired,
                       observed=observed, duration=round(item.seconds, 3),
                       node=item.node or item.change.node, error=item.error or None)
        drifted = {c.address: c for c in check.report.containers}
        for address, found in drifted.items():
            if address in done:
                continue
            fields = tuple((f.path, repr(f.cluster), f.pending) for f in found.fields)
            pending = any(f.pending for f in found.fields)
            self._once(address, ("drift", found.kind, fields), "none",
                       f"drift ({found.kind}{', pending restart' if pending else ''})",
                       desired={f.path: f.spec for f in found.fields},
                       observed={f.path: f.cluster for f in found.fields}, node=found.node)
        unknown = {self._names.get(g.vmid) for g in check.observed.unknown}
        for address in [a for a, s in self._said.items() if isinstance(s, tuple)]:
            if address not in drifted and address not in done and address not in unknown:
                self._once(address, None, "none", "in sync")
