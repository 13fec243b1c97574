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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from pxrun.cli.applyflow import locked_apply, make_hook
from pxrun.cli.cluster import open_client, provision_session, request_timeout, root_runner
from pxrun.cli.context import Settings
from pxrun.cli.images import pve9_flags
from pxrun.cli.safetyflags import SafetyFlags, safety_options
from pxrun.cli.specload import load_spec, spec_path, var_options
from pxrun.cli.status import ExitStatus

if TYPE_CHECKING:
    from pxrun.apply.context import ApplyOptions
    from pxrun.apply.hooks import Hook
    from pxrun.connect.client import ProxmoxerClient
    from pxrun.connect.session import ConnectionInfo
    from pxrun.connect.settings import ConnectionFlags
    from pxrun.plan.model import Plan, RestartPolicy
    from pxrun.spec.load import LoadedStack

F = TypeVar("F", bound=Callable[..., Any])
TIMEOUT_KINDS = ("create", "download", "start", "shutdown", "stop", "reboot", "delete",
                 "resize", "move", "migrate", "ip", "snapshot", "backup")


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
        var_options,
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
        click.option("--keep-tailscale", "keep_tailscale", is_flag=True,
                     help="Leave the tailnet nodes of deleted containers on the tailnet "
                          "[default: remove them through the Tailscale API]."),
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
@click.option("--reprovision", is_flag=True,
              help="Run every provisioning step again, not only the changed ones.")
@safety_options
@apply_options
@click.pass_obj
@pve9_flags
def apply_cmd(settings: Settings | None, /, planfile: Path | None, targets: tuple[str, ...],
              replace: tuple[str, ...], no_prune: bool, reprovision: bool,
              **kwargs: Any) -> int:
    """Make the cluster match the spec (or carry out a saved plan).

    Shows the plan and asks for "yes" first (unless --auto-approve, or PLANFILE: a saved
    plan was reviewed already and is applied only if nothing changed since it was made).
    Provisioning runs in the containers after they start: the steps that changed since
    they last ran (all of them with --reprovision), output in .pxrun/logs/.
    """
    return run_apply(settings, planfile=planfile, mode="normal", targets=targets,
                     replace=replace, no_prune=no_prune, reprovision=reprovision, **kwargs)


@click.command("force-unlock")
@click.option("-f", "--file", "path", type=click.Path(path_type=Path), default=None,
              help="Spec whose stack to unlock [default: pxrun.yaml, else pxrun/].")
@click.option("--stack", "stack", default=None, metavar="NAME", help="Stack to unlock.")
@var_options
@click.pass_obj
def force_unlock_cmd(settings: Settings | None, path: Path | None, stack: str | None) -> int:
    """Release a stack's apply lock, whoever holds it. Only when no apply is running."""
    from pxrun.apply.stacklock import LockInfo, force_unlock

    settings = settings if settings is not None else Settings()
    spec_cluster = None
    if stack is None:
        loaded = load_spec(settings, path)
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


def run_apply(settings: Settings | None, *, planfile: Path | None, mode: str,
              targets: tuple[str, ...], replace: tuple[str, ...], no_prune: bool,
              path: Path | None, auto_approve: bool, parallelism: int, node_limit: int,
              storage_limit: int, restart: str | None, lock_timeout: float,
              flags: ConnectionFlags, op_timeouts: dict[str, float],
              keep_tailscale: bool = False, reprovision: bool = False,
              safety: SafetyFlags | None = None) -> int:
    from pxrun.errors import UsageError

    settings = settings if settings is not None else Settings()
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if planfile is None and not auto_approve and not interactive:
        raise UsageError("refusing to apply without approval: no terminal to ask on",
                         hint="pass --auto-approve (e.g. in CI), or apply a reviewed plan "
                              "saved with `pxrun plan -o FILE`")
    saved: Plan | None = None
    if planfile is not None and safety:
        raise UsageError("--discard-data, --snapshot and --rollback-on-failure shape the plan",
                         hint="pass them to `pxrun plan -o FILE`, then apply that plan")
    if planfile is not None:
        saved, saved_spec = read_saved_plan(planfile)
        if path is None and saved_spec is not None:
            path = _recorded_spec(saved_spec, planfile, settings.allow_outside_paths)
    spec = spec_path(path)
    loaded = load_spec(settings, spec)
    spec_dir = spec if spec.is_dir() else spec.parent
    if saved is not None:
        check_saved_spec(saved, loaded, spec, spec_dir)
    # A fresh plan already holds --restart (lifecycle.restart wins there); for a saved
    # plan, an explicit --restart overrides.
    options = build_apply_options(parallelism=parallelism, node_limit=node_limit,
                                  storage_limit=storage_limit, op_timeouts=op_timeouts,
                                  restart=restart if planfile is not None else None)
    approved = auto_approve or saved is not None
    with apply_session(settings, options, flags=flags, interactive=interactive,
                       spec_cluster=loaded.stack.cluster, spec_dir=spec_dir,
                       ask=not approved) as (client, options, hook, _):
        return locked_apply(client, settings, loaded, saved, hook, options, mode=mode,
                             targets=targets, replace=replace, no_prune=no_prune,
                             restart=restart, auto_approve=approved,
                             lock_timeout=lock_timeout, spec_dir=spec_dir,
                             keep_tailnet=keep_tailscale, reprovision=reprovision,
                             safety=safety)


def build_apply_options(*, parallelism: int = 4, node_limit: int = 2, storage_limit: int = 2,
                        op_timeouts: dict[str, float] | None = None,
                        restart: str | None = None) -> ApplyOptions:
    """The executor's options from the command line (defaults as the flags' defaults)."""
    from pxrun.apply.context import DEFAULT_TIMEOUTS, ApplyOptions
    from pxrun.apply.limits import Limits

    return ApplyOptions(parallelism=parallelism,
                        limits=Limits(node=node_limit, storage=storage_limit),
                        timeouts={**DEFAULT_TIMEOUTS, **(op_timeouts or {})},
                        restart=cast("RestartPolicy | None", restart))


@contextmanager
def apply_session(settings: Settings, options: ApplyOptions, *, flags: ConnectionFlags | None,
                  interactive: bool, spec_cluster: Any = None, spec_dir: Path | None = None,
                  ask: bool = True,
                  ) -> Iterator[tuple[ProxmoxerClient, ApplyOptions, Hook, ConnectionInfo]]:
    """A connected client, the apply options completed with SSH, the progress view, and
    where the client points.

    One SSH session serves both `pct set` (root@pam-only options; without node SSH the
    plan refuses them with guidance) and provisioning (bound to the spec in
    `locked_apply`). `ask`: on a terminal, ask before a tailnet node is removed."""
    from pxrun.apply.provisioner import StackProvisioner

    with open_client(settings, spec_cluster=spec_cluster, spec_dir=spec_dir,
                     flags=flags) as (client, info), \
            provision_session(client, info, settings.secrets.values) as session, \
            root_runner(info, session.pool, session.addresses) as runner:
        yield (client, dataclasses.replace(options, root_runner=runner,
                                           provisioner=StackProvisioner(session)),
               make_hook(settings, interactive=interactive, ask=ask), info)


def read_saved_plan(planfile: Path) -> tuple[Plan, Path | None]:
    """A saved plan, and the spec it was made from: recorded relative to the plan file, so
    `pxrun apply plan.json` works from any directory of the same checkout."""
    doc, plan = read_plan_document(planfile)
    recorded = doc.get("spec_path")
    if not isinstance(recorded, str):
        return plan, None
    return plan, Path(os.path.normpath(planfile.parent / recorded))


SPEC_SUFFIXES = (".yaml", ".yml", ".json")
"""What a spec file is called; a saved plan naming anything else is refused."""


def _recorded_spec(spec: Path, planfile: Path, allow_outside: bool) -> Path:
    """The spec a saved plan names, when it is a spec folder or a YAML/JSON file: a plan file
    is input too (a CI artifact, a pull request) and must not make apply read a key or a
    system file as a spec. `-f` or --allow-outside-paths says otherwise."""
    from pxrun.errors import UsageError

    if allow_outside or spec.is_dir() or spec.suffix.lower() in SPEC_SUFFIXES:
        return spec
    raise UsageError(f"the plan {planfile} names {spec} as its spec, which is neither a "
                     "spec folder nor a .yaml/.yml/.json file",
                     hint="pass -f SPEC to apply it (or --allow-outside-paths)")


def read_plan_document(planfile: Path) -> tuple[dict[str, Any], Plan]:
    """A saved plan's JSON document and its `Plan` (for apply and show). A file that is not
    a readable JSON plan (a device, a FIFO, nested 100,000 deep, another format version or
    shape) is a usage error: the argument is wrong."""
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
        plan = plan_from_json(doc)
    except PlanError as exc:  # another format version, or not a plan: the argument is wrong
        raise UsageError(exc.message, hint=exc.hint) from None
    except (AttributeError, LookupError, TypeError, ValueError, RecursionError):
        raise UsageError(f"the plan {planfile} is not a pxrun plan (its content does not "
                         "match the plan format)",
                         hint="run `pxrun plan -o FILE` again") from None
    return doc, plan


def check_saved_spec(saved: Plan, loaded: LoadedStack, spec: Path, spec_dir: Path) -> None:
    """Refuse a saved plan whose spec is not the one it was made from (its hash differs:
    the stack, a secret, or a file provisioning copies or renders)."""
    from pxrun.apply.stale import StalePlanError
    from pxrun.cli.cmd_plan import file_sources
    from pxrun.plan import spec_hash

    files, _ = file_sources(loaded.stack, spec_dir, allow_outside=loaded.allow_outside_paths)
    now = spec_hash(loaded.stack, loaded.secrets, files=files)
    if now != saved.spec_hash:
        raise StalePlanError(
            f"the plan is stale: the spec changed since the plan was made ({spec} hashes "
            f"to {now[:19]}…, the plan was made from {saved.spec_hash[:19]}…)",
            hint="run `pxrun plan -o FILE` again and apply the new plan (--var and "
                 "--var-file values are part of the spec: pass the same ones)")
