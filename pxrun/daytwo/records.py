"""Reconcile records: what the watcher saw and did, the last 100 kept for `/records`.

A record is written when something is worth a line: a cycle ended (container null, with
its counts), a container's drift appeared, changed or went away, a change was carried out
or withheld, a node's containers became unknown or came back. A bounded deque keeps memory
flat however long the watcher runs; every record also goes to the log as a JSON line.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

MAX_RECORDS = 100


@dataclass(frozen=True)
class Record:
    """One reconcile record. `desired` / `observed` are the spec's and the cluster's values
    of what differs (field path -> value), `action` what the watcher did (`none` when it
    only reports), `result` how that ended, `duration` its seconds."""

    time: str
    stack: str
    container: str | None
    action: str
    result: str
    desired: dict[str, Any] | None = None
    observed: dict[str, Any] | None = None
    duration: float = 0.0
    node: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Records:
    """The last `MAX_RECORDS` records, safe to read from the HTTP thread."""

    def __init__(self, size: int = MAX_RECORDS) -> None:
        self._items: deque[Record] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, record: Record) -> None:
        with self._lock:
            self._items.append(record)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_json() for r in self._items]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
