"""Carrying out a parsed `pct` command on a node: against the model, or in a container view.

One algorithm for both ways `pct` arrives (an SSH exec request that is a pct command, and
`/usr/sbin/pct` inside a node shell): `prepare` decides, under the model's lock, what the
command amounts to — a finished answer (`Done`: status, stdout, stderr) or a process to
start in the container's file view (`Spawn`: a bwrap argv). The caller then connects that
process to its own stdio (asyncio pipes to an SSH channel, or the pct client's very file
descriptors). Deciding is separate from running, so both paths share every rule and message.

The container view mounts the container's mount points: each `mpN` volume at its path from
its own directory (`rootfs.volume_dir`), each bind mount from the node's file view,
read-only when `ro=1`. Only the active config counts (a pending mount point is not mounted
until the restart that applies it), as with lxc.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pxrun.sim import pct, propstr, rootfs, sandbox

if TYPE_CHECKING:
    from pxrun.sim.containers import Container
    from pxrun.sim.etcpve import EtcPve
    from pxrun.sim.state import Simulator

BASE_ENV = {"HOME": "/root", "USER": "root", "LOGNAME": "root", "SHELL": "/bin/sh",
            "LANG": "C.UTF-8"}
EXEC_LOG = "var/log/pxrun-sim/exec.log"
"""In a node's view: every process the node was asked to start, with its full argv (what
`ps` on a real node would show), one JSON line each. Tests grep it for secrets."""
_MP_KEY = re.compile(r"mp\d+$")
_NET_KEY = re.compile(r"net\d+$")


@dataclass(frozen=True)
class Done:
    status: int
    stdout: bytes = b""
    stderr: bytes = b""


@dataclass(frozen=True)
class Spawn:
    argv: list[str]


Outcome = Done | Spawn


@dataclass(frozen=True)
class _CtView:
    """What a pct command needs of a container, read under the model's lock."""

    vmid: int
    status: str
    running: bool
    hostname: str
    distro: rootfs.Distro
    mounts: tuple[tuple[str, str, bool], ...]  # (volume or host path, path in CT, read-only)
    network: str


class PctRunner:
    """`pct` for every node of one simulator (thread-safe; the model has its own lock)."""

    def __init__(self, sim: Simulator, state_dir: Path, shims: Path,
                 etc_pve: EtcPve | None = None) -> None:
        self.sim = sim
        self.state_dir = state_dir
        self.shims = shims
        self.etc_pve = etc_pve
        self._log_lock = threading.Lock()

    def node_root(self, node: str) -> Path:
        return rootfs.ensure_nodefs(self.state_dir, node)

    def record(self, node: str, argv: Sequence[str]) -> None:
        """Append a started process's argv to the node's exec log."""
        line = json.dumps({"time": round(time.time(), 3), "argv": list(argv)}) + "\n"
        path = self.node_root(node) / EXEC_LOG
        with self._log_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(line)

    def prepare(self, node: str, request: pct.Command, *, env: Mapping[str, str],
                cwd: str = "/root") -> Outcome:
        """What `request` amounts to on `node`. Never raises for pct's own failures."""
        if self.etc_pve is not None:  # a shell's `mv x /etc/pve/lxc/101.conf; pct start 101`
            self.etc_pve.sync(self.sim, deliver=False)
        try:
            return self._prepare(node, request, env, cwd)
        except pct.PctError as exc:
            return Done(exc.status, stderr=exc.message.encode())
        finally:
            if self.etc_pve is not None and isinstance(request, pct.Set):
                self.etc_pve.refresh(self.sim, deliver=False)

    def _prepare(self, node: str, request: pct.Command, env: Mapping[str, str],
                 cwd: str) -> Outcome:
        if isinstance(request, pct.Shell):
            raise pct.PctError("pxrun simulator: not a pct command")
        if isinstance(request, pct.Set):
            self._pct_set(node, request)
            return Done(0)
        ct = self._container(node, request.vmid)
        if isinstance(request, pct.Status):
            return Done(0, f"status: {ct.status}\n".encode())
        if isinstance(request, pct.Transfer):
            if not ct.running:
                raise pct.PctError("can only push files to a running CT" if request.kind ==
                                   "push" else "can only pull files from a running VM")
            pct.transfer(request, self._ct_root(ct), self.node_root(node), cwd)
            return Done(0)
        if not ct.running:
            raise pct.PctError(f"container '{ct.vmid}' not running!")
        need_bwrap()
        ct_root = self._ct_root(ct)
        session = {**BASE_ENV, **env, **request.env} if request.keep_env else {}
        session.setdefault("HOME", "/root")
        session["PATH"] = sandbox.CONTAINER_PATH
        _write_if_changed(ct_root / "var/lib/pxrun-sim/network", ct.network)
        return Spawn(sandbox.container_argv(
            ct_root, self.shims, ct.distro.family, ct.hostname, request.argv, session,
            tools=rootfs.TOOLS, family_tools=rootfs.FAMILY_TOOLS[ct.distro.family],
            mounts=self._mounts(node, ct)))

    def _pct_set(self, node: str, request: pct.Set) -> None:
        """`pct set`: the config PUT as root@pam, through the API handler itself."""
        from pxrun.sim.api import ApiError
        from pxrun.sim.handlers.config import pct_set

        try:
            pct_set(self.sim, node, request.vmid, request.options)
        except ApiError as exc:
            raise pct.api_failure(exc.message, exc.errors) from None

    def _container(self, node: str, vmid: int) -> _CtView:
        with self.sim.lock:
            found = self.sim.container(vmid)
            if found is None or found.node != node:
                raise pct.PctError(
                    f"Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist")
            conf = found.config
            return _CtView(vmid, found.status, found.running,
                           conf.get("hostname") or f"CT{vmid}",
                           rootfs.distro_for(found.ostype, found.ostemplate),
                           _mount_points(conf), self._network(found))

    def _ct_root(self, ct: _CtView) -> Path:
        return rootfs.ensure_rootfs(self.state_dir, ct.vmid, ct.distro, ct.hostname)

    def _mounts(self, node: str, ct: _CtView) -> list[sandbox.Bind]:
        binds = []
        for source, path, read_only in ct.mounts:
            if source.startswith("/"):  # a bind mount: a directory of the node
                host = pct.resolve_inside(self.node_root(node), source)
                host.mkdir(parents=True, exist_ok=True)
            else:
                host = rootfs.ensure_volume_dir(self.state_dir, source)
            binds.append(sandbox.Bind(host, path, read_only))
        return binds

    def _network(self, ct: Container) -> str:
        """The container's interfaces as the `ip` shim shows them: one line per interface,
        `name mac address/prefix|- gateway|-` (DHCP addresses from the simulator's leases)."""
        lines = []
        for key in sorted((k for k in ct.conf if _NET_KEY.match(k)), key=lambda k: int(k[3:])):
            try:
                net = propstr.parse("net", ct.conf[key])
            except propstr.PropStrError:
                continue
            mac = str(net.get("hwaddr", "00:00:00:00:00:00")).lower()
            ip, gw = str(net.get("ip", "")), str(net.get("gw", "") or "-")
            address = "-"
            if ip == "dhcp" and net.get("bridge"):
                lease = self.sim.dhcp.lease(str(net["bridge"]), mac)
                if lease is not None:
                    address = f"{lease[0]}/{lease[1]}"
                    gw = lease[0].rsplit(".", 1)[0] + ".1"
            elif "/" in ip:
                address = ip
            lines.append(f"{net.get('name', key)} {mac} {address} {gw}\n")
        return "".join(lines)


def _mount_points(conf: Mapping[str, str]) -> tuple[tuple[str, str, bool], ...]:
    found = []
    for key in sorted((k for k in conf if _MP_KEY.match(k)), key=lambda k: int(k[2:])):
        try:
            mp = propstr.parse("mp", conf[key])
        except propstr.PropStrError:
            continue
        volume, path = str(mp.get("volume", "")), str(mp.get("mp", ""))
        if volume and path.startswith("/") and not volume.startswith("/dev/"):
            found.append((volume, path, bool(mp.get("ro"))))
    return tuple(found)


def need_bwrap() -> None:
    if sandbox.bwrap_path() is None:
        raise pct.PctError(f"pxrun simulator: {sandbox.BWRAP_MISSING}")


def _write_if_changed(path: Path, text: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.read_text(encoding="utf-8") == text:
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
