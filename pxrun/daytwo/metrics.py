"""Prometheus metrics of drift checks and reconciles, exposed with prometheus_client.

Why prometheus_client and not our own text: the exposition format has escaping, type and
help rules that node_exporter's textfile collector and Prometheus enforce; the library is
the reference implementation, writes the textfile atomically (`write_to_textfile`: a temp
file and a rename) and serves `/metrics`. Every metric is prefixed `pxrun_` and labelled
with the stack, so one node_exporter can collect several stacks' files.

The drift gauges come from a collector that reads the latest check (`CheckOutcome`) when
scraped, so a gauge can never go stale between a check and its metrics; the watch loop's
counters and histogram are ordinary prometheus_client metrics in the watcher's own registry.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pxrun.daytwo.drift import DriftReport

STATES = ("running", "stopped", "unknown")


@dataclass(frozen=True)
class CheckOutcome:
    """The last check of a stack: when, how long, whether it worked, and what it found
    (`report` None when it failed before a report existed)."""

    stack: str
    success: bool
    checked_at: float
    duration: float
    report: DriftReport | None = None


@dataclass(frozen=True)
class NodeState:
    """A node that is not answering, as the watcher tracks it."""

    node: str
    unreachable_seconds: float
    lost: bool  # past --node-timeout: the alert


def _gauge(name: str, doc: str, labels: Sequence[str] = ("stack",)) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


class CheckCollector(Collector):
    """The drift gauges of the latest check (and the watcher's node alerts)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcome: CheckOutcome | None = None
        self._nodes: tuple[NodeState, ...] = ()
        self._stack = ""
        self._tracking_nodes = False  # only a watcher tracks nodes over time

    def update(self, outcome: CheckOutcome) -> None:
        with self._lock:
            self._outcome = outcome
            self._stack = outcome.stack

    def set_nodes(self, stack: str, nodes: Sequence[NodeState]) -> None:
        with self._lock:
            self._stack = stack
            self._nodes = tuple(nodes)
            self._tracking_nodes = True

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            outcome, nodes, stack = self._outcome, self._nodes, self._stack
            tracking = self._tracking_nodes
        if outcome is not None:
            yield from _check_metrics(outcome)
        if tracking:
            unreachable = _gauge("pxrun_node_unreachable_seconds",
                                 "Seconds a node has not answered (absent when it answers).",
                                 ("stack", "node"))
            lost = _gauge("pxrun_node_lost", "1 when a node has not answered for longer than "
                          "--node-timeout (alert).", ("stack", "node"))
            for item in nodes:
                unreachable.add_metric([stack, item.node], item.unreachable_seconds)
                lost.add_metric([stack, item.node], 1.0 if item.lost else 0.0)
            yield unreachable
            yield lost


def _check_metrics(outcome: CheckOutcome) -> Iterator[Metric]:
    stack = outcome.stack
    success = _gauge("pxrun_last_check_success", "1 when the last drift check succeeded.")
    success.add_metric([stack], 1.0 if outcome.success else 0.0)
    when = _gauge("pxrun_last_check_timestamp_seconds",
                  "Unix time of the last drift check.")
    when.add_metric([stack], outcome.checked_at)
    took = _gauge("pxrun_last_check_duration_seconds", "Seconds the last drift check took.")
    took.add_metric([stack], outcome.duration)
    yield from (success, when, took)
    report = outcome.report
    if report is None:
        return
    summary = report.summary
    managed = _gauge("pxrun_managed_containers",
                     "Containers of the stack by power state (unknown: node not answering).",
                     ("stack", "state"))
    for state, count in zip(STATES, (summary.running, summary.stopped, summary.unknown),
                            strict=True):
        managed.add_metric([stack, state], count)
    yield managed
    for name, doc, value in (
        ("pxrun_drifted_containers", "Containers that differ from the spec.",
         summary.drifted_containers),
        ("pxrun_drifted_fields", "Fields that differ from the spec, over all containers.",
         summary.drifted_fields),
        ("pxrun_pending_drift_containers",
         "Drifted containers whose drift waits for a restart (pending changes).",
         summary.pending_containers),
        ("pxrun_unknown_containers",
         "Containers on nodes that did not answer (state unknown).", summary.unknown),
        ("pxrun_offline_nodes", "Cluster nodes that did not answer.", summary.offline_nodes),
        ("pxrun_stale_copies", "Old copies of containers recreated after their node was "
         "lost, still on the cluster.", summary.stale_copies),
    ):
        gauge = _gauge(name, doc)
        gauge.add_metric([stack], value)
        yield gauge


def write_textfile(path: Path, outcome: CheckOutcome) -> None:
    """The check as a Prometheus textfile, written atomically (node_exporter never reads
    half a file)."""
    from prometheus_client import write_to_textfile

    registry = CollectorRegistry(auto_describe=False)
    collector = CheckCollector()
    collector.update(outcome)
    registry.register(collector)
    write_to_textfile(str(path), registry)


@dataclass
class WatchMetrics:
    """The watcher's registry: the drift gauges plus reconcile counts and durations."""

    stack: str
    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(
        auto_describe=False))

    def __post_init__(self) -> None:
        self.checks = CheckCollector()
        self.registry.register(self.checks)
        reg = self.registry
        self.reconciles = Counter("pxrun_reconciles", "Reconcile cycles by result (ok, failed).",
                                  ["stack", "result"], registry=reg)
        self.durations = Histogram("pxrun_reconcile_duration_seconds",
                                   "Seconds one reconcile cycle took.", ["stack"], registry=reg,
                                   buckets=(0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30, 60, 300))
        self.actions = Counter("pxrun_reconcile_actions",
                               "Changes the watcher carried out, by action and outcome.",
                               ["stack", "action", "outcome"], registry=reg)
        self.active = Gauge("pxrun_watch_active",
                            "1 while this watcher holds the stack lock and may act.",
                            ["stack"], registry=reg)
        self.alerts = Counter("pxrun_node_timeouts",
                              "Times a node stayed unreachable past --node-timeout.",
                              ["stack", "node"], registry=reg)
        for result in ("ok", "failed"):
            self.reconciles.labels(self.stack, result)
        self.active.labels(self.stack).set(0)

    def cycle(self, outcome: CheckOutcome, *, ok: bool, seconds: float) -> None:
        self.checks.update(outcome)
        self.reconciles.labels(self.stack, "ok" if ok else "failed").inc()
        self.durations.labels(self.stack).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
