"""`pxrun destroy`: the stack's containers (`-f SPEC`), or one container by hand (`VMID`).

`destroy VMID` is pxrun 0.1's command line, and it goes through the same planner and
executor as everything else: the container's stack is found from its tag and marker, the
stack lock is taken, a destroy plan for that one container is shown, and it is carried out
after a question (`--force` or `--auto-approve` skip it).

A container no stack owns is not deleted by accident: pxrun never deletes what it does
not manage unless told so by name (DESIGN §4). The refusal suggests `pxrun import VMID`
(adopt it) or `--unmanaged` (delete it anyway). pxrun 0.1 managed no stacks, so its users'
`destroy VMID --force --purge` is taken as that explicit word, with a note naming
`--unmanaged`. Such a delete is planned like any other (the container adopted for the
plan only), so protection and the question work the same.

Exit statuses: 0 destroyed (or nothing to do), 1 failed, refused or answered no, 3 usage.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pxrun.cli.applyflow import locked_apply
from pxrun.cli.cmd_apply import apply_options, apply_session, build_apply_options, run_apply
from pxrun.cli.context import Settings

if TYPE_CHECKING:
    from pxrun.connect.client import ProxmoxerClient
    from pxrun.observe.inventory import GuestRow
    from pxrun.plan.model import Plan


@click.command("destroy")
@click.argument("vmid", required=False, type=click.IntRange(1))
@click.option("--target", "targets", multiple=True, metavar="NAME",
              help="Destroy only this container of the spec (and what depends on it); "
                   "repeatable.")
@click.option("--force", is_flag=True,
              help="Do not ask (as --auto-approve; pxrun 0.1's flag).")
@click.option("--purge", is_flag=True,
              help="Accepted for pxrun 0.1 scripts: pxrun always removes the container from "
                   "backup, replication and HA jobs as it deletes it. With --force, a "
                   "container no stack manages is deleted too, as pxrun 0.1 did.")
@click.option("--unmanaged", is_flag=True,
              help="Also delete a container that no pxrun stack manages.")
@apply_options
@click.pass_obj
def destroy_cmd(settings: Settings | None, /, vmid: int | None, targets: tuple[str, ...],
                force: bool, purge: bool, unmanaged: bool, **kwargs: Any) -> int:
    """Delete the stack's containers (-f SPEC, --target NAME), or one container (VMID).

    With VMID: a container managed by pxrun (any stack), or with --unmanaged any container.
    Its stack is locked, the plan is shown, and you are asked before anything is deleted,
    unless --force. A container that joined a tailnet leaves it too (the Tailscale API; on
    a terminal you are asked first), unless --keep-tailscale.
    """
    from pxrun.errors import UsageError

    kwargs["auto_approve"] = kwargs["auto_approve"] or force
    if vmid is None:
        return run_apply(settings, planfile=None, mode="destroy", targets=targets, replace=(),
                         no_prune=False, **kwargs)
    if targets or kwargs["path"] is not None:
        raise UsageError("give a VMID or a spec (-f, --target), not both",
                         hint="`pxrun destroy 120` deletes container 120; "
                              "`pxrun destroy -f SPEC` the containers of a stack")
    return destroy_vmid(settings, vmid, unmanaged=unmanaged, legacy=force and purge, **kwargs)


def destroy_vmid(settings: Settings | None, vmid: int, *, unmanaged: bool, legacy: bool,
                 auto_approve: bool,
                 parallelism: int, node_limit: int, storage_limit: int, restart: str | None,
                 lock_timeout: float, op_timeouts: dict[str, float], flags: Any,
                 keep_tailscale: bool = False, **rest: Any) -> int:
    """Plan and carry out the destroy of one managed container, found by its vmid."""
    from pxrun.cli.prompting import confirm
    from pxrun.spec.legacy import name_from_hostname
    from pxrun.spec.load import LoadedStack
    from pxrun.spec.model import Container, Stack

    settings = settings if settings is not None else Settings()
    options = build_apply_options(parallelism=parallelism, node_limit=node_limit,
                                  storage_limit=storage_limit, op_timeouts=op_timeouts)

    def ask(plan: Plan) -> bool:
        (change,) = [c for c in plan.changes if c.operations]
        where = f" on {change.node}" if change.node else ""
        whose = ("which no stack manages" if plan.stack == UNMANAGED
                 else f"of stack {plan.stack}")
        return confirm(f"Destroy container {change.address} (vmid {vmid}{where}) {whose}, "
                       "with its volumes?", flag="--force")

    terminal = sys.stdin.isatty() and sys.stdout.isatty()  # a live progress table
    with apply_session(settings, options, flags=flags, interactive=terminal,
                       ask=not auto_approve) as (client, options, hook, _):
        owner, row = managed_name(client, vmid)
        adopt: dict[int, str] | None = None
        if owner is None:
            _allow_unmanaged(settings, row, unmanaged=unmanaged, legacy=legacy)
            name = name_from_hostname(row.hostname) or f"ct{vmid}"
            stack = UNMANAGED
            spec = Stack(version=1, stack=stack,
                         containers={name: Container(name=name, hostname=row.hostname)})
            adopt = {vmid: name}  # a stray for this one plan: observed by its vmid
        else:
            stack, name = owner
            spec = Stack(version=1, stack=stack)
        return locked_apply(client, settings, LoadedStack(spec, files=()), None, hook, options,
                            mode="destroy", targets=(name,), replace=(), no_prune=False,
                            restart=restart, auto_approve=auto_approve,
                            lock_timeout=lock_timeout, spec_dir=Path.cwd(),
                            confirm=None if auto_approve else ask, adopt=adopt,
                            keep_tailnet=keep_tailscale)


UNMANAGED = "unmanaged"
"""The stack name (and lock) a by-hand delete of an unmanaged container plans under."""


def _allow_unmanaged(settings: Settings, row: GuestRow, *, unmanaged: bool,
                     legacy: bool) -> None:
    """Refuse to delete a container no stack owns, unless told so by name."""
    from pxrun.errors import PlanError

    if unmanaged:
        return
    if legacy:
        click.echo(f"note: container {row.vmid} ({row.hostname}) is not managed by pxrun; "
                   "deleted as pxrun 0.1 did for --force --purge (write --unmanaged to say "
                   "so)", err=True)
        return
    raise PlanError(
        f"container {row.vmid} ({row.hostname}) is not managed by pxrun, and pxrun deletes "
        "a container no stack owns only when told so",
        hint=f"adopt it into a stack with `pxrun import {row.vmid}`, or delete it with "
             f"`pxrun destroy {row.vmid} --unmanaged` (or `pct destroy {row.vmid} --purge` "
             f"on {row.node})")


def managed_name(client: ProxmoxerClient, vmid: int,
                 ) -> tuple[tuple[str, str] | None, GuestRow]:
    """((stack, name in the stack) or None when no stack manages it, its list row); an
    error naming what it is instead when it is missing or a VM."""
    from pxrun.errors import NotFoundError, UsageError
    from pxrun.observe.fetch import observe_cluster
    from pxrun.observe.inventory import list_guests

    rows = {row.vmid: row for row in list_guests(client, include_vms=True)}
    row = rows.get(vmid)
    if row is None:
        raise NotFoundError(f"there is no guest {vmid} on the cluster")
    if row.type != "lxc" or row.template:
        raise UsageError(f"{vmid} is {'a template' if row.template else 'a virtual machine'}"
                         "; pxrun manages LXC containers only")
    if row.stack is None:
        return None, row
    observed = observe_cluster(client, row.stack, facts=False, adopt=(vmid,))
    for name, container in observed.containers.items():
        if container.vmid == vmid:
            return (row.stack, name), row
    return None, row
