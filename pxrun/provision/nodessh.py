"""Commands on the Proxmox nodes over SSH (Fabric), and the `pct set` root runner for apply.

Why SSH at all: Proxmox lets only root@pam set some container options (features other than
nesting, bind and device mount points, `devN`, `hookscript`; reference A6), and an API token
is never root@pam. The node's own `pct set` runs as root, so apply hands those options to
`PctSetRunner` (apply's `RootRunner` seam) instead of the API.

Host keys are always checked (paramiko's RejectPolicy) against `ssh.known_hosts`, else the
user's ~/.ssh/known_hosts: an unknown node is refused, never trusted on first use. Command
lines are built with `shlex.join` and never carry a secret (these options hold none); no
environment is forwarded.
"""

from __future__ import annotations

import contextlib
import shlex
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pxrun.errors import NodeCommandError, NodeSshError

if TYPE_CHECKING:
    from pxrun.connect.settings import SshSettings

CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class CommandResult:
    status: int
    stdout: str
    stderr: str


def fabric_connection(ssh: SshSettings, node: str, timeout: float) -> Any:
    """A Fabric connection to `node` from the SSH settings; host keys checked strictly."""
    import paramiko
    from fabric import Connection

    address, port, user = ssh.target(node)
    connect_kwargs: dict[str, Any] = {}
    if ssh.key_file is not None:
        connect_kwargs.update(key_filename=str(ssh.key_file.expanduser()), look_for_keys=False,
                              allow_agent=False)
    conn = Connection(address, user=user, port=port, connect_timeout=timeout,
                      connect_kwargs=connect_kwargs)
    # Fabric trusts unknown hosts (AutoAddPolicy) unless told otherwise.
    conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    if ssh.known_hosts is not None:
        known = ssh.known_hosts.expanduser()
        if not known.is_file():
            raise NodeSshError(f"{node}: known_hosts file {known} does not exist")
        conn.client.load_host_keys(str(known))
    return conn


class NodeShell:
    """Runs argv on the nodes over SSH: one connection per node, opened on first use and
    reused (one command at a time per node; nodes run in parallel). Close when done."""

    def __init__(self, ssh: SshSettings, *, timeout: float = CONNECT_TIMEOUT,
                 connect: Callable[[SshSettings, str, float], Any] = fabric_connection) -> None:
        self.ssh = ssh
        self.timeout = timeout
        self._connect = connect
        self._conns: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __enter__(self) -> NodeShell:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with self._guard:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            with contextlib.suppress(Exception):  # closing must not hide the apply's outcome
                conn.close()

    def _lock(self, node: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(node, threading.Lock())

    def run(self, node: str, argv: Sequence[str]) -> CommandResult:
        """Run `argv` on `node`; its exit status and output. Raises NodeSshError when the
        node cannot be reached (the command's own failure is a status, not an error)."""
        import paramiko

        command = shlex.join(argv)
        address, port, user = self.ssh.target(node)
        where = f"{user}@{address}:{port}"
        with self._lock(node):
            try:
                conn = self._conns.get(node)
                if conn is None:
                    conn = self._conns[node] = self._connect(self.ssh, node, self.timeout)
                result = conn.run(command, warn=True, hide=True, in_stream=False)
            except paramiko.BadHostKeyException:
                self._drop(node)
                raise NodeSshError(f"{node} ({where}): the host key does not match known_hosts",
                                   hint="if the node was reinstalled, check its new key "
                                        "and update known_hosts") from None
            except paramiko.SSHException as exc:
                self._drop(node)
                text = str(exc)
                if "not found in known_hosts" in text:
                    raise NodeSshError(f"{node} ({where}): host key not in known_hosts",
                                       hint="add the node's key first (`ssh-keyscan -p PORT "
                                            "NODE >> known_hosts`, then check it)") from None
                raise NodeSshError(f"{node} ({where}): {text or type(exc).__name__}") from None
            except OSError as exc:
                self._drop(node)
                raise NodeSshError(f"{node} ({where}): {exc.strerror or exc}") from None
        return CommandResult(int(result.exited), str(result.stdout), str(result.stderr))

    def _drop(self, node: str) -> None:
        conn = self._conns.pop(node, None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def check(self, node: str, argv: Sequence[str]) -> CommandResult:
        """Like `run`, but a non-zero exit raises NodeCommandError with the command's stderr."""
        result = self.run(node, argv)
        if result.status != 0:
            said = result.stderr.strip() or result.stdout.strip() or "no message"
            raise NodeCommandError(f"`{shlex.join(argv[:3])} ...` on {node} failed "
                                   f"(exit {result.status}): {said}",
                                   status=result.status, stderr=result.stderr)
        return result


class PctSetRunner:
    """apply's `RootRunner`: `pct set <vmid> --key value ...` on the node, as root.

    A login other than root (`ssh.user`) becomes root with `sudo -n` (no password prompt:
    the node's sudoers must allow `pct` for it).
    """

    def __init__(self, shell: NodeShell) -> None:
        self.shell = shell
        self.sudo = shell.ssh.user != "root"

    def pct(self, node: str, args: Sequence[str]) -> None:
        if not args or args[0] != "set":
            raise ValueError(f"PctSetRunner runs `pct set` only, not `pct {' '.join(args[:1])}`")
        argv = ["pct", *args]
        self.shell.check(node, ["sudo", "-n", *argv] if self.sudo else argv)
