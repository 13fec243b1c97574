"""The nodes' SSH endpoint: one asyncssh server on loopback, one login per node.

Why one server with per-node users rather than one port per node: a client reaches node
`pve2` as user `pve2` on the same port, so adding nodes adds no ports, and the container
must be on the node you logged in to, exactly as `pct` on a real node only sees its own
configs. Only the client key created at `sim init` (`<state_dir>/ssh_key`) is accepted.

A node is a node: every exec request runs in the node's shell (bash in a bubblewrap view of
`<state_dir>/nodefs/<node>/`, with `/usr/sbin/pct`, `sudo` and `/etc/pve`, whose
container configs a root shell may edit: etcpve.py), so
pipes, lists, `mktemp`, `test -e`, `bash -lc` and `pct push … && pct exec …` work. A command
line that *is* one pct invocation skips the shell and is answered at once, with the same
code (`pctrun`), which keeps a provisioning step's overhead to one sandbox. SFTP (and scp)
see the node's view as "/". The login `ct<vmid>` reaches the inside of a running container
directly, as SSH to a container's own address would (`provision.via: ssh`); a node forwards
TCP to this endpoint only (so it can serve as a jump host). stdin, stdout,
stderr and exit statuses pass through. This is a simulation, not isolation or security.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncssh

from pxrun.sim import pct, rootfs, sandbox
from pxrun.sim.etcpve import EtcPve
from pxrun.sim.pctd import SOCKET_IN_VIEW, PctSockets
from pxrun.sim.pctrun import Done, PctRunner, need_bwrap

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

HOST_KEY = "ssh_host_key"
CLIENT_KEY = "ssh_key"
_NODE_ENV = {"HOME": "/root", "USER": "root", "LOGNAME": "root", "SHELL": "/bin/bash",
             "LANG": "C.UTF-8", "PATH": sandbox.NODE_PATH}
_CT_LOGIN = re.compile(r"ct([1-9][0-9]{2,8})$")
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
        self.runner: PctRunner | None = None
        self._sockets: PctSockets | None = None
        self._etc_pve: EtcPve | None = None
        self._node_tools: dict[str, Path] = {}

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> NodeSSHServer:
        shims = rootfs.install_shims(self.state_dir)
        self._node_tools = rootfs.install_node_tools(self.state_dir)
        self._etc_pve = EtcPve(self.state_dir / "run" / "etc-pve")
        self.runner = PctRunner(self.sim, self.state_dir, shims, self._etc_pve)
        self._sockets = PctSockets(self.runner)
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
        if self._sockets is not None:
            self._sockets.close()
            self._sockets = None
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
            node = self._node_of(username)
            known = node is not None and self.sim.node_online(node)
        return known and key.public_data == self._client_key.public_data

    def _node_of(self, username: str) -> str | None:
        """The node a login reaches: a node's name, or `ct<vmid>` (the container's node)."""
        if username in self.sim.nodes:
            return username
        found = _CT_LOGIN.match(username)
        ct = self.sim.container(int(found.group(1))) if found else None
        return ct.node if ct is not None and ct.running else None

    def node_root(self, node: str) -> Path:
        return rootfs.ensure_nodefs(self.state_dir, node)

    # -- sessions ---------------------------------------------------------------------------

    def _sftp(self, chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        login = str(chan.get_extra_info("username"))
        found = _CT_LOGIN.match(login)
        if found:
            root = rootfs.rootfs_dir(self.state_dir, int(found.group(1)))
        else:
            root = self.node_root(login)
        return asyncssh.SFTPServer(chan, chroot=os.fsencode(root))

    async def _session(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        login = str(process.get_extra_info("username"))
        try:
            status = await self._run(login, process)
        except pct.PctError as exc:
            process.stderr.write(exc.message.encode())
            status = exc.status
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            return
        with contextlib.suppress(Exception):
            process.exit(status)

    async def _run(self, login: str, process: asyncssh.SSHServerProcess[bytes]) -> int:
        command = process.command
        if command is None:
            process.stderr.write(b"pxrun simulator: interactive shells are not supported; "
                                 b"send a command\n")
            return 1
        env = {str(k): str(v) for k, v in (process.env or {}).items()}
        assert self.runner is not None
        found = _CT_LOGIN.match(login)
        if found:  # SSH straight into a container: its own shell, no pct
            with self.sim.lock:
                node = self._node_of(login)
            if node is None:
                raise pct.PctError(f"container {found.group(1)} is not running", 255)
            request: pct.Command = pct.Exec(int(found.group(1)), ("/bin/sh", "-c", command))
            self.runner.record(node, ["sshd", f"{login}", "/bin/sh", "-c", command])
            return await self._pct(node, request, env, process)
        self.runner.record(login, ["bash", "-c", command])
        request = pct.parse(command)
        if isinstance(request, pct.Shell):
            return await self._shell(login, request.command, env, process)
        return await self._pct(login, request, env, process)

    async def _pct(self, node: str, request: pct.Command, env: dict[str, str],
                   process: asyncssh.SSHServerProcess[bytes]) -> int:
        """A pct command line on its own: the same code as /usr/sbin/pct, without a shell."""
        assert self.runner is not None
        outcome = await asyncio.to_thread(self.runner.prepare, node, request, env=env)
        if isinstance(outcome, Done):
            process.stdout.write(outcome.stdout)
            process.stderr.write(outcome.stderr)
            return outcome.status
        return await _pipe(outcome.argv, process)

    async def _shell(self, node: str, command: str, env: dict[str, str],
                     process: asyncssh.SSHServerProcess[bytes]) -> int:
        """Any other command line: the node's shell, in the node's view."""
        need_bwrap()
        assert self._sockets is not None and self._etc_pve is not None
        root = self.node_root(node)
        etc_pve = self._etc_pve
        view = etc_pve.view(node)
        before = await asyncio.to_thread(etc_pve.refresh, self.sim)
        binds = [sandbox.Bind(self._sockets.path_for(node), SOCKET_IN_VIEW),
                 sandbox.Bind(view, "/etc/pve", read_only=True),
                 sandbox.Bind(etc_pve.nodes_dir, "/etc/pve/nodes")]
        shell = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
        argv = sandbox.node_argv(root, node, [shell, "-c", command], {**_NODE_ENV, **env},
                                 sbin_tools=self._node_tools, binds=binds)
        status = await _pipe(argv, process)
        # what the command wrote under /etc/pve is the config now (or refused: etcpve.py)
        after = await asyncio.to_thread(etc_pve.sync, self.sim)
        for message in [*before.messages, *after.messages]:
            process.stderr.write(f"{message}\n".encode())
        return 1 if after.refused and status == 0 else status


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

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str,
                             orig_port: int) -> bool:
        """TCP forwarding (`ssh -J`, Fabric's gateway) to the simulator's own SSH endpoint
        only: a node used as a jump host to reach the others. Nothing else is forwarded."""
        return dest_host in ("127.0.0.1", "localhost") and dest_port == self._endpoint.port


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
