"""The simulator's state on disk: one file per object, written when that object changes.

Layout of a state directory (spec 0025):

    cluster.json                     nodes, storage.cfg, bridges, pools, HA, jobs, access ...
    nodes/<node>/lxc/<vmid>.conf     each container's config, in pve-container's own format
    run/<vmid>.json                  what the node knows about it: power state, pid, leases
    volumes/<vmid>.json, volumes/_.json   the volumes each vmid owns; unowned ones (templates)
    tasks/<node>/<UPID>.json         each task: its log and end time

Why: a change must be on disk when its API call returns (`pxrun --sim plan` and `apply` are
separate processes), a reader must never see a half-written file, and a change must cost
the same with 5 or 5,000 containers. Every file is replaced atomically (temp file +
rename); `commit()` writes only the containers, volume owners and tasks marked dirty, and
`cluster.json` only when its text changed. A container moving nodes is renamed from one
node's folder to the other's, as pmxcfs does.

A layout-1 directory (one `state.json`) is read once and rewritten in this layout.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pxrun.sim.cluster import Bridge, Node, Pool
from pxrun.sim.containers import Container
from pxrun.sim.storages import StorageDef, Storages

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

CLUSTER_FILE = "cluster.json"
LEGACY_FILE = "state.json"
FORMAT_VERSION = 2
_OWNERLESS = "_"


def exists(state_dir: Path) -> bool:
    return (state_dir / CLUSTER_FILE).is_file() or (state_dir / LEGACY_FILE).is_file()


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` by rename-over, so readers see the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def conf_path(state_dir: Path, node: str, vmid: int) -> Path:
    return state_dir / "nodes" / node / "lxc" / f"{vmid}.conf"


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


class Store:
    """Writes one simulator's changes into its state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.saved_conf: dict[int, tuple[Path, str]] = {}
        self.saved_run: dict[int, str] = {}
        self.saved_cluster = ""

    # -- whole state -------------------------------------------------------------------------
    def save_all(self, sim: Simulator) -> None:
        sim.dirty.update(sim.containers)
        sim.dirty.update(self.saved_conf)
        sim.storages.dirty_owners.update(sim.storages.owners())
        sim.tasks.dirty.update(sim.tasks.tasks)
        self.saved_cluster = ""
        self.flush(sim)
        _remove(self.state_dir / LEGACY_FILE)
        written = {path for path, _ in self.saved_conf.values()}
        written |= {self.state_dir / "run" / f"{vmid}.json" for vmid in self.saved_run}
        written |= {self.state_dir / "volumes" / f"{_OWNERLESS if o is None else o}.json"
                    for o in sim.storages.owners()}
        written |= {self.state_dir / "tasks" / u.split(":", 2)[1] / f"{u}.json"
                    for u in sim.tasks.tasks}
        for pattern in ("nodes/*/lxc/*.conf", "run/*.json", "volumes/*.json", "tasks/*/*.json"):
            for path in self.state_dir.glob(pattern):
                if path not in written:
                    _remove(path)

    def flush(self, sim: Simulator) -> None:
        """Write what changed since the last flush (caller holds `sim.lock`)."""
        while sim.dirty:
            vmid = sim.dirty.pop()
            ct = sim.containers.get(vmid)
            if ct is None:
                self._remove_ct(vmid)
            else:
                self._write_ct(sim, ct)
        storages = sim.storages
        while storages.dirty_owners:
            owner = storages.dirty_owners.pop()
            name = _OWNERLESS if owner is None else str(owner)
            items = storages.owner_json(owner)
            path = self.state_dir / "volumes" / f"{name}.json"
            if items:
                write_atomic(path, _dumps(items))
            else:
                _remove(path)
        text = _dumps(dump_cluster(sim))
        if text != self.saved_cluster:
            write_atomic(self.state_dir / CLUSTER_FILE, text)
            self.saved_cluster = text
        tasks = sim.tasks
        while tasks.dirty:
            upid = tasks.dirty.pop()
            task = tasks.tasks.get(upid)
            path = self.state_dir / "tasks" / upid.split(":", 2)[1] / f"{upid}.json"
            if task is None:
                _remove(path)
            else:
                write_atomic(path, _dumps(task.to_json()))

    def _write_ct(self, sim: Simulator, ct: Container) -> None:
        path = conf_path(self.state_dir, ct.node, ct.vmid)
        text = ct.render()
        saved = self.saved_conf.get(ct.vmid)
        if saved is not None and saved[0] != path:
            # Migrated: write the new text in place, then move the file between node folders.
            write_atomic(saved[0], text)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(saved[0], path)
        elif saved is None or saved[1] != text:
            write_atomic(path, text)
        self.saved_conf[ct.vmid] = (path, text)
        run = _dumps({**ct.run_json(), "leases": sim.dhcp.leases_of(ct)})
        if self.saved_run.get(ct.vmid) != run:
            write_atomic(self.state_dir / "run" / f"{ct.vmid}.json", run)
            self.saved_run[ct.vmid] = run

    def _remove_ct(self, vmid: int) -> None:
        saved = self.saved_conf.pop(vmid, None)
        if saved is not None:
            _remove(saved[0])
        self.saved_run.pop(vmid, None)
        _remove(self.state_dir / "run" / f"{vmid}.json")

    # -- loading -----------------------------------------------------------------------------
    def load_into(self, sim: Simulator) -> None:
        state_dir = self.state_dir
        if not (state_dir / CLUSTER_FILE).is_file():
            _load_legacy(sim, state_dir)
            return
        data = json.loads((state_dir / CLUSTER_FILE).read_text(encoding="utf-8"))
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported state format {data.get('format')!r}")
        load_cluster(sim, data)
        for folder in sorted((state_dir / "volumes").glob("*.json")):
            sim.storages.load_owner(json.loads(folder.read_text(encoding="utf-8")))
        sim.storages.dirty_owners.clear()
        leases: list[tuple[str, str, str]] = []
        for path in sorted(state_dir.glob("nodes/*/lxc/*.conf")):
            vmid, node = int(path.stem), path.parent.parent.name
            text = path.read_text(encoding="utf-8")
            run_path = state_dir / "run" / f"{vmid}.json"
            run = json.loads(run_path.read_text(encoding="utf-8")) if run_path.is_file() else {}
            ct = Container.from_files(vmid, node, text, run)
            ct.prev_status = ct.status
            sim.containers[vmid] = ct
            self.saved_conf[vmid] = (path, text)
            leases += [(b, mac, ip) for b, macs in (run.get("leases") or {}).items()
                       for mac, ip in macs.items()]
        for bridge, mac, ip in leases:
            sim.dhcp.leases.setdefault(bridge, {})[mac] = ip
        sim.dirty.clear()
        items = [json.loads(p.read_text(encoding="utf-8"))
                 for p in state_dir.glob("tasks/*/*.json")]
        sim.tasks.load(items)
        self.saved_cluster = (state_dir / CLUSTER_FILE).read_text(encoding="utf-8")


def dump_cluster(sim: Simulator) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "cluster_name": sim.cluster_name,
        "nodes": [asdict(n) for n in sim.nodes.values()],
        "storage_cfg": sim.storages.defs_json(),
        "bridges": {node: [asdict(b) for b in items] for node, items in sim.bridges.items()},
        "pools": [asdict(p) for p in sim.pools.values()],
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


def _load_legacy(sim: Simulator, state_dir: Path) -> None:
    """Layout 1: everything in one `state.json` (pxrun before spec 0025)."""
    data = json.loads((state_dir / LEGACY_FILE).read_text(encoding="utf-8"))
    if data.get("format") != 1:
        raise ValueError(f"unsupported state format {data.get('format')!r}")
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
