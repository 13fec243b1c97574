"""The simulated cluster's state: nodes, storages, containers, pools, tasks, DHCP leases.

Why one object with one lock: Proxmox serialises config changes through per-file locks and
pmxcfs; a single re-entrant lock over the whole model gives the same "one writer at a time"
guarantee with no lock-ordering puzzles. Handlers and task workers hold it briefly; task
workers sleep (simulated duration) without it.

Durability: once `save(state_dir)` (or `load`) has attached a state directory, every
mutation ends with `commit()`, which writes `state.json` atomically before the API call
returns, so a second process (`pxrun --sim apply` after `plan`) sees it.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

from pxrun.sim import persist
from pxrun.sim.api import fail
from pxrun.sim.cluster import (
    GIB,
    Bridge,
    Dhcp,
    Node,
    Pool,
    Storages,
    default_bridges,
    default_storages,
)
from pxrun.sim.containers import Container, config_missing
from pxrun.sim.settings import SimSettings
from pxrun.sim.tasks import TaskEngine

CLUSTER_NAME = "pxrun-sim"


class Simulator:
    """The whole simulated cluster. Handlers hold `lock` while they read or change it."""

    def __init__(self, settings: SimSettings | None = None, *, seed: int | None = None) -> None:
        self.lock = threading.RLock()
        self.settings = settings or SimSettings()
        seed = seed if seed is not None else self.settings.seed
        self.rng = random.Random(seed)
        self.cluster_name = CLUSTER_NAME
        self.nodes: dict[str, Node] = {}
        self.storages = Storages()
        self.bridges: dict[str, list[Bridge]] = {}
        self.containers: dict[int, Container] = {}
        self.pools: dict[str, Pool] = {}
        self.dhcp = Dhcp()
        self.tasks = TaskEngine(self)
        self.state_dir: Path | None = None
        self.closed = False

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def create_default(cls, settings: SimSettings | None = None, *,
                       seed: int | None = None) -> Simulator:
        """Three nodes pve1..pve3 with local, local-lvm and a shared NFS storage."""
        sim = cls(settings, seed=seed)
        specs = [("pve1", 16, 64), ("pve2", 16, 64), ("pve3", 8, 32)]
        for i, (name, cpus, mem_gib) in enumerate(specs, start=1):
            sim.nodes[name] = Node(name=name, cpus=cpus, maxmem=mem_gib * GIB,
                                   base_mem=(2 + i) * GIB, nodeid=i, ip=f"10.20.0.{i + 1}")
        names = list(sim.nodes)
        sim.storages = default_storages(names)
        sim.bridges = default_bridges(names)
        return sim

    @staticmethod
    def exists(state_dir: Path) -> bool:
        return persist.exists(Path(state_dir))

    @classmethod
    def load(cls, state_dir: Path, settings: SimSettings | None = None) -> Simulator:
        """Read `<state_dir>/state.json` (settings from settings.json unless given)."""
        state_dir = Path(state_dir)
        settings = settings or SimSettings.load(state_dir / "settings.json")
        sim = cls(settings)
        persist.load_into(sim, state_dir)
        sim.state_dir = state_dir
        return sim

    def save(self, state_dir: Path | None = None) -> None:
        """Write the state atomically; also attaches `state_dir` for later commits."""
        with self.lock:
            if state_dir is not None:
                self.state_dir = Path(state_dir)
            if self.state_dir is None:
                return
            persist.save(self, self.state_dir)

    def commit(self) -> None:
        """Make a completed change durable (no-op for a purely in-memory simulator)."""
        if self.state_dir is not None and not self.closed:
            self.save()

    def close(self) -> None:
        """Let running tasks finish at once, save, and stop."""
        self.tasks.finish_all()
        with self.lock:
            self.commit()
            self.closed = True

    def to_json(self) -> dict[str, Any]:
        return persist.dump(self)

    # -- queries ---------------------------------------------------------------------------
    def node_online(self, name: str) -> bool:
        node = self.nodes.get(name)
        return bool(node and node.online and name not in self.settings.faults.offline_nodes)

    def container(self, vmid: int) -> Container | None:
        """The container with that vmid, wherever it lives (None if there is none)."""
        return self.containers.get(int(vmid))

    def ct_on(self, node: str, vmid: int) -> Container:
        """The container as `nodes/{node}/lxc/{vmid}.conf`; the PVE error if not there."""
        ct = self.containers.get(vmid)
        if ct is None or ct.node != node:
            raise config_missing(node, vmid)
        return ct

    def mem_used(self, node: str) -> int:
        base = self.nodes[node].base_mem
        return base + sum(int(ct.conf.get("memory", "512")) * 1024**2
                          for ct in self.containers.values()
                          if ct.node == node and ct.running)

    def bridge(self, node: str, name: str) -> Bridge | None:
        return next((b for b in self.bridges.get(node, []) if b.iface == name), None)

    def pool_of(self, vmid: int) -> str | None:
        return next((p.poolid for p in self.pools.values() if vmid in p.vms), None)

    def lock_contention(self, vmid: int) -> None:
        """Fault: the config flock times out, as under heavy concurrent writes."""
        rate = self.settings.faults.lock_contention
        if rate > 0 and self.rng.random() < rate:
            raise fail(f"can't lock file '/run/lock/lxc/pve-config-{vmid}.lock' - got timeout")

    @property
    def pve9(self) -> bool:
        return not self.settings.pve_version.startswith("8")

    def uptime(self, node: str) -> int:
        return int(time.time() - self.nodes[node].boot_time)
