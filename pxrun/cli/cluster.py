"""Open the API connection for a command: real cluster or `--sim`, with the CLI's warnings.

Why in the CLI: only the CLI may start the simulator, read the process environment and the
working directory, and print. Every command that talks to Proxmox goes through `open_client`,
so `--sim`, the settings precedence and the TLS warning behave the same everywhere.

    @click.command()
    @connection_options
    @click.pass_obj
    def list_cmd(settings: Settings, flags: ConnectionFlags) -> int:
        with open_client(settings, flags=flags) as (client, info):
            ...
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pxrun.cli.context import Settings

if TYPE_CHECKING:
    from pxrun.connect.client import ProxmoxerClient
    from pxrun.connect.session import ConnectionInfo
    from pxrun.connect.settings import ConnectionFlags, ConnectionSettings

F = TypeVar("F", bound=Callable[..., Any])
_FLAG_NAMES = ("endpoint", "token_id", "ca_file", "fingerprint", "insecure", "timeout")


def connection_options(func: F) -> F:
    """Add the connection flags to a command; it receives them as one `flags` argument.

    There is no flag for the token secret on purpose: a command line is visible to every
    user of the machine (`ps`). Use the environment, `.env`, a profile or sops.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pxrun.connect.settings import ConnectionFlags

        values = {name: kwargs.pop(name) for name in _FLAG_NAMES}
        return func(*args, flags=ConnectionFlags(**values), **kwargs)

    options = [
        click.option("--endpoint", metavar="URL",
                     help="Proxmox API, https://host[:8006]; overrides PROXMOX_HOST."),
        click.option("--token-id", metavar="USER@REALM!NAME",
                     help="API token id; overrides PROXMOX_TOKEN_ID. (The secret is never a "
                          "flag: use PROXMOX_TOKEN_SECRET, .env, a profile or sops.)"),
        click.option("--ca-file", type=click.Path(path_type=Path, dir_okay=False),
                     help="CA certificate to verify the cluster with."),
        click.option("--fingerprint", metavar="SHA256",
                     help="Pin the server certificate's SHA-256 fingerprint."),
        click.option("--insecure", is_flag=True,
                     help="Do not verify the server's certificate (not recommended)."),
        click.option("--timeout", type=float, metavar="SECONDS", callback=_check_timeout,
                     help="Timeout of each API request (default 10)."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def request_timeout(value: float | str, flag: str = "--timeout") -> float:
    """A request timeout given on the command line; out of range is a usage error (exit 3),
    with the same rule as PROXMOX_TIMEOUT and profiles (`connect.settings.parse_timeout`)."""
    from pxrun.connect.settings import parse_timeout
    from pxrun.errors import ConfigError, UsageError

    try:
        return parse_timeout(value, flag)
    except ConfigError as exc:
        raise UsageError(f"{exc.message}, got {value}") from None


def _check_timeout(ctx: click.Context, param: click.Parameter,
                   value: float | None) -> float | None:
    return None if value is None else request_timeout(value)


def resolve_settings(settings: Settings, *, flags: ConnectionFlags | None = None,
                     spec_cluster: Any = None, spec_dir: Path | None = None,
                     sim_facts: Any = None) -> ConnectionSettings:
    """Connection settings from this process's flags, environment, files and spec."""
    from pxrun.connect.settings import ConnectionFlags, SettingsInputs, resolve

    inputs = SettingsInputs(env=dict(os.environ), cwd=Path.cwd(),
                            flags=flags or ConnectionFlags(), cluster=settings.cluster,
                            spec_cluster=spec_cluster, spec_dir=spec_dir,
                            sim=_sim_source(sim_facts) if sim_facts is not None else None)
    resolved = resolve(inputs)
    settings.secrets.add(resolved.token_secret.reveal())  # from any source: never shown
    return resolved


@contextmanager
def open_client(settings: Settings, *, spec_cluster: Any = None, spec_dir: Path | None = None,
                flags: ConnectionFlags | None = None, warn: bool = True,
                ) -> Iterator[tuple[ProxmoxerClient, ConnectionInfo]]:
    """Yield a connected client and its `ConnectionInfo`; with `--sim`, inside a running
    embedded simulator whose facts outrank every other settings source."""
    from pxrun.connect.session import open_connection

    with _maybe_simulator(settings) as facts:
        resolved = resolve_settings(settings, flags=flags, spec_cluster=spec_cluster,
                                    spec_dir=spec_dir, sim_facts=facts)
        client, info = open_connection(resolved, simulated=facts is not None)
        if warn:
            print_connection_warnings(info, settings)
        try:
            yield client, info
        finally:
            client.close()


def node_ssh_configured(info: ConnectionInfo) -> bool:
    """Whether pxrun may run `pct set` on the nodes over SSH (root@pam-only options): always
    with `--sim` (its nodes' SSH endpoint), else when a profile or the spec gives `ssh`."""
    return info.simulated or "ssh" in info.settings.sources


@contextmanager
def root_runner(info: ConnectionInfo, pool: Any = None,
                addresses: dict[str, str] | None = None) -> Iterator[Any]:
    """apply's `RootRunner` over node SSH when it is configured (else None); connections
    are opened on first use (`pool`: shared with provisioning) and closed at the end."""
    if not node_ssh_configured(info):
        yield None
        return
    from pxrun.provision.nodessh import NodeShell, PctSetRunner

    with NodeShell(info.ssh, pool=pool, addresses=addresses) as shell:
        yield PctSetRunner(shell)


@contextmanager
def provision_session(client: Any, info: ConnectionInfo,
                      secrets: Iterable[str] = ()) -> Iterator[Any]:
    """The SSH session provisioning runs in (connections opened on first use, closed at
    the end; logs under .pxrun/logs/, redacted of `secrets`: the run's known ones, the
    spec's are added when it is bound). Nodes are dialled at the address
    `/cluster/status` gives, unless the SSH settings name a host (always with --sim)."""
    from pxrun.errors import ApiError
    from pxrun.provision.runner import ProvisionSession
    from pxrun.provision.sshconn import node_addresses

    addresses: dict[str, str] = {}
    if node_ssh_configured(info) and not info.simulated:
        try:
            addresses = node_addresses(client.get("cluster/status"))
        except ApiError:
            addresses = {}  # the node names are tried instead
    with ProvisionSession(info.ssh, log_dir=Path(".pxrun") / "logs", secrets=secrets,
                          addresses=addresses) as session:
        yield session


def print_connection_warnings(info: ConnectionInfo, settings: Settings) -> None:
    """Warnings on stderr (never on stdout, which may carry JSON); `-q` hides all but TLS-off."""
    from pxrun.cli.output import warn
    from pxrun.connect.settings import TLS_OFF_WARNING

    for warning in info.warnings:
        if settings.quiet and not warning.startswith(TLS_OFF_WARNING):
            continue
        warn(settings, warning)


@contextmanager
def _maybe_simulator(settings: Settings) -> Iterator[Any]:
    if not settings.sim:
        yield None
        return
    from pxrun.sim.embedded import running_simulator

    with running_simulator(settings.sim_dir, request_log=settings.request_log,
                           request_scrub=settings.secrets.redact) as facts:
        yield facts


def _sim_source(facts: Any) -> dict[str, Any]:
    """The simulator's facts as a settings source (see `connect.settings`: `--sim` wins)."""
    from pxrun.connect.settings import SshSettings

    nodes = tuple(getattr(facts, "nodes", ()))
    ssh = SshSettings(user="root", port=int(facts.ssh_port), key_file=Path(facts.ssh_key),
                      known_hosts=Path(facts.known_hosts) if getattr(facts, "known_hosts", None)
                      else None,
                      hosts=dict.fromkeys(nodes, "127.0.0.1"),
                      users={node: facts.ssh_user_for(node) for node in nodes})
    return {"endpoint": facts.endpoint, "token_id": facts.token_id,
            "token_secret": facts.token_secret, "ca_file": str(facts.ca_file), "verify": True,
            "ssh": ssh}
