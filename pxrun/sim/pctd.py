"""The simulator's side of `/usr/sbin/pct` in node shells: one Unix socket per node.

Each node view sees its own socket at `/run/pxrun-sim/pct.sock`, so the node a `pct`
command runs on is the socket it arrived on, never something the caller claims. A request
brings the client's argv, cwd, environment and its stdin/stdout/stderr file descriptors
(see `pct_client.py`); the answer is the exit status. A spawned command gets those very
descriptors, so `pct exec 101 -- cat f | wc -c` and `pct push 101 a b && …` behave as on a
real node. If the client goes away first, the command's process group is killed.

Why threads: a connection is a blocking exchange that ends when its command ends, and a
thread per running `pct` is what a node has too (a process per command). The sockets live
in a short private temporary directory (Unix socket paths are limited to 108 bytes).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from pxrun.sim import pct
from pxrun.sim.pctrun import Done, PctRunner

SOCKET_IN_VIEW = "/run/pxrun-sim/pct.sock"
_MAX_MESSAGE = 4 << 20


class PctSockets:
    """Listening sockets for the nodes (created on first use), served by daemon threads."""

    def __init__(self, runner: PctRunner) -> None:
        self.runner = runner
        self.dir = Path(tempfile.mkdtemp(prefix="pxsim-"))
        self._sockets: dict[str, socket.socket] = {}
        self._guard = threading.Lock()
        self._closed = False

    def path_for(self, node: str) -> Path:
        """The socket of `node` (listening from now on), to bind into its view."""
        with self._guard:
            if node not in self._sockets:
                path = self.dir / f"{node}.sock"
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.bind(str(path))
                sock.listen(64)
                self._sockets[node] = sock
                threading.Thread(target=self._accept, args=(node, sock), daemon=True,
                                 name=f"pxrun-sim-pct-{node}").start()
            return self.dir / f"{node}.sock"

    def close(self) -> None:
        with self._guard:
            self._closed = True
            sockets, self._sockets = list(self._sockets.values()), {}
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _accept(self, node: str, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(node, conn), daemon=True,
                             name=f"pxrun-sim-pct-{node}-conn").start()

    def _serve(self, node: str, conn: socket.socket) -> None:
        fds: list[int] = []
        try:
            message, fds = _receive(conn)
            if len(fds) == 3:
                status = self._run(node, conn, message, fds)
                conn.sendall(status.to_bytes(4, "big"))
        except (OSError, ValueError):
            pass
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            conn.close()

    def _run(self, node: str, conn: socket.socket, message: dict[str, Any],
             fds: list[int]) -> int:
        argv = [str(a) for a in message.get("argv") or []]
        env = {str(k): str(v) for k, v in (message.get("env") or {}).items()}
        cwd = str(message.get("cwd") or "/root")
        self.runner.record(node, ["/usr/sbin/pct", *argv])
        try:
            outcome = self.runner.prepare(node, pct.parse_args(argv), env=env, cwd=cwd)
        except pct.PctError as exc:
            outcome = Done(exc.status, stderr=exc.message.encode())
        if isinstance(outcome, Done):
            _write_all(fds[1], outcome.stdout)
            _write_all(fds[2], outcome.stderr)
            return outcome.status
        proc = subprocess.Popen(outcome.argv, stdin=fds[0], stdout=fds[1], stderr=fds[2],
                                start_new_session=True, close_fds=True)
        return _wait(proc, conn)


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """One request: length-prefixed JSON with three file descriptors attached."""
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    while len(data) < 4:
        more = conn.recv(1 << 16)
        if not more:
            raise ValueError("short request")
        data += more
    size = int.from_bytes(data[:4], "big")
    if size > _MAX_MESSAGE:
        raise ValueError("request too large")
    body = data[4:]
    while len(body) < size:
        more = conn.recv(min(1 << 16, size - len(body)))
        if not more:
            raise ValueError("short request")
        body += more
    message = json.loads(body.decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("bad request")
    return message, list(fds)


def _write_all(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the reader may be gone (`pct status 101 | true`)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]


def _wait(proc: subprocess.Popen[bytes], conn: socket.socket) -> int:
    """The command's exit status (128+N for signal N); kill it if the client goes away."""
    pidfd = os.pidfd_open(proc.pid)
    try:
        while proc.poll() is None:
            ready, _, _ = select.select([pidfd, conn.fileno()], [], [])
            if conn.fileno() in ready and not conn.recv(4096):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
    finally:
        os.close(pidfd)
    status = proc.returncode
    return status if status >= 0 else 128 - status
