"""Per-node and per-storage concurrency limits, so Proxmox's locks are never stormed.

The peers' most reported failure is `can't lock file ... got timeout` when many creates hit
one node or one storage at once (peers.md #1): Proxmox serialises config writes per guest
and volume allocation per storage behind flocks with a 10 s timeout. pxrun therefore holds a
slot of every resource an API step touches (its node, the storages it allocates on) for the
duration of that step, and no more: waiting for a DHCP lease holds nothing.

A local storage (LVM, ZFS, dir) is locked per node, so its key is `node/storage`; a shared
storage is locked cluster-wide, so its key is the storage alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The configured limits: steps at once per node and per storage (at least 1 each)."""

    node: int = 2
    storage: int = 2


def node_key(node: str) -> str:
    return f"node:{node}"


def storage_key(node: str, storage: str, shared: bool) -> str:
    return f"storage:{storage}" if shared else f"storage:{node}/{storage}"


class Limiter:
    """Counting slots per key; `acquire` takes all of a step's keys at once or waits.

    Taking every key atomically means no step ever holds one slot while waiting for
    another, so steps cannot deadlock each other.
    """

    def __init__(self, limits: Limits) -> None:
        self._limits = {"node": max(1, limits.node), "storage": max(1, limits.storage)}
        self._used: dict[str, int] = {}
        self._cond = threading.Condition()

    def _limit(self, key: str) -> int:
        return self._limits.get(key.split(":", 1)[0], 1)

    def _free(self, keys: Iterable[str]) -> bool:
        return all(self._used.get(k, 0) < self._limit(k) for k in keys)

    def acquire(self, keys: Iterable[str], cancelled: threading.Event | None = None) -> bool:
        """Take a slot of each key; False if `cancelled` was set while waiting."""
        wanted = sorted(set(keys))
        with self._cond:
            waited = False
            while not self._free(wanted):
                if cancelled is not None and cancelled.is_set():
                    return False
                # A stop is an Event, not this condition: look at it a few times a second.
                self._cond.wait(0.1 if cancelled is not None else None)
                waited = True
            if waited and cancelled is not None and cancelled.is_set():
                return False  # woken by a release after the stop: do not start
            for key in wanted:
                self._used[key] = self._used.get(key, 0) + 1
        return True

    def release(self, keys: Iterable[str]) -> None:
        with self._cond:
            for key in set(keys):
                left = self._used.get(key, 0) - 1
                if left > 0:
                    self._used[key] = left
                else:
                    self._used.pop(key, None)
            self._cond.notify_all()

    def busy(self) -> Mapping[str, int]:
        """Slots in use now (for tests and -v output)."""
        with self._cond:
            return dict(self._used)
