"""SSH connections (Fabric) to nodes and containers: targets, host keys, one connection each.

Why one module for every SSH user: `pct set` for apply (`nodessh`), `pct exec` and
`pct push` for provisioning, and SSH straight into a container (`provision.via: ssh`) all
need the same answers — which address, port, login, key and jump host reach a node; which
host keys are trusted; one connection per target, reused for every command — and must
fail the same way.

Host keys are checked against `ssh.known_hosts` (else ~/.ssh/known_hosts). An unknown key
is refused unless the profile sets `trust_unknown_hosts: true`: then it is trusted on first
use and recorded in that file, so the next run checks it. A key that differs from the
recorded one is always refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pxrun.errors import NodeSshError

if TYPE_CHECKING:
    from pxrun.connect.settings import SshSettings

CONNECT_TIMEOUT = 10.0
MAX_CHANNELS = 8
"""Commands at once over one connection (OpenSSH's MaxSessions defaults to 10)."""


@dataclass(frozen=True)
class SshTarget:
    """Everything needed to open one SSH connection. `name` is for messages (`pve1`)."""

    name: str
    host: str
    port: int = 22
    user: str = "root"
    key_file: Path | None = None
    known_hosts: Path | None = None
    trust_unknown: bool = False
    jump: SshTarget | None = None

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def parse_jump(text: str, base: SshTarget) -> SshTarget:
    """`[user@]host[:port]` as a jump host, checked with the same host-key rules."""
    user, _, rest = text.rpartition("@")
    host, _, port = rest.partition(":")
    if rest.startswith("["):  # [v6]:port
        host, _, port = rest[1:].partition("]")
        port = port.lstrip(":")
    return SshTarget(name=f"jump {host}", host=host, port=int(port) if port else 22,
                     user=user or base.user, key_file=base.key_file,
                     known_hosts=base.known_hosts, trust_unknown=base.trust_unknown)


def node_target(ssh: SshSettings, node: str,
                addresses: Mapping[str, str] | None = None) -> SshTarget:
    """How to reach `node`: the profile's per-node override, else `hosts`, else the address
    the cluster reports for it (`/cluster/status`, see `node_addresses`), else its name."""
    override = ssh.nodes.get(node)
    host = ((override.host if override else None) or ssh.hosts.get(node)
            or (addresses or {}).get(node) or node)
    return _target(ssh, node, host, override, user=ssh.users.get(node, ssh.user))


def container_target(ssh: SshSettings, name: str, address: str) -> SshTarget:
    """How to reach a container directly at `address` (`provision.via: ssh`)."""
    return _target(ssh, name, address, ssh.containers, user="root")


def _target(ssh: SshSettings, name: str, host: str, override: Any, *, user: str) -> SshTarget:
    base = SshTarget(
        name=name, host=host,
        port=(override.port if override and override.port else None) or ssh.port,
        user=(override.user if override and override.user else None) or user,
        key_file=(override.key_file if override and override.key_file else None) or ssh.key_file,
        known_hosts=ssh.known_hosts, trust_unknown=ssh.trust_unknown_hosts)
    jump = (override.jump if override and override.jump else None) or ssh.jump
    if jump:
        return dataclasses.replace(base, jump=parse_jump(jump, base))
    return base


def node_addresses(cluster_status: list[Mapping[str, Any]]) -> dict[str, str]:
    """node -> ip from `GET /cluster/status` (the `node` entries' `ip` field)."""
    return {str(item["name"]): str(item["ip"]) for item in cluster_status
            if item.get("type") == "node" and item.get("ip") and item.get("name")}


class _RecordNewKey:
    """paramiko policy for `trust_unknown_hosts`: accept an unknown key and append it to
    the known_hosts file, so that from now on it is checked like any other."""

    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.write(line)
        client.get_host_keys().add(hostname, key.get_name(), key)


def _known_hosts(target: SshTarget) -> Path:
    return (target.known_hosts or Path("~/.ssh/known_hosts")).expanduser()


def open_connection(target: SshTarget, timeout: float = CONNECT_TIMEOUT) -> Any:
    """A Fabric connection to `target` (not yet opened); host keys checked strictly."""
    import paramiko
    from fabric import Connection

    connect_kwargs: dict[str, Any] = {}
    if target.key_file is not None:
        connect_kwargs.update(key_filename=str(target.key_file.expanduser()),
                              look_for_keys=False, allow_agent=False)
    gateway = open_connection(target.jump, timeout) if target.jump is not None else None
    conn = Connection(target.host, user=target.user, port=target.port, connect_timeout=timeout,
                      connect_kwargs=connect_kwargs, gateway=gateway)
    known = _known_hosts(target)
    if known.is_file():
        conn.client.load_host_keys(str(known))
    elif target.known_hosts is not None and not target.trust_unknown:
        raise NodeSshError(f"{target.name}: known_hosts file {known} does not exist")
    # Fabric trusts unknown hosts (AutoAddPolicy) unless told otherwise.
    policy = _RecordNewKey(known) if target.trust_unknown else paramiko.RejectPolicy()
    conn.client.set_missing_host_key_policy(policy)
    return conn


@contextlib.contextmanager
def ssh_errors(target: SshTarget) -> Iterator[None]:
    """Transport failures as NodeSshError with a hint (never a paramiko traceback)."""
    import paramiko

    where = f"{target.name} ({target.where})"
    try:
        yield
    except paramiko.BadHostKeyException:
        raise NodeSshError(f"{where}: the host key does not match known_hosts",
                           hint="if the host was reinstalled, check its new key and update "
                                "known_hosts") from None
    except paramiko.AuthenticationException as exc:
        raise NodeSshError(f"{where}: {exc or 'authentication failed'}") from None
    except paramiko.SSHException as exc:
        text = str(exc)
        if "not found in known_hosts" in text:
            raise NodeSshError(f"{where}: host key not in known_hosts",
                               hint="add the host's key first (`ssh-keyscan -p PORT HOST >> "
                                    "known_hosts`, then check it), or set trust_unknown_hosts:"
                                    " true in the profile's ssh block to record it on first "
                                    "use") from None
        raise NodeSshError(f"{where}: {text or type(exc).__name__}") from None
    except OSError as exc:
        raise NodeSshError(f"{where}: {exc.strerror or exc}") from None


class ConnectionPool:
    """One SSH connection per target, opened on first use and reused by every command
    (several at once, up to MAX_CHANNELS); a failed connection is dropped and reopened
    by the next command. Close when done (a context manager)."""

    def __init__(self, *, timeout: float = CONNECT_TIMEOUT,
                 connect: Callable[[SshTarget, float], Any] = open_connection) -> None:
        self.timeout = timeout
        self._connect = connect
        self._conns: dict[SshTarget, Any] = {}
        self._opening: dict[SshTarget, threading.Lock] = {}
        self._slots: dict[SshTarget, threading.BoundedSemaphore] = {}
        self._guard = threading.Lock()

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @contextlib.contextmanager
    def connection(self, target: SshTarget) -> Iterator[Any]:
        """The open connection to `target`, held for one command."""
        with self._guard:
            opening = self._opening.setdefault(target, threading.Lock())
            slots = self._slots.setdefault(target, threading.BoundedSemaphore(MAX_CHANNELS))
        with slots:
            with opening, ssh_errors(target):
                conn = self._conns.get(target)
                if conn is None:
                    conn = self._connect(target, self.timeout)
                    if hasattr(conn, "open"):
                        conn.open()
                        _no_delay(conn)
                    self._conns[target] = conn
            try:
                yield conn
            except BaseException:
                if not _alive(conn):
                    self.drop(target)
                raise

    def drop(self, target: SshTarget) -> None:
        with self._guard:
            conn = self._conns.pop(target, None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._guard:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            with contextlib.suppress(Exception):  # closing must not hide the run's outcome
                conn.close()


def _no_delay(conn: Any) -> None:
    """TCP_NODELAY, as OpenSSH sets it: each command is a few small packets each way, and
    Nagle's algorithm with delayed ACKs adds ~40 ms to every one of them."""
    sock = getattr(conn.client.get_transport(), "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _alive(conn: Any) -> bool:
    transport = getattr(getattr(conn, "client", None), "get_transport", lambda: None)()
    return bool(transport is not None and transport.is_active())
