"""Replace: a container whose spec cannot be met in place is made again.

delete-then-create by default; create-then-delete when the user asks for it with
`lifecycle.create_before_destroy` (the hostname defaults to the name, so two containers with
one identity would otherwise exist at once) and the spec fixes no vmid. Its data volumes
are handed to the new container (`data.py`) unless the spec or the run discards them;
then, and only then, the plan names them as destroyed. A backup comes first when the spec
asks for one (`safety.py`). The operations, by case:

    no data kept, delete first:  [backup] delete(old) create ... start
    no data kept, create first:  create ... start [backup] delete(old)
    data kept, delete first:     [backup] stop(old) [migrate(old)] create handover delete(old) start
    data kept, create first:     create [backup] stop(old) handover delete(old) [migrate] start

where handover = delete the old one's snapshots, reassign each volume (grow or move it when
the spec says). With data kept, the old container is stopped before the new one starts: two
generations never run at once with one volume. Pure.
"""

from __future__ import annotations

from pxrun.observe.model import ObservedContainer
from pxrun.plan.context import PlanContext
from pxrun.plan.data import (
    carry_operations,
    data_volumes,
    destroyed_words,
    discarding,
    keeps_data_problem,
)
from pxrun.plan.diff import view
from pxrun.plan.lifecycle import (
    _check_placed,
    create_operations,
    delete_operation,
    destroy_guard,
    taint_of,
)
from pxrun.plan.model import (
    Action,
    DeleteContainer,
    FieldDiff,
    Json,
    Migrate,
    Operation,
    Power,
    ResourceChange,
)
from pxrun.plan.placement import Placement
from pxrun.plan.provision import leave_tailnet
from pxrun.plan.safety import backup_before_destroy, replace_snapshot_note
from pxrun.spec.model import Container


def _replacement_node(ctx: PlanContext, want: Container, observed: ObservedContainer,
                      ) -> Placement | str:
    """Where the replacement goes: where the old one is, unless the spec moves it."""
    stays = want.node in ("auto", observed.node) or (
        isinstance(want.node, list) and observed.node in want.node)
    if not stays:
        return ctx.placer.place(want)
    hard, _, placement = ctx.placer.check(want, observed.node)
    if placement is None:
        return f"cannot re-create {want.name} on {observed.node}: {', '.join(hard)}"
    return placement


def plan_replace(ctx: PlanContext, desired: Container, want: Container,
                 observed: ObservedContainer, *, replace_paths: tuple[str, ...],
                 before: dict[str, Json], diffs: tuple[FieldDiff, ...],
                 reason: str) -> ResourceChange:
    """Replace an existing container (a field that cannot change in place, or asked)."""
    destroy_guard(ctx, want.name, observed, want, "replace")
    replace_snapshot_note(ctx, want)
    before_create = bool(want.lifecycle.create_before_destroy)
    if before_create and want.vmid is not None:
        ctx.error(want.name, "create_before_destroy needs a container without a fixed vmid "
                             "(both would need the same vmid at once)")
    action = Action.CREATE_THEN_DELETE if before_create else Action.DELETE_THEN_CREATE
    volumes = data_volumes(observed)
    keep = bool(volumes) and not discarding(ctx, want)
    base = ResourceChange(address=want.name, action=action, node=observed.node,
                          vmid=observed.vmid, digest=observed.digest, before=before,
                          diffs=diffs, reason=reason, replace_paths=replace_paths,
                          restart_policy=ctx.restart_policy(want),
                          depends_on=tuple(want.depends_on), taint=taint_of(observed),
                          data_destroyed=() if keep else tuple(volumes))
    if want.template is None and want.image is None:
        ctx.error(want.name, "replacing needs a template", "set template in the spec")
        return base
    placement = _replacement_node(ctx, want, observed)
    if isinstance(placement, str):
        ctx.error(want.name, placement)
        return base
    _check_placed(ctx, want, placement.node)
    backup = backup_before_destroy(ctx, want, observed)
    if before_create and observed.tailnet and not ctx.options.keep_tailnet:
        ctx.warn(want.name, f"the old {want.name} stays on the tailnet as "
                 f"{observed.tailnet}: the new one joins before it is deleted, so "
                 "pxrun cannot tell their nodes apart by name",
                 "remove the old node in the Tailscale admin console")
    if keep:
        ops, made, steps = _keeping_data(ctx, desired, want, observed, placement, backup,
                                         before_create=before_create)
        if not ops:
            return base
    else:
        vmid = None if before_create else (want.vmid or observed.vmid)
        creates, made, steps = create_operations(ctx, desired, want, placement, vmid)
        delete = delete_operation(observed)
        ops = [*creates, *backup, delete] if before_create else [
            *backup, delete, *leave_tailnet(ctx, observed), *creates]
    after = view(made, steps, ctx.view_secrets())
    # The template the new container is made from, as resolved on its node: shown against
    # the old one's (a volid), never the spec's shorthand against a volid.
    shown = tuple(d.model_copy(update={"new": made.template}) if d.path == "template" else d
                  for d in diffs)
    return base.model_copy(update={"after": after, "operations": tuple(ops), "diffs": shown})


Made = tuple[list[Operation], Container, list[str]]


def _keeping_data(ctx: PlanContext, desired: Container, want: Container,
                  observed: ObservedContainer, placement: Placement, backup: list[Operation],
                  *, before_create: bool) -> Made:
    """The operations of a replace that hands the data volumes over (empty: an error)."""
    problem = keeps_data_problem(want, observed)
    words = destroyed_words(data_volumes(observed))
    hint = ("or let the replace discard the data: lifecycle.data: discard, or "
            "--discard-data")
    if problem is not None:
        ctx.error(want.name, f"{want.name} holds data volumes ({words}) and must be "
                             f"replaced; {problem}", "remove vmid from the spec, " + hint)
        return [], want, []
    node = placement.node
    moved = node != observed.node
    running = observed.status == "running"
    if before_create:
        return _creating_first(ctx, desired, want, observed, placement, backup,
                               running=running)
    carry = carry_operations(ctx, want, observed, node)
    handover = [*carry.operations, _delete_old(observed, node),
                *leave_tailnet(ctx, observed)]
    bare = _without(want, carry.slots)
    first: list[Operation] = [*backup, *([Power(action="stop")] if running else []),
                              *([Migrate(source=observed.node, target=node, restart=False)]
                                if moved else [])]
    creates, made, steps = create_operations(ctx, desired, bare, placement, None,
                                             carried=handover)
    return [*first, *creates], made.model_copy(update={"mounts": want.mounts}), steps


def _delete_old(observed: ObservedContainer, node: str) -> DeleteContainer:
    """The delete of the old container, stopped by then, on `node` (after a migration)."""
    return delete_operation(observed).model_copy(update={"node": node, "stop_first": False})


def _without(want: Container, slots: set[str]) -> Container:
    """`want` without the mount points whose volumes arrive by reassign."""
    return want.model_copy(update={"mounts": {slot: mount for slot, mount in
                                              want.mounts.items() if slot not in slots}})


def _creating_first(ctx: PlanContext, desired: Container, want: Container,
                    observed: ObservedContainer, placement: Placement,
                    backup: list[Operation], *, running: bool) -> Made:
    """create_before_destroy keeping data: the new container is made on the old one's node
    (a reassign stays on one node), takes the data, and migrates to its own node (still
    stopped) when the spec moves it."""
    here = placement
    if placement.node != observed.node:
        hard, _, found = ctx.placer.check(want, observed.node)
        if found is None:
            ctx.error(want.name, f"cannot hand the data of {want.name} over on "
                                 f"{observed.node}: {', '.join(hard)}",
                      "apply the node change on its own first")
            return [], want, []
        here = found
    carry = carry_operations(ctx, want, observed, here.node)
    stop_old = [Power(action="stop", vmid=observed.vmid, node=observed.node)] if running \
        else []
    moving = [Migrate(source=here.node, target=placement.node, restart=False)] \
        if here.node != placement.node else []
    creates, made, steps = create_operations(
        ctx, desired, _without(want, carry.slots), here, None,
        carried=[*backup, *stop_old, *carry.operations, _delete_old(observed, observed.node),
                 *moving])
    return creates, made.model_copy(update={"mounts": want.mounts,
                                            "node": placement.node}), steps
