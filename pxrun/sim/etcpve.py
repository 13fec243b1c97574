"""`/etc/pve` on the simulated nodes: the cluster file system (pmxcfs), as files a root
shell on a node reads and writes.

Why: scripts and tools on a real node read `/etc/pve/lxc/101.conf`, and some settings
exist only there: raw `lxc.*` keys (cgroup device rules, mount entries, idmaps) can be set
by no API call, only by editing the file, which is the configuration itself (pmxcfs has no
other copy). Here the cluster model is the truth, so each container's file is rendered
from it (`Container.render()`, Proxmox's own format) into one directory shared by every
node view, and what a shell writes there is read back into the model: the API, `pct` and
the next shell all see the same text. On a real node `/etc/pve/lxc` and `/etc/pve/local`
point at that node's own folder: each node gets a small directory with those two links,
`storage.cfg`, and the shared `nodes/` mounted inside it (writable; the rest read-only).

When writes are read back (`sync`): before any `pct` command runs on a node, when a node
shell command ends, and before files are rendered again. A changed `<vmid>.conf` of an
existing container replaces that container's config (sections, keys, raw `lxc.*` lines),
wherever the file is (pmxcfs lets any node write any node's files); lines pve-container
could not parse are skipped with its warning (`vm 101 - unable to parse config: …`).
What pmxcfs refuses is refused: a config file for a vmid that exists on another node
(`File exists`, the vmid list is cluster-wide). Not modelled, and refused as well: a config
file for a new vmid (create containers with the API or `pct create`) and deleting one
(destroy them). Simulator limit: pmxcfs refuses at the write itself; here the refusal is
noticed when the command ends (or at the next `pct`), the file is put back and the
session's exit status becomes 1 with the message on stderr.

Rendering is incremental (only files whose text changed are rewritten) and happens when a
node shell starts and after each `pct` command, so a shell sees its own `pct set` at once.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pxrun.sim import conffile
from pxrun.sim.tracked import TrackedDict

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

_CONF_NAME = re.compile(r"^([1-9][0-9]{2,8})\.conf$")
_MAIN_EXTRA = frozenset({"parent"})  # main-section keys that are not options


@dataclass
class SyncReport:
    """What reading the shells' writes back found: warnings and refused writes."""

    messages: list[str] = field(default_factory=list)
    refused: bool = False


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What tells a file was replaced or written since we wrote it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class EtcPve:
    """The rendered tree under `base`: `nodes/<node>/lxc/<vmid>.conf` and `view-<node>/`
    (what a node mounts at /etc/pve: links, `storage.cfg`, and `nodes/` mounted in)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.nodes_dir = base / "nodes"
        self._written: dict[Path, str] = {}
        self._stamps: dict[Path, tuple[int, int, int] | None] = {}
        self._lock = threading.Lock()
        self._undelivered = SyncReport()

    def view(self, node: str) -> Path:
        """The directory a node mounts at /etc/pve (its `nodes/` is the shared one)."""
        view = self.base / f"view-{node}"
        if not (view / "lxc").is_symlink():
            (view / "nodes").mkdir(parents=True, exist_ok=True)
            for name, target in (("lxc", f"nodes/{node}/lxc"), ("local", f"nodes/{node}")):
                with contextlib.suppress(FileExistsError):
                    (view / name).symlink_to(target)
        return view

    def refresh(self, sim: Simulator, *, deliver: bool = True) -> SyncReport:
        """Read back what shells wrote, then bring every file up to date with the model
        (rewriting only what changed). Returns what reading back found (see `sync`)."""
        report = self.sync(sim, deliver=deliver)
        with sim.lock:
            wanted = {self._path(ct.node, vmid): ct.render()
                      for vmid, ct in sim.containers.items()}
            for node in sim.nodes:
                (self.nodes_dir / node / "lxc").mkdir(parents=True, exist_ok=True)
            storage_cfg = sim.storages.config_text()
            views = [self.base / f"view-{node}" for node in sim.nodes]
        with self._lock:
            for path, text in wanted.items():
                if self._written.get(path) != text or _stamp(path) != self._stamps.get(path):
                    self._write(path, text)
            for path in [p for p in self._written if p not in wanted]:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                del self._written[path]
                self._stamps.pop(path, None)
            for view in views:
                if view.is_dir() and _read(view / "storage.cfg") != storage_cfg:
                    _write(view / "storage.cfg", storage_cfg)
        return report

    def sync(self, sim: Simulator, *, deliver: bool = True) -> SyncReport:
        """Take what shells wrote under `nodes/*/lxc/` into the model (see the module).

        Returns what this and earlier undelivered syncs found, for the caller to report
        (a shell session); with `deliver=False` (a `pct` command inside that session) it
        is kept for the session's end and an empty report is returned."""
        report = SyncReport()
        with sim.lock, self._lock:
            if not self._written:  # nothing rendered yet: nothing a shell could have seen
                return self.take_undelivered() if deliver else SyncReport()
            changed = False
            for path, known in list(self._written.items()):
                if _stamp(path) == self._stamps.get(path):
                    continue
                text = _read(path)
                if text is None:
                    self._put_back(path, known, report, "deleting a container's config "
                                   "is not modelled by the simulator (destroy it with the "
                                   "API or `pct destroy`)")
                elif text != known:
                    changed |= self._take(sim, path, text, report)
                else:
                    self._stamps[path] = _stamp(path)
            for path in self._new_files():
                self._refuse_new(sim, path, report)
            if changed:
                sim.commit()
            self._undelivered.messages += report.messages
            self._undelivered.refused |= report.refused
            return self.take_undelivered() if deliver else SyncReport()

    def take_undelivered(self) -> SyncReport:
        """What earlier syncs found and nobody has reported yet (the caller reports it)."""
        found, self._undelivered = self._undelivered, SyncReport()
        return found

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    # -- internals --------------------------------------------------------------------------

    def _path(self, node: str, vmid: int) -> Path:
        return self.nodes_dir / node / "lxc" / f"{vmid}.conf"

    def _write(self, path: Path, text: str) -> None:
        _write(path, text)
        self._written[path] = text
        self._stamps[path] = _stamp(path)

    def _shown(self, path: Path) -> str:
        return "/etc/pve/" + path.relative_to(self.base).as_posix()

    def _new_files(self) -> list[Path]:
        found = []
        for lxc in sorted(self.nodes_dir.glob("*/lxc")):
            for entry in sorted(lxc.iterdir()):
                if _CONF_NAME.match(entry.name) and entry not in self._written:
                    found.append(entry)
        return found

    def _take(self, sim: Simulator, path: Path, text: str, report: SyncReport) -> bool:
        """A shell replaced an existing container's config: it is the config now."""
        vmid = int(path.name.split(".", 1)[0])
        ct = sim.containers.get(vmid)
        if ct is None:  # gone meanwhile: the file is stale, not a new container
            return False
        warnings: list[str] = []
        parsed = conffile.parse(text, warn=lambda line: warnings.append(
            f"vm {vmid} - unable to parse config: {line}"))
        from pxrun.sim.containers import is_option

        conf = {}
        for key, value in parsed.conf.items():
            if is_option(key) or key in _MAIN_EXTRA:
                conf[key] = value
            else:
                warnings.append(f"vm {vmid} - unable to parse config: {key}: {value}")
        ct.conf = conf
        ct.raw_lxc = list(parsed.raw_lxc)
        ct.pending = dict(parsed.pending)
        ct.pending_delete = list(parsed.pending_delete)
        ct.snapshots = {name: TrackedDict(ct, snap) for name, snap in parsed.snapshots.items()}
        report.messages += warnings
        self._written[path] = text
        self._stamps[path] = _stamp(path)
        return True

    def _put_back(self, path: Path, text: str, report: SyncReport, why: str) -> None:
        _write(path, text)
        self._stamps[path] = _stamp(path)
        report.messages.append(f"{self._shown(path)}: {why}; the file was put back")
        report.refused = True

    def _refuse_new(self, sim: Simulator, path: Path, report: SyncReport) -> None:
        vmid = int(path.name.split(".", 1)[0])
        ct = sim.containers.get(vmid)
        if ct is not None:
            why = (f"File exists (pmxcfs: CT {vmid} already exists on node '{ct.node}'; "
                   f"its config is {self._shown(self._path(ct.node, vmid))})")
        else:
            why = ("creating a container by writing its config is not modelled by the "
                   "simulator (use the API or `pct create`)")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        report.messages.append(f"{self._shown(path)}: {why}; the file was removed")
        report.refused = True


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return None


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    tmp.replace(path)
