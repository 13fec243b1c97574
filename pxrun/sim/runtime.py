"""The whole simulator in one process: state, HTTPS API server and node SSH endpoint.

Why one composition point: `pxrun sim serve`, the embedded `pxrun --sim` mode and the tests all
need the same thing (a state directory brought to life on loopback, and the facts a client
needs to reach it), and all of them must shut down the same way: stop serving, then save the
state atomically.

Layout of a state directory (everything else belongs to the cluster model and HTTP server):
`ssh_host_key` (the endpoint's host key), `ssh_key` / `ssh_key.pub` (the one client key it
accepts), `known_hosts` (rewritten at every start with the current SSH port), `ports.json`
(the preferred ports chosen by `sim init`), `rootfs/<vmid>/`, `volumes/<volid>/` and
`nodefs/<node>/` (file views, see rootfs.py), `run/` (derived at run time: `/etc/pve`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pxrun.errors import SimulatorError, UsageError
from pxrun.sim.rootfs import prune_rootfs, prune_volume_dirs
from pxrun.sim.settings import SimSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    from pxrun.sim.server import SimServer
    from pxrun.sim.ssh import NodeSSHServer
    from pxrun.sim.state import Simulator

HOST = "127.0.0.1"
PORTS_FILE = "ports.json"
KNOWN_HOSTS = "known_hosts"


@dataclass(frozen=True)
class SimFacts:
    """What a client needs to talk to a running (or initialised) simulator.

    `token_secret` is kept out of `repr` so that logging a SimFacts never leaks it; only
    `to_json()` (used by `sim init` / `sim serve`, which print it by design) contains it.
    """

    state_dir: Path
    endpoint: str
    token_id: str
    token_secret: str = field(repr=False)
    ca_file: Path
    fingerprint: str
    ssh_port: int
    ssh_key: Path
    ssh_host_key: str  # "ssh-ed25519 AAAA..." public host key, for an honest known_hosts
    known_hosts: Path
    nodes: tuple[str, ...] = ()

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def ssh_user_for(self, node: str) -> str:
        """The SSH login that reaches `node`: the node's own name (`pve1`), see spec 0023."""
        return node

    def ssh_user_for_container(self, vmid: int) -> str:
        """The SSH login that reaches the inside of a running container (`ct101`): what SSH
        to the container's own address is on a real cluster (`provision.via: ssh`)."""
        return f"ct{vmid}"

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "token_id": self.token_id,
            "token_secret": self.token_secret,
            "ca_file": str(self.ca_file),
            "fingerprint": self.fingerprint,
            "ssh_host": HOST,
            "ssh_port": self.ssh_port,
            "ssh_key": str(self.ssh_key),
            "ssh_host_key": self.ssh_host_key,
            "known_hosts": str(self.known_hosts),
            "ssh_users": {node: self.ssh_user_for(node) for node in self.nodes},
            "state_dir": str(self.state_dir),
        }


def free_port() -> int:
    """A TCP port on loopback that is free right now (for `sim init`'s preferred ports)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def is_initialised(state_dir: Path) -> bool:
    from pxrun.sim.state import Simulator

    return (state_dir / "ssh_key").is_file() and Simulator.exists(state_dir)


def init_state(state_dir: Path, *, force: bool = False,
               settings: SimSettings | None = None) -> SimFacts:
    """Create a state directory (idempotent): cluster, credentials, TLS, SSH keys, ports.

    An existing state is kept unless `force`, which replaces the cluster with a fresh default
    one (credentials, CA and keys stay, so clients keep working).
    """
    from pxrun.sim import auth, tls
    from pxrun.sim.ssh import ensure_ssh_keys
    from pxrun.sim.state import Simulator

    state_dir = Path(state_dir)
    if state_dir.exists() and not state_dir.is_dir():
        raise UsageError(f"{state_dir} is not a directory",
                         hint="choose another simulator state directory")
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        tls_files = tls.ensure_tls(state_dir)
        token_id, token_secret = auth.init_credentials(state_dir)
        keys = ensure_ssh_keys(state_dir)
    except OSError as exc:  # /proc/x, a read-only or foreign directory: the argument is wrong
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(state_dir) else ""
        raise UsageError(f"cannot create a simulator state in {state_dir}: {exc.strerror}"
                         f"{where}", hint="choose another simulator state directory") from None
    ports = preferred_ports(state_dir)
    if force or not Simulator.exists(state_dir):
        if force:
            _drop_file_views(state_dir)
        sim = Simulator.create_default(settings or SimSettings.load(state_dir / "settings.json"))
        try:
            sim.save(state_dir)
            nodes = tuple(sim.nodes)
        finally:
            sim.close()
    else:
        nodes = _node_names(state_dir)
    return SimFacts(
        state_dir=state_dir,
        endpoint=f"https://{HOST}:{ports['port']}",
        token_id=token_id,
        token_secret=token_secret,
        ca_file=tls_files.ca_file,
        fingerprint=tls_files.fingerprint,
        ssh_port=ports["ssh_port"],
        ssh_key=keys.client_key,
        ssh_host_key=keys.host_public,
        known_hosts=state_dir / KNOWN_HOSTS,
        nodes=nodes,
    )


def reset_state(state_dir: Path) -> SimFacts:
    """Back to a fresh default cluster, keeping credentials, CA, keys, ports and settings."""
    _require_state(state_dir)
    return init_state(state_dir, force=True)


def _require_state(state_dir: Path) -> None:
    if not state_dir.is_dir():
        raise SimulatorError(f"no simulator state in {state_dir}",
                             hint=f"create one with: pxrun sim init {state_dir}")
    if not (state_dir / "ssh_key").is_file():
        raise SimulatorError(f"{state_dir} is not a complete simulator state directory",
                             hint=f"run: pxrun sim init {state_dir}")


def _drop_file_views(state_dir: Path) -> None:
    for name in ("rootfs", "nodefs", "shims", "volumes", "run"):
        shutil.rmtree(state_dir / name, ignore_errors=True)


def preferred_ports(state_dir: Path) -> dict[str, int]:
    path = state_dir / PORTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {"port": int(data["port"]), "ssh_port": int(data["ssh_port"])}
    except (OSError, ValueError, KeyError, TypeError):
        ports = {"port": free_port(), "ssh_port": free_port()}
        _atomic_write(path, json.dumps(ports) + "\n")
        return ports


def _node_names(state_dir: Path) -> tuple[str, ...]:
    from pxrun.sim.state import Simulator

    sim = _load(state_dir, Simulator.load)
    try:
        return tuple(sim.nodes)
    finally:
        sim.close()


def _load(state_dir: Path, loader: Callable[[Path], Simulator]) -> Simulator:
    try:
        return loader(state_dir)
    except SimulatorError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SimulatorError(f"the simulator state in {state_dir} is unusable: {exc}",
                             hint=f"start over with: pxrun sim reset {state_dir}") from exc


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


class SimRuntime:
    """Load a state dir, serve HTTPS and SSH on loopback, save and stop on exit.

    Use as a context manager; `facts` is set once both servers listen. `settings`, when
    given, replaces the persisted settings for this run only (it is saved only if the caller
    asks with `persist_settings=True`).
    """

    def __init__(self, state_dir: Path, *, port: int = 0, ssh_port: int = 0,
                 request_log: Path | None = None, settings: SimSettings | None = None,
                 persist_settings: bool = False,
                 request_scrub: Callable[[str], str] | None = None) -> None:
        self.state_dir = Path(state_dir)
        self._request_scrub = request_scrub
        self._port = port
        self._ssh_port = ssh_port
        self._request_log = request_log
        self._settings = settings
        self._persist_settings = persist_settings
        self.sim: Simulator | None = None
        self._http: SimServer | None = None
        self._ssh: NodeSSHServer | None = None
        self._facts: SimFacts | None = None

    @property
    def facts(self) -> SimFacts:
        if self._facts is None:
            raise SimulatorError("the simulator is not running")
        return self._facts

    def __enter__(self) -> SimRuntime:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> SimFacts:
        from pxrun.sim import auth, tls
        from pxrun.sim.server import SimServer
        from pxrun.sim.ssh import NodeSSHServer, ensure_ssh_keys
        from pxrun.sim.state import Simulator

        _require_state(self.state_dir)
        if self._settings is not None and self._persist_settings:
            self._settings.save(self.state_dir / "settings.json")
        self.sim = _load(self.state_dir, lambda d: Simulator.load(d, self._settings))
        prune_rootfs(self.state_dir, set(self.sim.containers))
        prune_volume_dirs(self.state_dir, (volid for vols in self.sim.storages.volumes.values()
                                           for volid in vols))
        try:
            tls_files = tls.ensure_tls(self.state_dir)
            token_id, token_secret = auth.init_credentials(self.state_dir)
            keys = ensure_ssh_keys(self.state_dir)
            self._http = SimServer(self.sim, self.state_dir, host=HOST, port=self._port,
                                   request_log=self._request_log,
                                   request_scrub=self._request_scrub)
            self._http.start()
            self._ssh = NodeSSHServer(self.sim, self.state_dir, keys, host=HOST,
                                      port=self._ssh_port)
            self._ssh.start()
        except OSError as exc:
            self.stop(save=False)
            raise SimulatorError(f"the simulator could not start: {exc}",
                                 hint="choose other ports with --port / --ssh-port") from exc
        except BaseException:
            self.stop(save=False)
            raise
        known_hosts = self.state_dir / KNOWN_HOSTS
        _atomic_write(known_hosts, f"[{HOST}]:{self._ssh.port} {keys.host_public}\n")
        self._facts = SimFacts(
            state_dir=self.state_dir,
            endpoint=f"https://{HOST}:{self._http.port}",
            token_id=token_id,
            token_secret=token_secret,
            ca_file=tls_files.ca_file,
            fingerprint=tls_files.fingerprint,
            ssh_port=self._ssh.port,
            ssh_key=keys.client_key,
            ssh_host_key=keys.host_public,
            known_hosts=known_hosts,
            nodes=tuple(self.sim.nodes),
        )
        return self._facts

    def stop(self, *, save: bool = True) -> None:
        """Stop serving (SSH first, then HTTPS), then save the state atomically."""
        ssh, self._ssh = self._ssh, None
        http, self._http = self._http, None
        sim, self.sim = self.sim, None
        self._facts = None
        try:
            if ssh is not None:
                ssh.stop()
            if http is not None:
                http.stop()
        finally:
            if sim is not None:
                try:
                    if save:
                        sim.save(self.state_dir)
                finally:
                    sim.close()


def describe_state(state_dir: Path) -> dict[str, Any]:
    """Nodes, container counts and a settings summary, for `pxrun sim status`."""
    from pxrun.sim.state import Simulator

    _require_state(state_dir)
    if not Simulator.exists(state_dir):
        raise SimulatorError(f"{state_dir} has no cluster state",
                             hint=f"start over with: pxrun sim reset {state_dir}")
    sim = _load(state_dir, Simulator.load)
    try:
        with sim.lock:
            nodes = [{
                "name": name,
                "online": sim.node_online(name),
                "containers": sum(1 for ct in sim.containers.values() if ct.node == name),
                "running": sum(1 for ct in sim.containers.values()
                               if ct.node == name and ct.running),
            } for name in sim.nodes]
            s = sim.settings
            settings = {
                "pve_version": s.pve_version, "concurrency": s.concurrency,
                "time_scale": s.time_scale, "seed": s.seed,
                "latency_ms": s.faults.latency_ms, "jitter_ms": s.faults.jitter_ms,
                "error_rate": s.faults.error_rate, "lock_contention": s.faults.lock_contention,
                "task_failure": dict(s.faults.task_failure),
                "offline_nodes": list(s.faults.offline_nodes),
                "lost_answers": s.faults.lost_answers, "node_workers": s.node_workers,
                "server_time_ms": s.server_time_ms,
            }
    finally:
        sim.closed = True  # read-only look: nothing to save
    return {"state_dir": str(state_dir), "nodes": nodes, "settings": settings}
