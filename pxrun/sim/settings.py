"""Simulator settings: behaviour knobs, latency and fault injection.

Why one dataclass: the same knobs come from `<state_dir>/settings.json`, from `pxrun sim serve`
flags and from tests, and the HTTP server, the cluster model and the SSH endpoint each read
their part of it. Reliability tests and benchmarks turn faults on; the defaults are a calm,
fast cluster.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Seconds a task of each type runs before it finishes (Proxmox's task `type` names).
DEFAULT_TASK_DURATIONS: dict[str, float] = {
    "vzcreate": 0.2,
    "vzdestroy": 0.1,
    "vzstart": 0.1,
    "vzstop": 0.05,
    "vzshutdown": 0.1,
    "vzreboot": 0.15,
    "resize": 0.05,
    "move_volume": 0.2,
    "vzmigrate": 0.3,
    "download": 0.3,
    "imgcopy": 0.2,
    "vzsnapshot": 0.1,
    "vzdelsnapshot": 0.1,
    "vzrollback": 0.15,
    "vzclone": 0.3,
    "vztemplate": 0.05,
    "vzdump": 0.3,
    "vzrestore": 0.3,
    # How long a node must stay unreachable before HA fences it and recovers its guests
    # (pve-ha-manager: about two minutes); scaled by time_scale like task durations.
    "hafence": 120.0,
}


@dataclass
class Faults:
    """Injected trouble. Rates are shares in [0, 1]; 0 means never."""

    latency_ms: float = 0.0  # added to every API request
    jitter_ms: float = 0.0  # uniform extra latency in [0, jitter_ms]
    error_rate: float = 0.0  # share of requests answered with a random transient 5xx
    lock_contention: float = 0.0  # share of config writes failing with "got timeout"
    task_failure: dict[str, float] = field(default_factory=dict)  # task type -> failure share
    offline_nodes: list[str] = field(default_factory=list)  # nodes answering as unreachable


@dataclass
class SimSettings:
    """Everything about how the simulator behaves, persisted as settings.json in its state dir."""

    pve_version: str = "9.1"  # "9.1" or "8.4": /version, create defaults, dev[n] hot-plug
    concurrency: int = 8  # server-side worker limit, like pveproxy's small pool
    task_durations: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TASK_DURATIONS))
    time_scale: float = 1.0  # multiplies every task duration; 0 finishes tasks at once
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None  # makes random faults, MACs and DHCP leases repeatable
    resources_lag: float = 0.0  # seconds /cluster/resources shows a guest's old power state
    # Seconds every 401 is held back. Real pveproxy waits ~3 s (brute-force brake); 0 keeps
    # tests fast, `pxrun sim serve --realistic` style setups may set 3.
    auth_fail_delay: float = 0.0

    def task_duration(self, task_type: str) -> float:
        return self.task_durations.get(task_type, 0.1) * self.time_scale

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimSettings:
        data = dict(data)
        faults = Faults(**data.pop("faults", {}))
        durations = dict(DEFAULT_TASK_DURATIONS)
        durations.update(data.pop("task_durations", {}))
        return cls(faults=faults, task_durations=durations, **data)

    @classmethod
    def load(cls, path: Path) -> SimSettings:
        if not path.is_file():
            return cls()
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
