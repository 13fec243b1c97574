"""The nodes' SSH endpoint: one asyncssh server on loopback, one login per node.

Why one server with per-node users rather than one port per node: a client reaches node
`pve2` as user `pve2` on the same port, so adding nodes adds no ports, and the container
must be on the node you logged in to, exactly as `pct` on a real node only sees its own
configs. Only the client key created at `sim init` (`<state_dir>/ssh_key`) is accepted.

Exec requests go through `pct.parse`: pct commands are answered against the live model
(`pct set` through the config PUT handler as root@pam; commands in the container's file
view through bubblewrap); anything else runs with /bin/sh in the node's sandbox. SFTP (and
scp) see the node sandbox as "/", which is where `pct push` takes its source from. stdin,
stdout, stderr and exit statuses pass through. This is a simulation, not isolation or security.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncssh

from pxrun.sim import pct, rootfs

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

HOST_KEY = "ssh_host_key"
CLIENT_KEY = "ssh_key"
_BASE_ENV = {"HOME": "/root", "USER": "root", "LOGNAME": "root", "SHELL": "/bin/sh",
             "LANG": "C.UTF-8"}
_CHUNK = 1 << 16


@dataclass(frozen=True)
class SshKeys:
    host_key: Path
    host_public: str  # "ssh-ed25519 AAAA..."
    client_key: Path
    client_public: str


def ensure_ssh_keys(state_dir: Path) -> SshKeys:
    """Create the host key and the client key pair (ed25519) unless they exist."""
    host = state_dir / HOST_KEY
    client = state_dir / CLIENT_KEY
    for path in (host, client):
        if not path.is_file():
            key = asyncssh.generate_private_key("ssh-ed25519", comment=f"pxrun-sim {path.name}")
            tmp = path.with_name(f".{path.name}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(key.export_private_key("openssh"))
            tmp.replace(path)
            path.with_name(path.name + ".pub").write_bytes(key.export_public_key("openssh"))
    host_public = _public_line(host)
    client_public = _public_line(client)
    return SshKeys(host, host_public, client, client_public)


def _public_line(private: Path) -> str:
    pub = private.with_name(private.name + ".pub")
    if not pub.is_file():
        key = asyncssh.read_private_key(private)
        pub.write_bytes(key.export_public_key("openssh"))
    fields = pub.read_text(encoding="utf-8").split()
    return f"{fields[0]} {fields[1]}"


class NodeSSHServer:
    """Serve SSH for every node of `sim` on `host:port`, on an event loop in its own thread."""

    def __init__(self, sim: Simulator, state_dir: Path, keys: SshKeys, *,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.state_dir = state_dir
        self.keys = keys
        self.host = host
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._client_key = asyncssh.import_public_key(keys.client_public)
        self._shims: Path | None = None

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> NodeSSHServer:
        self._shims = rootfs.install_shims(self.state_dir)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="pxrun-sim-ssh")
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        try:
            self._acceptor = future.result(timeout=30)
        except BaseException:
            self._shutdown_loop()
            raise
        self._port = self._acceptor.get_port()
        return self

    async def _listen(self) -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            self.host, self._port,
            server_host_keys=[str(self.keys.host_key)],
            server_factory=lambda: _Auth(self),
            process_factory=self._session,
            sftp_factory=self._sftp,
            allow_scp=True,
            encoding=None,
            line_editor=False,  # a PTY request must not echo or rewrite a command's bytes
            keepalive_interval=0,
        )

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._acceptor is not None:
            acceptor, self._acceptor = self._acceptor, None

            async def close() -> None:
                acceptor.close()
                await acceptor.wait_closed()
                # sessions still open (a client that has not hung up): end them now
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._shutdown_loop()

    def _shutdown_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if not self._loop.is_running():
            self._loop.close()

    # -- authentication ---------------------------------------------------------------------

    def accepts(self, username: str, key: asyncssh.SSHKey) -> bool:
        with self.sim.lock:
            known = username in self.sim.nodes and self.sim.node_online(username)
        return known and key.public_data == self._client_key.public_data

    def node_root(self, node: str) -> Path:
        return rootfs.ensure_nodefs(self.state_dir, node)

    # -- sessions ---------------------------------------------------------------------------

    def _sftp(self, chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        node = str(chan.get_extra_info("username"))
        return asyncssh.SFTPServer(chan, chroot=os.fsencode(self.node_root(node)))

    async def _session(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        node = str(process.get_extra_info("username"))
        try:
            status = await self._run(node, process)
        except pct.PctError as exc:
            process.stderr.write(exc.message.encode())
            status = exc.status
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            return
        with contextlib.suppress(Exception):
            process.exit(status)

    async def _run(self, node: str, process: asyncssh.SSHServerProcess[bytes]) -> int:
        command = process.command
        if command is None:
            process.stderr.write(b"pxrun simulator: interactive shells are not supported; "
                                 b"send a command\n")
            return 1
        env = {str(k): str(v) for k, v in (process.env or {}).items()}
        request = pct.parse(command)
        if isinstance(request, pct.Shell):
            self._need_bwrap()
            root = self.node_root(node)
            argv = rootfs.node_argv(root, node, request.command,
                                    {**_BASE_ENV, "PATH": rootfs.CONTAINER_PATH,
                                     **env, **request.env})
            return await _pipe(argv, process)
        if isinstance(request, pct.Set):
            await asyncio.to_thread(self._pct_set, node, request)
            return 0
        ct = self._container(node, request.vmid)
        if isinstance(request, pct.Status):
            process.stdout.write(f"status: {ct.status}\n".encode())
            return 0
        if isinstance(request, pct.Transfer):
            if not ct.running:
                raise pct.PctError("can only push files to a running CT" if request.kind ==
                                   "push" else "can only pull files from a running VM")
            ct_root = self._ct_root(ct)
            await asyncio.to_thread(pct.transfer, request, ct_root, self.node_root(node))
            return 0
        if not ct.running:
            raise pct.PctError(f"container '{ct.vmid}' not running!")
        self._need_bwrap()
        ct_root = self._ct_root(ct)
        session_env = {**_BASE_ENV, **env, **request.env} if request.keep_env else {}
        session_env.setdefault("HOME", "/root")
        session_env["PATH"] = rootfs.CONTAINER_PATH
        assert self._shims is not None
        argv = rootfs.container_argv(ct_root, self._shims, ct.distro.family, ct.hostname,
                                     list(request.argv), session_env)
        return await _pipe(argv, process)

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
                           rootfs.distro_for(found.ostype, found.ostemplate))

    def _ct_root(self, ct: _CtView) -> Path:
        return rootfs.ensure_rootfs(self.state_dir, ct.vmid, ct.distro, ct.hostname)

    @staticmethod
    def _need_bwrap() -> None:
        if rootfs.bwrap_path() is None:
            raise pct.PctError(f"pxrun simulator: {rootfs.BWRAP_MISSING}")


@dataclass(frozen=True)
class _CtView:
    """What a pct command needs of a container, read under the model's lock."""

    vmid: int
    status: str
    running: bool
    hostname: str
    distro: rootfs.Distro


class _Auth(asyncssh.SSHServer):
    """Public-key auth only: the node's name as user, the state's client key as key."""

    def __init__(self, endpoint: NodeSSHServer) -> None:
        self._endpoint = endpoint

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return self._endpoint.accepts(username, key)


async def _pipe(argv: list[str], process: asyncssh.SSHServerProcess[bytes]) -> int:
    """Run argv with the SSH channel as its stdin/stdout/stderr; return its exit status."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    feeder = asyncio.ensure_future(_feed(process, proc.stdin))
    try:
        await asyncio.gather(_drain(proc.stdout, process.stdout),
                             _drain(proc.stderr, process.stderr))
        status = await proc.wait()
    finally:
        feeder.cancel()
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
    return status if status >= 0 else 128 - status


async def _feed(process: asyncssh.SSHServerProcess[bytes], sink: asyncio.StreamWriter) -> None:
    try:
        while data := await process.stdin.read(_CHUNK):
            sink.write(data)
            await sink.drain()
    except (BrokenPipeError, ConnectionResetError, asyncssh.Error):
        pass
    finally:
        with contextlib.suppress(Exception):
            sink.close()


async def _drain(source: asyncio.StreamReader,
                 sink: asyncssh.SSHWriter[bytes]) -> None:
    while chunk := await source.read(_CHUNK):
        sink.write(chunk)
        await sink.drain()
