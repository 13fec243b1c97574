"""The simulated cluster's state: nodes, storages, containers, pools, tasks, DHCP leases.

Why one object with one lock: Proxmox serialises config changes through per-file locks and
pmxcfs; a single re-entrant lock over the whole model gives the same "one writer at a time"
guarantee with no lock-ordering puzzles. Handlers and task workers hold it briefly; task
workers sleep (simulated duration) without it.

Durability: once `save(state_dir)` has claimed a state directory (or `load` attached one and
`claim()` took it), every mutation ends with `commit()`, which appends the changed objects to
the directory's journal before the API call returns (persist.py, spec 0025), so a second process
(`pxrun --sim apply` after `plan`) sees it. Only the process holding the directory's lock
writes (statelock.py).
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
    default_bridges,
    default_storages,
)
from pxrun.sim.containers import Container, config_missing
from pxrun.sim.settings import SimSettings
from pxrun.sim.statelock import StateLock
from pxrun.sim.storages import Storages
from pxrun.sim.tasks import TaskEngine
from pxrun.sim.volfiles import VolumeFiles

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
        self.dirty: set[int] = set()  # containers changed since the last commit
        self.containers: dict[int, Container] = ContainerMap(self.dirty)
        self.pools: dict[str, Pool] = {}
        self.dhcp = Dhcp()
        self.tasks = TaskEngine(self)
        # Cluster-wide configuration of the newer areas (HA, backup jobs, firewall, ...), as
        # plain JSON data kept in cluster.json; each area's module owns its key.
        self.extra: dict[str, Any] = {}
        self.state_dir: Path | None = None
        self.closed = False
        self.needs_full_save = False
        self._store: persist.Store | None = None
        self._lock_file: StateLock | None = None

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
    def load(cls, state_dir: Path, settings: SimSettings | None = None, *,
             claim: bool = False) -> Simulator:
        """Read a state directory (settings from settings.json unless given).

        Loading only reads. The first commit (or `claim=True`, or `claim()`) takes the
        directory's lock; a second process gets `statelock.StateBusy`.
        """
        state_dir = Path(state_dir)
        settings = settings or SimSettings.load(state_dir / "settings.json")
        sim = cls(settings)
        store = persist.Store(state_dir)
        store.load_into(sim)
        sim.state_dir = state_dir
        sim._store = store
        if claim:
            sim.claim()
        return sim

    def claim(self) -> None:
        """Take the state directory's lock: from now on this process writes it."""
        if self.state_dir is None:
            return
        if self._lock_file is None:
            self._lock_file = StateLock(self.state_dir)
        self._lock_file.acquire()
        self.storages.files = VolumeFiles(self.state_dir)
        if self._store is None:
            self._store = persist.Store(self.state_dir)
        if self.needs_full_save:
            with self.lock:
                self._store.compact(self)
            self.needs_full_save = False

    @property
    def state_lock(self) -> StateLock | None:
        return self._lock_file

    def save(self, state_dir: Path | None = None) -> None:
        """Make the state durable. A new `state_dir` is claimed and written in full; the
        attached one only gets what changed since the last commit."""
        with self.lock:
            if state_dir is not None and Path(state_dir) != self.state_dir:
                if self._lock_file is not None:
                    self._lock_file.release()
                    self._lock_file = None
                self.state_dir = Path(state_dir)
                self._store = persist.Store(self.state_dir)
                self.needs_full_save = True
            if self.state_dir is None:
                return
            self.claim()
            assert self._store is not None
            self._store.flush(self)

    def commit(self) -> None:
        """Make a completed change durable (no-op for a purely in-memory simulator)."""
        if self.state_dir is None or self.closed:
            return
        with self.lock:
            if self._lock_file is None or not self._lock_file.held:
                self.claim()
            assert self._store is not None
            self._store.flush(self)

    def close(self) -> None:
        """Let running tasks finish at once, save what changed, release the directory."""
        self.tasks.finish_all()
        with self.lock:
            if self._lock_file is not None and self._lock_file.held:
                self.commit()
                assert self._store is not None
                if self._store.journal_bytes:
                    self._store.compact(self)  # the next start reads one file
            self.closed = True
            if self._store is not None:
                self._store.close()
            if self._lock_file is not None:
                self._lock_file.release()

    def extras_json(self) -> dict[str, Any]:
        return {"extra": self.extra} if self.extra else {}

    def load_extras(self, data: dict[str, Any]) -> None:
        self.extra = dict(data.get("extra") or {})

    def to_json(self) -> dict[str, Any]:
        return persist.dump_cluster(self)

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


class ContainerMap(dict[int, Container]):
    """`Simulator.containers`: adding a container connects it to the dirty set, removing
    one marks its vmid dirty, so a commit writes or deletes exactly its files."""

    def __init__(self, dirty: set[int]) -> None:
        super().__init__()
        self._dirty = dirty

    def __setitem__(self, vmid: int, ct: Container) -> None:
        super().__setitem__(vmid, ct)
        ct.attach(self._dirty)

    def __delitem__(self, vmid: int) -> None:
        super().__delitem__(vmid)
        self._dirty.add(vmid)

    def pop(self, vmid: int, *default: Any) -> Any:
        found = super().pop(vmid, *default)
        self._dirty.add(vmid)
        return found
