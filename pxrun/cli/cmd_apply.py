"""`pxrun apply`, `pxrun destroy` and `pxrun force-unlock`.

apply = take the stack lock -> observe -> plan (or load a saved plan and prove it fresh)
-> show it -> ask -> `pxrun.apply.apply_plan` -> summary. The lock is taken before the
cluster is read, as Terraform does, so the plan shown is the plan carried out. A saved plan
was reviewed already and is applied without a question, but only if it is not stale.

Exit statuses: 0 all done (or nothing to do), 1 a change failed or the plan has errors,
3 usage (e.g. no approval possible without a terminal), 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from pxrun.cli.cluster import open_client, request_timeout, root_runner
from pxrun.cli.context import Settings, outside_paths_allowed
from pxrun.cli.status import ExitStatus

if TYPE_CHECKING:
    from pxrun.apply.context import ApplyOptions
    from pxrun.apply.hooks import Hook
    from pxrun.connect.client import ProxmoxerClient
    from pxrun.connect.settings import ConnectionFlags
    from pxrun.plan.model import Mode, Plan, RestartPolicy
    from pxrun.spec.load import LoadedStack

F = TypeVar("F", bound=Callable[..., Any])
TIMEOUT_KINDS = ("create", "download", "start", "shutdown", "stop", "reboot", "delete",
                 "resize", "move", "migrate", "ip")


def apply_options(func: F) -> F:
    """The options apply and destroy share, plus connection flags.

    `--timeout` here takes `KIND=SECONDS` (per operation kind, repeatable) or a bare number
    (the API request timeout, as for other commands), so both meanings share one flag.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pxrun.connect.settings import ConnectionFlags

        request_timeout, op_timeouts = _split_timeouts(kwargs.pop("timeout"))
        flags = ConnectionFlags(endpoint=kwargs.pop("endpoint"), token_id=kwargs.pop("token_id"),
                                ca_file=kwargs.pop("ca_file"),
                                fingerprint=kwargs.pop("fingerprint"),
                                insecure=kwargs.pop("insecure"), timeout=request_timeout)
        return func(*args, flags=flags, op_timeouts=op_timeouts, **kwargs)

    options = [
        click.option("-f", "--file", "path", type=click.Path(path_type=Path), default=None,
                     help="Spec file or folder [default: pxrun.yaml, else the pxrun/ folder]."),
        click.option("--auto-approve", is_flag=True, help="Do not ask for approval."),
        click.option("--parallelism", type=click.IntRange(1, 64), default=4, show_default=True,
                     help="Containers changed at once."),
        click.option("--node-limit", type=click.IntRange(1, 64), default=2, show_default=True,
                     help="API operations at once per node."),
        click.option("--storage-limit", type=click.IntRange(1, 64), default=2,
                     show_default=True, help="Volume operations at once per storage."),
        click.option("--restart", type=click.Choice(["auto", "never", "ask"]), default=None,
                     help="When a change needs a restart: do it, leave it pending, or ask "
                          "[default: the spec's lifecycle.restart, else auto]."),
        click.option("--timeout", multiple=True, metavar="KIND=SECONDS",
                     help=f"Timeout per operation kind ({', '.join(TIMEOUT_KINDS)}); "
                          "repeatable. A bare number sets the API request timeout."),
        click.option("--lock-timeout", type=float, default=0.0, metavar="SECONDS",
                     help="Wait this long for another apply of the stack to finish."),
        click.option("--json", "json_output", is_flag=True,
                     help="Progress as JSON events, one object per line."),
        click.option("--sim", is_flag=True, help="Against the built-in simulator."),
        click.option("--cluster", "--profile", "cluster", metavar="NAME", default=None,
                     help="Connection profile (as the global --cluster)."),
        click.option("--endpoint", metavar="URL", help="Proxmox API, https://host[:8006]."),
        click.option("--token-id", metavar="USER@REALM!NAME", help="API token id."),
        click.option("--ca-file", type=click.Path(path_type=Path, dir_okay=False),
                     help="CA certificate to verify the cluster with."),
        click.option("--fingerprint", metavar="SHA256", help="Pin the server certificate."),
        click.option("--insecure", is_flag=True, help="Do not verify the server certificate."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def _split_timeouts(values: tuple[str, ...]) -> tuple[float | None, dict[str, float]]:
    from pxrun.errors import UsageError

    request: float | None = None
    kinds: dict[str, float] = {}
    for value in values:
        kind, sep, seconds = value.partition("=")
        try:
            number = float(seconds if sep else kind)
        except ValueError:
            raise UsageError(f"--timeout {value}: expected KIND=SECONDS or SECONDS") from None
        if not sep:
            request = request_timeout(number)
        elif not 0 < number < float("inf"):  # also refuses nan
            raise UsageError(f"--timeout {value}: must be a positive number of seconds")
        elif kind not in TIMEOUT_KINDS:
            raise UsageError(f"--timeout {value}: unknown kind {kind!r}; one of "
                             + ", ".join(TIMEOUT_KINDS))
        else:
            kinds[kind] = number
    return request, kinds


@click.command("apply")
@click.argument("planfile", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--target", "targets", multiple=True, metavar="NAME",
              help="Apply only this container (and what it depends on); repeatable.")
@click.option("--replace", "replace", multiple=True, metavar="NAME",
              help="Replace this container even though nothing forces it; repeatable.")
@click.option("--no-prune", is_flag=True, help="Keep managed containers no longer in the spec.")
@apply_options
@click.pass_obj
def apply_cmd(settings: Settings | None, /, planfile: Path | None, targets: tuple[str, ...],
              replace: tuple[str, ...], no_prune: bool, **kwargs: Any) -> int:
    """Make the cluster match the spec (or carry out a saved plan).

    Shows the plan and asks for "yes" first (unless --auto-approve, or PLANFILE: a saved
    plan was reviewed already and is applied only if nothing changed since it was made).
    """
    return run_apply(settings, planfile=planfile, mode="normal", targets=targets,
                     replace=replace, no_prune=no_prune, **kwargs)


@click.command("destroy")
@click.option("--target", "targets", multiple=True, metavar="NAME",
              help="Destroy only this container (and what depends on it); repeatable.")
@apply_options
@click.pass_obj
def destroy_cmd(settings: Settings | None, /, targets: tuple[str, ...], **kwargs: Any) -> int:
    """Delete every container of the stack (or the --target ones)."""
    return run_apply(settings, planfile=None, mode="destroy", targets=targets, replace=(),
                     no_prune=False, **kwargs)


@click.command("force-unlock")
@click.option("-f", "--file", "path", type=click.Path(path_type=Path), default=None,
              help="Spec whose stack to unlock [default: pxrun.yaml, else pxrun/].")
@click.option("--stack", "stack", default=None, metavar="NAME", help="Stack to unlock.")
@click.option("--sim", is_flag=True, help="Against the built-in simulator.")
@click.pass_obj
def force_unlock_cmd(settings: Settings | None, path: Path | None, stack: str | None,
                     sim: bool) -> int:
    """Release a stack's apply lock, whoever holds it. Only when no apply is running."""
    from pxrun.apply.stacklock import LockInfo, force_unlock

    settings = settings if settings is not None else Settings()
    settings.sim = settings.sim or sim
    spec_cluster = None
    if stack is None:
        loaded = _load(path)
        stack, spec_cluster = loaded.stack.stack, loaded.stack.cluster
    with open_client(settings, spec_cluster=spec_cluster) as (client, _):
        holder = force_unlock(client, stack)
    if holder is None:
        click.echo(f"stack {stack!r} was not locked")
    elif isinstance(holder, LockInfo):
        click.echo(f"released the lock of stack {stack!r} ({holder.describe()})")
    else:
        click.echo(f"released the lock of stack {stack!r}")
    return int(ExitStatus.OK)


def _load(path: Path | None) -> LoadedStack:
    from pxrun.spec.load import default_spec_path, load_stack

    spec = path if path is not None else default_spec_path(Path.cwd())
    return load_stack(spec, environ=dict(os.environ),
                    allow_outside_paths=outside_paths_allowed())


def run_apply(settings: Settings | None, *, planfile: Path | None, mode: str,
              targets: tuple[str, ...], replace: tuple[str, ...], no_prune: bool,
              path: Path | None, auto_approve: bool, parallelism: int, node_limit: int,
              storage_limit: int, restart: str | None, lock_timeout: float,
              json_output: bool, sim: bool, cluster: str | None, flags: ConnectionFlags,
              op_timeouts: dict[str, float]) -> int:
    from pxrun.apply.context import DEFAULT_TIMEOUTS, ApplyOptions
    from pxrun.apply.limits import Limits
    from pxrun.errors import UsageError

    settings = settings if settings is not None else Settings()
    settings.sim = settings.sim or sim
    settings.cluster = cluster or settings.cluster
    settings.json = settings.json or json_output
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if planfile is None and not auto_approve and not interactive:
        raise UsageError("refusing to apply without approval: no terminal to ask on",
                         hint="pass --auto-approve (e.g. in CI), or apply a reviewed plan "
                              "saved with `pxrun plan -o FILE`")
    saved = _read_plan(planfile) if planfile is not None else None
    loaded = _load(path)
    spec_dir = loaded.spec_dir  # also right for the default pxrun/ folder
    options = ApplyOptions(parallelism=parallelism,
                           limits=Limits(node=node_limit, storage=storage_limit),
                           timeouts={**DEFAULT_TIMEOUTS, **op_timeouts},
                           # A fresh plan already holds --restart (lifecycle.restart wins
                           # there); for a saved plan, an explicit --restart overrides.
                           restart=cast("RestartPolicy | None",
                                        restart if planfile is not None else None))
    with open_client(settings, spec_cluster=loaded.stack.cluster, spec_dir=spec_dir,
                     flags=flags) as (client, info), root_runner(info) as runner:
        # With node SSH, root@pam-only options go through `pct set` on the node (and the
        # plan allows them); without it the plan refuses them with guidance.
        options = dataclasses.replace(options, root_runner=runner)
        hook = make_hook(settings, interactive=interactive)
        return _locked_apply(client, settings, loaded, saved, hook, options, mode=mode,
                             targets=targets, replace=replace, no_prune=no_prune,
                             restart=restart, auto_approve=auto_approve or saved is not None,
                             lock_timeout=lock_timeout, spec_dir=spec_dir)


def _read_plan(planfile: Path) -> Plan:
    from pxrun.errors import PlanError, UsageError
    from pxrun.render.jsonplan import plan_from_json
    from pxrun.spec.paths import MAX_LOCAL_FILE, LocalFileError, read_bounded

    try:
        doc = json.loads(read_bounded(planfile, limit=MAX_LOCAL_FILE).decode("utf-8"))
    except LocalFileError as exc:
        raise UsageError(f"the plan {planfile} {exc}" if str(exc).startswith("is ")
                         else f"the plan {planfile}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # RecursionError: [[[[ ... 100,000 deep
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise UsageError(f"the plan {planfile} is not JSON: {reason}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"the plan {planfile} is not a pxrun plan (not a JSON object)")
    try:
        return plan_from_json(doc)
    except PlanError as exc:  # another format version, or not a plan: the argument is wrong
        raise UsageError(exc.message, hint=exc.hint) from None
    except (AttributeError, LookupError, TypeError, ValueError, RecursionError):
        raise UsageError(f"the plan {planfile} is not a pxrun plan (its content does not "
                         "match the plan format)",
                         hint="run `pxrun plan -o FILE` again") from None


def _locked_apply(client: ProxmoxerClient, settings: Settings, loaded: LoadedStack,
                  saved: Plan | None, hook: Hook, options: ApplyOptions, *, mode: str,
                  targets: tuple[str, ...], replace: tuple[str, ...], no_prune: bool,
                  restart: str | None, auto_approve: bool, lock_timeout: float,
                  spec_dir: Path) -> int:
    from pxrun.apply.engine import apply_plan
    from pxrun.apply.stacklock import StackLock
    from pxrun.apply.stale import check_fresh
    from pxrun.cli.cmd_plan import plan_options
    from pxrun.errors import PlanError
    from pxrun.observe.fetch import observe_cluster
    from pxrun.plan.planner import plan as make_plan

    stack = saved.stack if saved is not None else loaded.stack.stack
    if saved is not None and saved.stack != loaded.stack.stack:
        raise PlanError(f"the saved plan is for stack {saved.stack!r}, but the spec is stack "
                        f"{loaded.stack.stack!r}", hint="pass the plan's spec with -f")
    lock = StackLock(client, stack, on_warning=lambda m: _warn(settings, m))
    lock.acquire(timeout=lock_timeout)
    try:
        observed = observe_cluster(client, loaded.stack)
        popts = plan_options(loaded, observed, spec_dir, targets=targets, replace=replace,
                             mode=cast("Mode", mode), no_prune=no_prune,
                             restart=cast("RestartPolicy", restart or "auto"),
                             node_ssh_available=options.root_runner is not None)
        fresh = make_plan(loaded.stack, observed, popts)
        if saved is not None:
            check_fresh(saved, fresh.observed_digests, fresh.spec_hash, loaded.stack.stack)
        plan = saved or fresh
        verdict = _show_and_approve(plan, settings, loaded, auto_approve)
        if verdict is not None:
            return verdict
        summary = apply_plan(client, plan, options=options, hook=hook)
    finally:
        lock.release()
    _print_summary(summary, settings)
    if summary.interrupted:
        return int(ExitStatus.INTERRUPTED)
    return int(ExitStatus.OK if summary.ok else ExitStatus.ERROR)


def _show_and_approve(plan: Plan, settings: Settings, loaded: LoadedStack,
                      auto_approve: bool) -> int | None:
    """Show the plan; None to go on, else the exit status (errors, nothing to do, "no")."""
    from pxrun.cli.cmd_plan import _colour, _echo
    from pxrun.render import wording
    from pxrun.render.human import render_diagnostics, render_plan
    from pxrun.render.jsonplan import plan_to_json

    doc = plan_to_json(plan)
    for line in render_diagnostics(doc, markup=_colour(settings, sys.stderr)):
        _echo(loaded.redact(line), settings, err=True)
    if plan.errors:
        return int(ExitStatus.ERROR)
    if settings.json:
        click.echo(json.dumps({"event": "plan", "plan": doc}, sort_keys=True))
    elif not settings.quiet:
        _echo(loaded.redact(render_plan(doc, markup=_colour(settings, sys.stdout))), settings,
              nl=False)
    if not any(c.operations for c in plan.changes):
        if not settings.json and settings.quiet:
            click.echo(wording.NO_CHANGES)
        return int(ExitStatus.OK)
    if auto_approve:
        return None
    click.echo("\nDo you want to perform these actions? Only 'yes' will be accepted.")
    answer = click.prompt("Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        click.echo("Apply cancelled.")
        return int(ExitStatus.ERROR)
    return None


def make_hook(settings: Settings, *, interactive: bool) -> Hook:
    """The progress view for this run: JSON events, a live table, or plain lines."""
    from pxrun.cli.progress import JsonProgress, LiveProgress, PlainProgress

    if settings.json:
        return JsonProgress()
    if interactive and not settings.quiet:
        from pxrun.cli.output import make_console

        return LiveProgress(make_console(settings))
    return PlainProgress(interactive=interactive)


def _print_summary(summary: Any, settings: Settings) -> None:
    if settings.json:
        return  # the apply_finished event carried it
    from pxrun.cli.output import make_console
    from pxrun.cli.progress import summary_table

    summary_table(summary, make_console(settings))


def _warn(settings: Settings, message: str) -> None:
    from rich.markup import escape

    from pxrun.cli.output import make_console

    make_console(settings, stderr=True).print(f"[bold yellow]warning:[/] {escape(message)}")
