"""`pxrun sim`: create, serve, reset and inspect a simulator state directory.

Why here: the simulator is a library (`pxrun.sim`); this module is only the edge that turns
arguments into a state directory and a running server, and prints the facts a client needs.
`pxrun.sim` is imported inside the commands, so `pxrun --help` stays light. The token secret
is printed by `init` and `serve` on purpose (they are how you obtain it) and nowhere else.

Fault and latency flags of `serve` apply to that run only; add `--save-settings` to write them
into `<DIR>/settings.json`, which every later run (and `pxrun --sim`) reads.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pxrun.cli.context import Settings
from pxrun.collector import resume_collector

if TYPE_CHECKING:
    from pxrun.sim.runtime import SimFacts
    from pxrun.sim.settings import SimSettings

DIR_ARG = click.argument("state_dir", metavar="[DIR]", required=False,
                         type=click.Path(path_type=Path, file_okay=False))


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.find_object(Settings)
    return obj if obj is not None else Settings()


def _dir(ctx: click.Context, state_dir: Path | None) -> Path:
    """The state directory, absolute: the facts printed from it must work from anywhere."""
    return (state_dir if state_dir is not None else _settings(ctx).sim_dir).absolute()


@click.group()
def sim() -> None:
    """Run and manage the Proxmox VE simulator (state in DIR, default .pxrun/sim).

    The simulator serves the Proxmox VE API over HTTPS and each node over SSH (user = node
    name, key = DIR/ssh_key) on 127.0.0.1. It is a test bed, not isolation or security.
    """


@sim.command("init")
@DIR_ARG
@click.option("--force", is_flag=True, help="Replace the cluster with a fresh default one.")
@click.pass_context
def init(ctx: click.Context, state_dir: Path | None, force: bool) -> None:
    """Create a state directory and print how to connect (including the token secrets).

    Besides root@pam's token it creates `pxrun@pve!pxrun`, a privilege-separated token with
    only what pxrun needs, for trying permission errors and `pxrun doctor`'s rights check.
    """
    from pxrun.sim.auth import init_operator
    from pxrun.sim.runtime import init_state

    path = _dir(ctx, state_dir)
    facts = init_state(path, force=force)
    operator = init_operator(path)
    _print_facts(ctx, facts, "initialised", operator=operator)


@sim.command("serve")
@DIR_ARG
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="HTTPS port (default: the one chosen at init if free, else any free port).")
@click.option("--ssh-port", type=click.IntRange(0, 65535), default=None,
              help="SSH port (default: as for --port).")
@click.option("--latency-ms", type=click.FloatRange(0), help="Added to every API request.")
@click.option("--jitter-ms", type=click.FloatRange(0), help="Random extra latency, up to this.")
@click.option("--concurrency", type=click.IntRange(1), help="Requests served at once.")
@click.option("--error-rate", type=click.FloatRange(0, 1), help="Share of requests failing 5xx.")
@click.option("--lock-contention", type=click.FloatRange(0, 1),
              help="Share of config writes failing with 'got timeout'.")
@click.option("--lost-answers", type=click.FloatRange(0, 1),
              help="Share of writes carried out whose answer is lost (connection dropped).")
@click.option("--node-workers", type=click.IntRange(0),
              help="Requests each node serves at once (Proxmox: 3; 0: no per-node limit).")
@click.option("--server-time-ms", type=click.FloatRange(0),
              help="Time a node's worker spends on each request.")
@click.option("--task-failure", "task_failures", multiple=True, metavar="TYPE=RATE",
              help="Share of tasks of a type that fail, e.g. vzstart=0.2 (repeatable).")
@click.option("--offline", "offline", multiple=True, metavar="NODE",
              help="A node that answers as unreachable (repeatable).")
@click.option("--pve-version", type=click.Choice(["8.4", "9.1"]), help="Proxmox VE to mimic.")
@click.option("--time-scale", type=click.FloatRange(0), help="Multiplies task durations.")
@click.option("--seed", type=int, help="Makes random faults, MACs and leases repeatable.")
@click.option("--save-settings", is_flag=True, help="Also write these settings to DIR.")
@click.pass_context
def serve(ctx: click.Context, /, state_dir: Path | None, port: int | None,
          ssh_port: int | None,
          save_settings: bool, **knobs: Any) -> int:
    """Serve the simulator in the foreground until Ctrl-C; the state is saved on exit."""
    from pxrun.sim.runtime import SimRuntime, init_state, is_initialised, preferred_ports
    from pxrun.sim.statelock import set_owner_kind

    set_owner_kind("serve")  # a `pxrun --sim` finding the directory busy talks to us instead
    resume_collector()  # a server runs until stopped: cycles are collected as usual
    path = _dir(ctx, state_dir)
    if not is_initialised(path):
        init_state(path)
    settings = _apply_knobs(path, knobs)
    preferred = preferred_ports(path)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runtime = SimRuntime(
        path,
        port=port if port is not None else _if_free(preferred["port"]),
        ssh_port=ssh_port if ssh_port is not None else _if_free(preferred["ssh_port"]),
        request_log=_settings(ctx).request_log,
        settings=settings,
        persist_settings=save_settings,
    )
    try:
        with runtime:
            _print_facts(ctx, runtime.facts, "serving")
            if not _settings(ctx).json:
                click.echo("Press Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not _settings(ctx).quiet:
        click.echo(f"stopped; state saved in {path}", err=True)
    return 0


@sim.command("reset")
@DIR_ARG
@click.pass_context
def reset(ctx: click.Context, state_dir: Path | None) -> None:
    """Back to a fresh default cluster; credentials, CA, keys and settings are kept."""
    from pxrun.sim.runtime import reset_state

    facts = reset_state(_dir(ctx, state_dir))
    if _settings(ctx).json:
        click.echo(json.dumps({"state_dir": str(facts.state_dir), "nodes": list(facts.nodes)}))
    else:
        click.echo(f"reset {facts.state_dir}: fresh cluster with nodes {', '.join(facts.nodes)}")


@sim.command("status")
@DIR_ARG
@click.pass_context
def status(ctx: click.Context, state_dir: Path | None) -> None:
    """Show the nodes, container counts and settings of a state directory."""
    from pxrun.sim.runtime import describe_state

    summary = describe_state(_dir(ctx, state_dir))
    if _settings(ctx).json:
        click.echo(json.dumps(summary, sort_keys=True))
        return
    click.echo(f"state: {summary['state_dir']}")
    for node in summary["nodes"]:
        state = "online" if node["online"] else "offline"
        click.echo(f"  {node['name']:<8} {state:<8} containers: {node['containers']} "
                   f"({node['running']} running)")
    s = summary["settings"]
    click.echo(f"settings: pve {s['pve_version']}, concurrency {s['concurrency']}, "
               f"time scale {s['time_scale']}, latency {s['latency_ms']} ms "
               f"(+{s['jitter_ms']} jitter), error rate {s['error_rate']}, lock contention "
               f"{s['lock_contention']}, lost answers {s['lost_answers']}, task failures "
               f"{s['task_failure'] or 'none'}, offline {', '.join(s['offline_nodes']) or 'none'}"
               f", node workers {s['node_workers'] or 'unlimited'} "
               f"({s['server_time_ms']} ms each)")


def _apply_knobs(path: Path, knobs: dict[str, Any]) -> SimSettings | None:
    """The persisted settings with this run's flags on top (None when no flag was given)."""
    from pxrun.sim.settings import SimSettings

    given = {k: v for k, v in knobs.items() if v not in (None, ())}
    if not given:
        return None
    settings = SimSettings.load(path / "settings.json")
    faults = settings.faults
    for name in ("latency_ms", "jitter_ms", "error_rate", "lock_contention", "lost_answers"):
        if name in given:
            setattr(faults, name, float(given[name]))
    for item in given.get("task_failures", ()):
        task_type, sep, rate = item.partition("=")
        try:
            value = float(rate)
        except ValueError:
            value = -1.0
        if not sep or not task_type or not 0 <= value <= 1:
            raise click.BadParameter(f"expected TYPE=RATE with RATE in [0, 1], got {item!r}",
                                     param_hint="--task-failure")
        faults.task_failure[task_type] = value
    if "offline" in given:
        faults.offline_nodes = list(given["offline"])
    for name in ("concurrency", "pve_version", "time_scale", "seed", "node_workers",
                 "server_time_ms"):
        if name in given:
            setattr(settings, name, given[name])
    return settings


def _if_free(port: int) -> int:
    """`port` if our server could listen on it now. SO_REUSEADDR as the server itself uses:
    a restart while clients were connected leaves the old port in TIME_WAIT, which must not
    move the simulator to another port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


def _print_facts(ctx: click.Context, facts: SimFacts, verb: str,
                 operator: tuple[str, str] | None = None) -> None:
    if _settings(ctx).json:
        data = facts.to_json()
        if operator is not None:
            data["operator_token_id"], data["operator_token_secret"] = operator
        click.echo(json.dumps(data, sort_keys=True))
        return
    users = ", ".join(facts.nodes)
    click.echo(f"pxrun simulator {verb} (state in {facts.state_dir})")
    click.echo(f"  endpoint:      {facts.endpoint}")
    click.echo(f"  token id:      {facts.token_id}")
    click.echo(f"  token secret:  {facts.token_secret}")
    if operator is not None:
        click.echo(f"  least-privilege token id:      {operator[0]}")
        click.echo(f"  least-privilege token secret:  {operator[1]}")
    click.echo(f"  CA file:       {facts.ca_file}")
    click.echo(f"  fingerprint:   {facts.fingerprint}")
    click.echo(f"  SSH:           127.0.0.1 port {facts.ssh_port}, user = node name ({users})")
    click.echo(f"  SSH key:       {facts.ssh_key}")
    click.echo(f"  known_hosts:   {facts.known_hosts}")
