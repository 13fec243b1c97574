"""The simulator's state on disk: a snapshot plus a journal of changes (spec 0025).

    state.json      the whole state at the last compaction (containers as their `.conf` text)
    journal.jsonl   one line per commit since then: the new state of every object it changed

Why a journal: a change must be on disk when its API call answers (`pxrun --sim plan` and
`apply` are separate processes), must cost the same with 5 or 5,000 containers, and must
survive the process being killed. Appending one line is a single `write` of a few hundred
bytes; rewriting a file by rename costs 1.5-2.5 ms on ext4 (it forces the data out), so one
file per object made a 5,000-container build spend a minute in the filesystem alone.

A commit writes the full new state of each dirty object (containers, volume owners, tasks,
and the small cluster document when its text changed), so replaying a line twice is harmless.
A line cut short by a crash fails to parse and is ignored with everything after it. When the
journal outgrows the snapshot (at least 1 MiB), the snapshot is rewritten atomically (temp
file + rename) and the journal emptied: amortised constant cost per change. Loading reads the
snapshot and replays the journal. A layout-1 `state.json` (no journal, `format: 1`) is read
and converted at the first compaction.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pxrun.sim.cluster import Bridge, Node, Pool
from pxrun.sim.containers import Container
from pxrun.sim.storages import StorageDef, Storages

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

STATE_FILE = "state.json"
JOURNAL_FILE = "journal.jsonl"
FORMAT_VERSION = 2
MIN_COMPACT_BYTES = 1 << 20
_OWNERLESS = "_"


def exists(state_dir: Path) -> bool:
    return (state_dir / STATE_FILE).is_file()


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` by rename-over, so readers see the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def _owner_key(owner: int | None) -> str:
    return _OWNERLESS if owner is None else str(owner)


class Store:
    """The snapshot and journal of one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.saved_cluster = ""
        self.snapshot_bytes = 0
        self.journal_bytes = 0
        self._journal: int | None = None

    # -- writing -----------------------------------------------------------------------------
    def flush(self, sim: Simulator) -> None:
        """Append what changed since the last flush as one journal line (caller holds lock)."""
        record: dict[str, Any] = {}
        if sim.dirty:
            cts: dict[str, Any] = {}
            for vmid in sim.dirty:
                ct = sim.containers.get(vmid)
                cts[str(vmid)] = None if ct is None else container_json(sim, ct)
            sim.dirty.clear()
            record["cts"] = cts
        storages = sim.storages
        if storages.dirty_owners:
            record["vols"] = {_owner_key(o): storages.owner_json(o)
                              for o in storages.dirty_owners}
            storages.dirty_owners.clear()
        if sim.tasks.dirty:
            tasks = sim.tasks.tasks
            record["tasks"] = {upid: tasks[upid].to_json() if upid in tasks else None
                               for upid in sim.tasks.dirty}
            sim.tasks.dirty.clear()
        cluster = _dumps(dump_cluster(sim))
        if cluster != self.saved_cluster:
            record["cluster"] = json.loads(cluster)
            self.saved_cluster = cluster
        if not record:
            return
        line = (_dumps(record) + "\n").encode("utf-8")
        if self._journal is None:
            self._journal = os.open(self.state_dir / JOURNAL_FILE,
                                    os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(self._journal, line)
        self.journal_bytes += len(line)
        if self.journal_bytes > max(MIN_COMPACT_BYTES, self.snapshot_bytes):
            self.compact(sim)

    def compact(self, sim: Simulator) -> None:
        """Write the whole state as the new snapshot, then empty the journal."""
        sim.dirty.clear()
        sim.storages.dirty_owners.clear()
        sim.tasks.dirty.clear()
        cluster = dump_cluster(sim)
        text = _dumps({
            "format": FORMAT_VERSION,
            "cluster": cluster,
            "containers": {str(vmid): container_json(sim, ct)
                           for vmid, ct in sorted(sim.containers.items())},
            "volumes": {_owner_key(o): sim.storages.owner_json(o)
                        for o in sim.storages.owners()},
            "tasks": [t.to_json() for t in sorted(sim.tasks.tasks.values(),
                                                  key=lambda t: (t.starttime, t.upid))],
        })
        write_atomic(self.state_dir / STATE_FILE, text)
        self.saved_cluster = _dumps(cluster)
        self.snapshot_bytes = len(text)
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.truncate(self.state_dir / JOURNAL_FILE, 0)
        self.journal_bytes = 0

    def close(self) -> None:
        fd, self._journal = self._journal, None
        if fd is not None:
            os.close(fd)

    # -- loading -----------------------------------------------------------------------------
    def load_into(self, sim: Simulator) -> None:
        data = json.loads((self.state_dir / STATE_FILE).read_text(encoding="utf-8"))
        self.snapshot_bytes = (self.state_dir / STATE_FILE).stat().st_size
        if data.get("format") == 1:
            _load_legacy(sim, data)
            return
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported state format {data.get('format')!r}")
        cluster = data["cluster"]
        containers: dict[str, Any] = data.get("containers", {})
        volumes: dict[str, Any] = data.get("volumes", {})
        tasks: dict[str, Any] = {t["upid"]: t for t in data.get("tasks", [])}
        for record in self._journal_records():
            cluster = record.get("cluster", cluster)
            _merge(containers, record.get("cts", {}))
            _merge(volumes, record.get("vols", {}))
            _merge(tasks, record.get("tasks", {}))
        load_cluster(sim, cluster)
        for items in volumes.values():
            sim.storages.load_owner(items)
        sim.storages.dirty_owners.clear()
        for key, item in containers.items():
            ct = Container.from_files(int(key), item["node"], item["conf"], item["run"])
            sim.containers[ct.vmid] = ct
            for bridge, macs in (item["run"].get("leases") or {}).items():
                sim.dhcp.leases.setdefault(bridge, {}).update(macs)
        sim.dirty.clear()
        sim.tasks.load(list(tasks.values()))
        self.saved_cluster = _dumps(cluster)
        if self.journal_bytes:
            sim.needs_full_save = True  # fold the journal into a new snapshot when claimed

    def _journal_records(self) -> list[dict[str, Any]]:
        path = self.state_dir / JOURNAL_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        records = []
        for line in raw.split(b"\n"):
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                break  # cut short by a crash: this commit never completed
        self.journal_bytes = len(raw)
        return records


def _merge(into: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if value is None:
            into.pop(key, None)
        else:
            into[key] = value


def container_json(sim: Simulator, ct: Container) -> dict[str, Any]:
    return {"node": ct.node, "conf": ct.render(),
            "run": {**ct.run_json(), "leases": sim.dhcp.leases_of(ct)}}


def dump_cluster(sim: Simulator) -> dict[str, Any]:
    """The cluster document (compared on every commit, so built without `asdict`'s copies)."""
    return {
        "cluster_name": sim.cluster_name,
        "nodes": [vars(n) for n in sim.nodes.values()],
        "storage_cfg": [vars(d) for d in sim.storages.defs.values()],
        "bridges": {node: [vars(b) for b in items] for node, items in sim.bridges.items()},
        "pools": [vars(p) for p in sim.pools.values()],
        **sim.extras_json(),
    }


def load_cluster(sim: Simulator, data: dict[str, Any]) -> None:
    sim.cluster_name = data.get("cluster_name", sim.cluster_name)
    sim.nodes = {n["name"]: Node(**n) for n in data["nodes"]}
    sim.storages = Storages()
    for item in data.get("storage_cfg", []):
        sdef = StorageDef(**item)
        sim.storages.defs[sdef.id] = sdef
    sim.bridges = {node: [Bridge(**b) for b in items]
                   for node, items in data.get("bridges", {}).items()}
    sim.pools = {p["poolid"]: Pool(**p) for p in data.get("pools", [])}
    sim.load_extras(data)


def _load_legacy(sim: Simulator, data: dict[str, Any]) -> None:
    """Layout 1: one `state.json` rewritten on every change (pxrun before spec 0025)."""
    sim.cluster_name = data.get("cluster_name", sim.cluster_name)
    sim.nodes = {n["name"]: Node(**n) for n in data["nodes"]}
    sim.storages = Storages.from_json(data["storages"])
    sim.bridges = {node: [Bridge(**b) for b in items]
                   for node, items in data.get("bridges", {}).items()}
    for item in data.get("containers", []):
        ct = Container.from_json(item)
        sim.containers[ct.vmid] = ct
    sim.pools = {p["poolid"]: Pool(**p) for p in data.get("pools", [])}
    sim.dhcp.leases = {k: dict(v) for k, v in data.get("dhcp", {}).items()}
    sim.tasks.load(data.get("tasks", []))
    sim.needs_full_save = True
