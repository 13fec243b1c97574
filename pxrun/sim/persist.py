"""Saving and loading the simulator's state as one JSON document.

Why a single `state.json` rewritten atomically (temp file + rename) on every committed
change: `pxrun --sim plan` and `pxrun --sim apply` are separate processes, so a change must
be on disk when its API call returns, and a reader must never see a half-written file.
The model is small (a few KiB per container), so a full rewrite is cheap and simple.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pxrun.sim.cluster import Bridge, Node, Pool, Storages
from pxrun.sim.containers import Container

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

STATE_FILE = "state.json"
FORMAT_VERSION = 1


def exists(state_dir: Path) -> bool:
    return (state_dir / STATE_FILE).is_file()


def dump(sim: Simulator) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "cluster_name": sim.cluster_name,
        "nodes": [asdict(n) for n in sim.nodes.values()],
        "storages": sim.storages.to_json(),
        "bridges": {node: [asdict(b) for b in items] for node, items in sim.bridges.items()},
        "containers": [ct.to_json() for ct in sorted(sim.containers.values(),
                                                     key=lambda c: c.vmid)],
        "pools": [asdict(p) for p in sim.pools.values()],
        "dhcp": sim.dhcp.leases,
        "tasks": sim.tasks.to_json(),
    }


def save(sim: Simulator, state_dir: Path) -> None:
    """Serialise under the caller's lock and replace the file atomically."""
    text = json.dumps(dump(sim), separators=(",", ":"), sort_keys=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / STATE_FILE
    tmp = path.with_name(f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load_into(sim: Simulator, state_dir: Path) -> None:
    data = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported state format {data.get('format')!r}")
    sim.cluster_name = data.get("cluster_name", sim.cluster_name)
    sim.nodes = {n["name"]: Node(**n) for n in data["nodes"]}
    sim.storages = Storages.from_json(data["storages"])
    sim.bridges = {node: [Bridge(**b) for b in items]
                   for node, items in data.get("bridges", {}).items()}
    sim.containers = {}
    for item in data.get("containers", []):
        ct = Container.from_json(item)
        sim.containers[ct.vmid] = ct
    sim.pools = {p["poolid"]: Pool(**p) for p in data.get("pools", [])}
    sim.dhcp.leases = {k: dict(v) for k, v in data.get("dhcp", {}).items()}
    sim.tasks.load(data.get("tasks", []))
