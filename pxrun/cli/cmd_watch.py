"""`pxrun watch`: the reconcile loop, as a long-running service (see examples/systemd/).

Every `--interval` (with jitter) it checks drift; with `--apply` it also carries out what
`--allow` permits, but only while it holds the stack lock (two watchers of one stack are
active/passive). It serves `/metrics`, `/healthz` and `/records` on `--listen` and writes
one JSON object per line on stdout (journald keeps them). SIGTERM or SIGINT: the running
step finishes, the lock is released, exit 0.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pxrun.cli.cluster import (
    connection_options,
    node_ssh_configured,
    open_client,
    provision_session,
    root_runner,
)
from pxrun.cli.context import Settings
from pxrun.cli.specload import var_options
from pxrun.cli.status import ExitStatus
from pxrun.collector import resume_collector

if TYPE_CHECKING:
    from pxrun.connect.settings import ConnectionFlags

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class Duration(click.ParamType):  # type: ignore[type-arg]
    """`300`, `30s`, `5m`, `1h`, `250ms` -> seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            return float(value)
        match = _DURATION.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a duration like 30s, 5m or 1h", param, ctx)
        return float(match[1]) * _UNITS[match[2]]


def _allow(value: str) -> frozenset[str]:
    from pxrun.daytwo.reconcile import CATEGORIES
    from pxrun.errors import UsageError

    words = frozenset(w.strip() for w in value.split(",") if w.strip())
    unknown = sorted(words - set(CATEGORIES))
    if unknown:
        raise UsageError(f"--allow {value}: unknown {', '.join(unknown)}; choose from "
                         + ", ".join(CATEGORIES))
    return words


@click.command("watch")
@click.option("-f", "--file", "path", type=click.Path(path_type=Path), default=None,
              help="Spec file or folder [default: pxrun.yaml, else the pxrun/ folder]; "
                   "read again every cycle.")
@click.option("--interval", type=Duration(), default="5m", show_default=True,
              help="Time between cycles (30s, 5m, 1h).")
@click.option("--jitter", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="Add up to this share of the interval at random to each wait.")
@click.option("--apply", "apply_", is_flag=True,
              help="Carry out what --allow permits (only while holding the stack lock).")
@click.option("--allow", "allow", default="create,update", show_default=True,
              help="Actions --apply may carry out: create, update, delete, replace.")
@click.option("--restart", type=click.Choice(["auto", "never", "ask"]), default="never",
              show_default=True,
              help="Changes that need a restart: restart (auto) or leave them pending.")
@click.option("--node-timeout", type=Duration(), default="5m", show_default=True,
              help="Alert when a node has not answered this long (1m to 30m); containers "
                   "with lifecycle.on_node_lost: recreate are recreated after it.")
@click.option("--lock-ttl", type=Duration(), default=None,
              help="How long the stack lock outlives a watcher that stopped renewing it "
                   "(crashed, cut off); the passive watcher takes over after it "
                   "[default: 3 x --interval, at least 1m].")
@click.option("--fence-confirmed", is_flag=True,
              help="Lost nodes are fenced (powered off): on_node_lost: recreate may act.")
@click.option("--listen", default="127.0.0.1:9464", show_default=True, metavar="HOST:PORT",
              help="Serve /metrics, /healthz and /records here (port 0: any free port).")
@click.option("--parallelism", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Containers changed at once.")
@click.option("--cycles", "max_cycles", type=click.IntRange(1), default=None,
              help="Stop after this many cycles (for a trial run or a benchmark).")
@connection_options
@var_options
@click.pass_obj
def watch_cmd(settings: Settings | None, path: Path | None, interval: float, jitter: float,
              apply_: bool, allow: str, restart: str, node_timeout: float,
              lock_ttl: float | None, fence_confirmed: bool, listen: str, parallelism: int,
              max_cycles: int | None, flags: ConnectionFlags) -> int:
    """Check drift every interval; with --apply, reconcile what the policy allows.

    A node that stops answering makes its containers unknown: nothing is deleted,
    recreated or moved because of it. Two watchers of one stack take turns through the
    stack lock in the cluster: one acts, the other observes and takes over when the lock
    expires.
    """
    import dataclasses

    from pxrun.apply.context import ApplyOptions
    from pxrun.apply.provisioner import StackProvisioner
    from pxrun.cli.cmd_drift import desired_from, load_credentials, load_spec
    from pxrun.daytwo.reconcile import ActOptions
    from pxrun.daytwo.server import WatchEndpoints, WatchServer
    from pxrun.daytwo.watch import Watcher, WatchOptions
    from pxrun.errors import UsageError

    if not 60 <= node_timeout <= 1800:
        raise UsageError(f"--node-timeout {node_timeout:g} s is outside 1 to 30 minutes")
    if interval < 0.05:
        raise UsageError("--interval must be at least 50ms")
    if lock_ttl is not None and lock_ttl < 2:
        raise UsageError(f"--lock-ttl {lock_ttl:g} s is too short: the lock records its "
                         "expiry in whole seconds; give at least 2s")
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--listen {listen}: expected HOST:PORT, e.g. 127.0.0.1:9464")
    allowed = _allow(allow)
    settings = settings if settings is not None else Settings()
    load_credentials()
    loaded, spec_dir = load_spec(path, settings)
    resume_collector()  # a watcher runs for days: cycles are collected as usual
    stop = threading.Event()
    with open_client(settings, spec_cluster=loaded.stack.cluster, spec_dir=spec_dir,
                     flags=flags) as (client, info), \
            provision_session(client, info, settings.secrets.values) as session, \
            root_runner(info, session.pool, session.addresses) as runner:
        ssh = node_ssh_configured(info)

        def load() -> Any:
            fresh, _ = load_spec(path, settings)
            return desired_from(fresh, spec_dir, restart=restart, node_ssh_available=ssh)

        act = ActOptions(allow=allowed, restart=restart,  # type: ignore[arg-type]
                         fence_confirmed=fence_confirmed,
                         apply=dataclasses.replace(ApplyOptions(parallelism=parallelism),
                                                   root_runner=runner,
                                                   provisioner=StackProvisioner(session)))
        options = WatchOptions(interval=interval, jitter=jitter, apply=apply_, act=act,
                               node_timeout=node_timeout,
                               lock_ttl=lock_ttl or max(3 * interval, 60.0),
                               max_cycles=max_cycles)
        watcher = Watcher(client, load, options, emit=_emit, stack=loaded.stack.stack,
                          stop=stop)
        server = WatchServer(host, int(port), _redacted(WatchEndpoints(
            watcher.metrics.exposition, watcher.health, watcher.records.snapshot),
            settings)).start()
        watcher.say("listening", listen=f"{server.host}:{server.port}")
        previous = {sig: signal.signal(sig, lambda *_: stop.set())
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            watcher.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            server.stop()
    return int(ExitStatus.OK)


def _redacted(endpoints: Any, settings: Settings) -> Any:
    """The endpoints with every known secret masked (records quote error messages)."""
    from pxrun.cli.redact import redacted_json
    from pxrun.daytwo.server import WatchEndpoints

    secrets = settings.secrets

    def health() -> tuple[bool, dict[str, Any]]:
        ok, detail = endpoints.health()
        return ok, redacted_json(detail, secrets)

    return WatchEndpoints(lambda: secrets.redact(endpoints.metrics().decode()).encode(),
                          health, lambda: redacted_json(endpoints.records(), secrets))


def _emit(event: dict[str, Any]) -> None:
    """One JSON line per event on stdout, flushed (journald and pipes see it at once)."""
    sys.stdout.write(json.dumps(event, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()
