"""Stale copies: the old generation of a container recreated after its node was lost.

`pxrun watch` recreates a container whose spec opts in (`on_node_lost: recreate`) on
another node once the old node has been lost and fenced (`plan/nodelost.py`); the new
copy's marker names the copy it stands in for. When the lost node answers again, both
copies claim the container's name. Observe tells them apart by that marker
(`Observed.stale`): the recreated copy is the live one (it has run the service since), the
old one a stale generation of a stateless container (DESIGN §4, §10).

The plan says what to do with a stale copy in words: destroy it (its root filesystem
named) under its own address `<name>~<vmid>`, so it never stands for the container in
targets, records or the apply summary. `pxrun watch` carries that out only when `--allow`
lists delete. A stale copy is kept, with a warning, when it owns a volume besides its root
filesystem (Proxmox frees a container's own volumes with it: data the live copy may use
or lack) or when it has protection enabled. In refresh-only mode a stale copy is drift.
"""

from __future__ import annotations

from pxrun.observe.model import ObservedContainer, Recreated
from pxrun.plan.context import PlanContext
from pxrun.plan.diff import view
from pxrun.plan.lifecycle import delete_operation
from pxrun.plan.model import Action, ResourceChange
from pxrun.pve.config import canonical
from pxrun.pve.parts import is_own_volume

SEPARATOR = "~"


def stale_address(copy: ObservedContainer) -> str:
    """`web~101`: the stale copy of web, vmid 101."""
    return f"{copy.name}{SEPARATOR}{copy.vmid}"


def _replaced_by(ctx: PlanContext, copy: ObservedContainer,
                 ) -> tuple[ObservedContainer, Recreated] | None:
    """The copy whose marker names `copy` as the one it stands in for."""
    for other in (*ctx.observed.containers.values(), *ctx.observed.stale):
        if other.name == copy.name and other.recreates is not None and (
                other.recreates.vmid == copy.vmid):
            return other, other.recreates
    return None


def stale_reason(ctx: PlanContext, copy: ObservedContainer) -> str:
    """Why the copy is stale, for the plan and the log."""
    live = ctx.observed.containers.get(copy.name)
    found = _replaced_by(ctx, copy)
    when = f" at {found[1].at}" if found is not None else ""
    where = f" as vmid {live.vmid} on {live.node}" if live is not None else ""
    return (f"stale copy of {copy.name} after node {copy.node} was lost: {copy.name} was "
            f"recreated{where}{when}")


def _own_data(copy: ObservedContainer) -> list[str]:
    """Volumes besides its root filesystem that Proxmox would destroy with the copy:
    those allocated for its vmid (by name, as Proxmox decides)."""
    volids = [v for slot, v in copy.volids.items() if slot != "rootfs"] + list(copy.unused)
    return sorted({v for v in volids if is_own_volume(v, copy.vmid)})


def stale_changes(ctx: PlanContext, scope: set[str], *, destroy_mode: bool = False,
                  ) -> list[ResourceChange]:
    """A delete per stale copy of a container in scope, or a warning why it is kept.

    Only the copy's root filesystem goes with it. A volume of its own beside that is data
    the live copy may use (an existing volume attached again) or may lack; either way it
    is not pxrun's to destroy on a guess, so the copy is kept and the warning says why."""
    in_use = {v: oc for oc in ctx.observed.containers.values()
              for v in (*oc.volids.values(), *oc.unused)}
    out: list[ResourceChange] = []
    for copy in ctx.observed.stale:
        if copy.name not in scope:
            continue
        address, reason = stale_address(copy), stale_reason(ctx, copy)
        data = _own_data(copy)
        if data:
            users = sorted({f"{in_use[v].name} (vmid {in_use[v].vmid})" for v in data
                            if v in in_use})
            who = f", which {', '.join(users)} uses" if users else ""
            ctx.warn(address, f"{reason}; it is kept: deleting it would destroy its volume "
                              f"{', '.join(data)}{who} (Proxmox frees a container's own "
                              "volumes with it)",
                     f"move the data off container {copy.vmid} on {copy.node} (or detach "
                     "and reassign the volume) by hand, then plan again")
            continue
        if copy.current.protection:
            ctx.warn(address, f"{reason}; it is kept: it has protection enabled",
                     f"turn protection off on container {copy.vmid} to let pxrun remove it")
            continue
        root = copy.volids.get("rootfs")
        volumes = f"; its root filesystem {root} goes with it" if root else ""
        why = f"destroy mode; {reason}" if destroy_mode else reason
        out.append(ResourceChange(
            address=address, action=Action.DELETE, node=copy.node, vmid=copy.vmid,
            digest=copy.digest, before=view(canonical(copy.current), None, ctx.view_secrets()),
            operations=(delete_operation(copy),), reason=why + volumes))
    return out


def stale_drift(ctx: PlanContext, scope: set[str]) -> list[ResourceChange]:
    """Refresh-only: each stale copy of a container in scope is drift."""
    return [ResourceChange(address=stale_address(copy), action=Action.READ, node=copy.node,
                           vmid=copy.vmid, digest=copy.digest,
                           after=view(canonical(copy.current), None, ctx.view_secrets()),
                           reason=stale_reason(ctx, copy))
            for copy in ctx.observed.stale if copy.name in scope]
