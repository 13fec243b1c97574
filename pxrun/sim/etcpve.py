"""`/etc/pve` on the simulated nodes: the cluster file system, rendered read-only.

Why: scripts and tools on a real node read `/etc/pve/lxc/101.conf` (and
`/etc/pve/nodes/<node>/lxc/…`, `/etc/pve/storage.cfg`). Here the cluster model is the
truth, so each container's file is rendered from it (`Container.render()`, Proxmox's own
format) into one directory shared by every node view. On a real node `/etc/pve/lxc` and
`/etc/pve/local` point at that node's own folder: each node gets a small directory with
those two symlinks, and the shared `nodes/` mounted inside it.

Rendering is incremental (only files whose text changed are rewritten) and happens when a
node shell starts and after each `pct` command, so a shell sees its own `pct set` at once.
Writes through `/etc/pve` are refused (read-only bind): change configs through the API or
`pct set`, as the persistence of the model owns them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator


class EtcPve:
    """The rendered tree under `base`: `nodes/<node>/lxc/<vmid>.conf`, `storage.cfg`, and
    `view-<node>/` (what a node mounts at /etc/pve)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.nodes_dir = base / "nodes"
        self._written: dict[Path, str] = {}
        self._lock = threading.Lock()

    def view(self, node: str) -> Path:
        """The directory a node mounts at /etc/pve (its `nodes/` is the shared one)."""
        view = self.base / f"view-{node}"
        if not (view / "lxc").is_symlink():
            (view / "nodes").mkdir(parents=True, exist_ok=True)
            for name, target in (("lxc", f"nodes/{node}/lxc"), ("local", f"nodes/{node}"),
                                 ("storage.cfg", "nodes/.storage.cfg")):
                with contextlib.suppress(FileExistsError):
                    (view / name).symlink_to(target)
        return view

    def refresh(self, sim: Simulator) -> None:
        """Bring every file up to date with the model (rewriting only what changed)."""
        with sim.lock:
            wanted = {self.nodes_dir / node / "lxc" / f"{vmid}.conf": ct.render()
                      for vmid, ct in sim.containers.items()
                      for node in (ct.node,)}
            for node in sim.nodes:
                (self.nodes_dir / node / "lxc").mkdir(parents=True, exist_ok=True)
            wanted[self.nodes_dir / ".storage.cfg"] = sim.storages.config_text()
        with self._lock:
            for path, text in wanted.items():
                if self._written.get(path) != text:
                    _write(path, text)
                    self._written[path] = text
            for path in [p for p in self._written if p not in wanted]:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                del self._written[path]

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    tmp.replace(path)
