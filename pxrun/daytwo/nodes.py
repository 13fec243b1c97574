"""Which nodes stopped answering, since when, and when that became an alert.

A pure state machine over (observation, time): the watcher feeds it each cycle's offline
nodes and the unknown containers on them with the clock's time, and gets back the events
to log. The clock is the caller's, so tests move time by minutes without waiting for it.

- disconnected: a node answers no more (its containers are now unknown);
- reconnected: it answers again (nothing was done meanwhile unless it was lost and a
  container opted in to be recreated);
- timeout_exceeded: unreachable for longer than `timeout`: the alert, logged once per
  outage, and the point from which `lifecycle.on_node_lost: recreate` may act.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pxrun.daytwo.metrics import NodeState

NodeEventKind = Literal["disconnected", "reconnected", "timeout_exceeded"]


@dataclass(frozen=True)
class NodeEvent:
    kind: NodeEventKind
    node: str
    containers: tuple[str, ...]  # spec names (or vmids) of the containers on it
    seconds: float  # how long the node had been unreachable


class NodeTracker:
    """Outages per node: when each began and whether it was alerted."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._since: dict[str, float] = {}
        self._alerted: set[str] = set()
        self._containers: dict[str, tuple[str, ...]] = {}

    def update(self, unreachable: Iterable[str], containers: Mapping[str, Sequence[str]],
               now: float) -> list[NodeEvent]:
        """Feed one observation; the events it causes, in node order."""
        down = set(unreachable)
        events: list[NodeEvent] = []
        for node in sorted(down | set(self._since)):
            if node in down and containers.get(node):  # else keep what was last known
                self._containers[node] = tuple(containers[node])
            held = self._containers.get(node, ())
            if node in down and node not in self._since:
                self._since[node] = now
                events.append(NodeEvent("disconnected", node, held, 0.0))
            elif node not in down:
                began = self._since.pop(node)
                self._alerted.discard(node)
                self._containers.pop(node, None)
                events.append(NodeEvent("reconnected", node, held, now - began))
                continue
            seconds = now - self._since[node]
            if seconds >= self.timeout and node not in self._alerted:
                self._alerted.add(node)
                events.append(NodeEvent("timeout_exceeded", node, held, seconds))
        return events

    def lost(self) -> frozenset[str]:
        """Nodes unreachable for longer than the timeout (as of the last update)."""
        return frozenset(self._alerted)

    def states(self, now: float) -> list[NodeState]:
        return [NodeState(node=node, unreachable_seconds=now - since,
                          lost=node in self._alerted)
                for node, since in sorted(self._since.items())]
