"""The apply flow shared by `apply`, `destroy`, `create` and `import`: lock, observe, plan
(or prove a saved plan fresh), show, ask, apply, report.

Why its own module: the four commands differ in how they build the plan's inputs and the
question they ask, not in this sequence, which must stay one piece of code: the lock is
taken before the cluster is read, so the plan shown is the plan carried out.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from pxrun.cli.context import Settings
from pxrun.cli.images import image_digests
from pxrun.cli.prefetch import prefetch
from pxrun.cli.safetyflags import SafetyFlags
from pxrun.cli.status import ExitStatus
from pxrun.collector import resume_collector

if TYPE_CHECKING:
    from pxrun.apply.context import ApplyOptions
    from pxrun.apply.hooks import Hook
    from pxrun.apply.summary import ApplySummary
    from pxrun.connect.client import ProxmoxerClient
    from pxrun.plan.model import Mode, Plan, RestartPolicy
    from pxrun.spec.load import LoadedStack


def locked_apply(client: ProxmoxerClient, settings: Settings, loaded: LoadedStack,
                 saved: Plan | None, hook: Hook, options: ApplyOptions, *, mode: str,
                 targets: tuple[str, ...], replace: tuple[str, ...], no_prune: bool,
                 restart: str | None, auto_approve: bool, lock_timeout: float,
                 spec_dir: Path, confirm: Callable[[Plan], bool] | None = None,
                 on_summary: Callable[[ApplySummary], None] | None = None,
                 adopt: Mapping[int, str] | None = None, keep_tailnet: bool = False,
                 reprovision: bool = False, safety: SafetyFlags | None = None) -> int:
    """Lock the stack, observe, plan (or prove a saved plan fresh), show, approve, apply,
    report. `confirm` replaces the "Only 'yes'" question (by-hand commands); `on_summary`
    sees the outcome after the summary table (create prints how to connect); `adopt`
    (vmid -> name) are the containers `pxrun import` adopts."""
    from pxrun.apply.engine import apply_plan
    from pxrun.apply.secrets import SecretMap
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
    options = for_spec(options, loaded, spec_dir)
    lock = StackLock(client, stack, on_warning=lambda m: _warn(settings, m))
    lock.acquire(timeout=lock_timeout)
    try:
        observed = observe_cluster(client, loaded.stack, adopt=tuple(adopt or ()))
        popts = plan_options(loaded, observed, spec_dir, targets=targets, replace=replace,
                             mode=cast("Mode", mode), no_prune=no_prune,
                             restart=cast("RestartPolicy", restart or "auto"),
                             node_ssh_available=options.root_runner is not None,
                             reprovision=reprovision, keep_tailnet=keep_tailnet,
                             tailnet_api=options.tailnet is not None,
                             rebalance=settings.rebalance,
                             image_digests=image_digests(client, settings, loaded.stack,
                                                         observed),
                             safety=safety)
        if adopt:
            popts = dataclasses.replace(popts, adopt=adopt)
        fresh = make_plan(loaded.stack, observed, popts)
        if saved is not None:
            check_fresh(saved, fresh.observed_digests, fresh.spec_hash, loaded.stack.stack)
        plan = saved or fresh
        verdict = _show_and_approve(plan, settings, loaded, auto_approve, confirm)
        if verdict is not None:
            return verdict
        if options.secrets is None:  # the values of the secrets the plan names
            options = dataclasses.replace(options, secrets=SecretMap(loaded.secrets))
        if options.shared_storages is None:  # observe read them: no second request
            options = dataclasses.replace(options, shared_storages=frozenset(
                s.storage for s in observed.storages if s.shared))
        if not settings.json:  # the summary table's modules, imported while we wait
            prefetch("rich.console", "rich.table", "rich.markup")
        resume_collector()  # the run may last minutes: cycles are collected again
        summary = apply_plan(client, plan, options=options, hook=hook)
    finally:
        lock.release()
    _print_summary(summary, settings)
    if on_summary is not None:
        on_summary(summary)
    if summary.interrupted:
        return int(ExitStatus.INTERRUPTED)
    return int(ExitStatus.OK if summary.ok else ExitStatus.ERROR)


def for_spec(options: ApplyOptions, loaded: LoadedStack, spec_dir: Path) -> ApplyOptions:
    """The apply options completed with what the spec gives: the provisioner bound to its
    steps, files and secrets, and the Tailscale API when a key is known (TAILSCALE_API_KEY
    or `tailscale_api_key` in the sops secrets; TAILSCALE_BASE_URL and TAILSCALE_TAILNET
    select another API and tailnet)."""
    from pxrun.apply.provisioner import StackProvisioner
    from pxrun.connect.tailnet import DEFAULT_BASE_URL, TailscaleApi, tailnet_key

    provisioner = options.provisioner
    if isinstance(provisioner, StackProvisioner):
        provisioner = provisioner.for_spec(loaded.stack, spec_dir, loaded.secrets,
                                           allow_outside=loaded.allow_outside_paths)
    tailnet = options.tailnet
    key = tailnet_key(os.environ, loaded.secrets)
    if tailnet is None and key:
        tailnet = TailscaleApi(key, base_url=os.environ.get("TAILSCALE_BASE_URL")
                               or DEFAULT_BASE_URL,
                               tailnet=os.environ.get("TAILSCALE_TAILNET") or "-")
    return dataclasses.replace(options, provisioner=provisioner, tailnet=tailnet)


def _show_and_approve(plan: Plan, settings: Settings, loaded: LoadedStack,
                      auto_approve: bool, confirm: Callable[[Plan], bool] | None = None,
                      ) -> int | None:
    """Show the plan; None to go on, else the exit status (errors, nothing to do, "no")."""
    from pxrun.cli.cmd_plan import _colour, _echo, print_diagnostics
    from pxrun.render import wording
    from pxrun.render.human import render_diagnostics, render_plan
    from pxrun.render.jsonplan import plan_to_json

    doc = plan_to_json(plan)
    print_diagnostics(render_diagnostics(doc, markup=_colour(settings, sys.stderr),
                                         locate=loaded.where), settings)
    if settings.json:
        click.echo(json.dumps({"event": "plan", "plan": doc}, sort_keys=True))
    elif not settings.quiet:
        _echo(render_plan(doc, markup=_colour(settings, sys.stdout)), settings, nl=False)
    if plan.errors:  # shown with the changes they block, then nothing is applied
        return int(ExitStatus.ERROR)
    if not any(c.operations for c in plan.changes):
        if not settings.json and settings.quiet:
            click.echo(wording.NO_CHANGES)
        return int(ExitStatus.OK)
    if auto_approve:
        return None
    if confirm is not None:
        if confirm(plan):
            return None
        click.echo("Cancelled: nothing was changed.", err=True)
        return int(ExitStatus.ERROR)
    click.echo("\nDo you want to perform these actions? Only 'yes' will be accepted.")
    answer = click.prompt("Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        click.echo("Apply cancelled.")
        return int(ExitStatus.ERROR)
    return None


def make_hook(settings: Settings, *, interactive: bool, ask: bool = True) -> Hook:
    """The progress view for this run: JSON events, a live table, or plain lines. `ask`:
    questions during the apply (a tailnet node's removal) are asked on a terminal."""
    from pxrun.cli.progress import JsonProgress, LiveProgress, PlainProgress

    if settings.json:
        return JsonProgress()
    if interactive and not settings.quiet:
        from pxrun.cli.output import make_console

        return LiveProgress(make_console(settings), ask=ask)
    return PlainProgress(interactive=interactive, ask=ask)


def _print_summary(summary: Any, settings: Settings) -> None:
    if settings.json:
        return  # the apply_finished event carried it
    from pxrun.cli.output import make_console
    from pxrun.cli.progress import summary_table

    summary_table(summary, make_console(settings))


def _warn(settings: Settings, message: str) -> None:
    from pxrun.cli.output import warn

    warn(settings, message)
