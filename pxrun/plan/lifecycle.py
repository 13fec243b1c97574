"""Changes that make or end a container: create, delete (and prune), replace.

A replace is delete-then-create; create-then-delete only when the user asks for it with
`lifecycle.create_before_destroy` (the hostname defaults to the name, so two containers
with one identity would otherwise exist at once) and the spec fixes no vmid. Any delete or
replace of a container with `lifecycle.prevent_destroy` or Proxmox `protection` is a plan
error: the change is still shown, so the user sees what was about to happen.
"""

from __future__ import annotations

from pxrun.observe.model import ObservedContainer
from pxrun.plan.context import PlanContext
from pxrun.plan.diff import view
from pxrun.plan.model import (
    Action,
    CreateContainer,
    DeleteContainer,
    FieldDiff,
    Json,
    Operation,
    Power,
    Reprovision,
    ResourceChange,
    Taint,
    TemplateDownload,
)
from pxrun.plan.placement import Placement
from pxrun.plan.provision import leave_tailnet, provision_operation, shown
from pxrun.plan.routes import route_writes
from pxrun.plan.secrets import seal_all
from pxrun.plan.validate import missing_bridges, new_volume_problems
from pxrun.pve.config import canonical, create_params
from pxrun.spec.model import Container


def power_tail(running: bool, want_running: bool, provision: Reprovision | None,
               restart: Power | None = None) -> list[Operation]:
    """Power and provisioning operations that end every change: start or restart, run
    the chosen steps (they need a running container), stop when the spec says stopped."""
    ops: list[Operation] = []
    if (want_running or provision) and not running:
        ops.append(Power(action="start"))
        running = True
    elif restart is not None:
        ops.append(restart)
    if provision is not None:
        ops.append(provision)
    if running and not want_running:
        ops.append(Power(action="stop"))
    return ops


def _check_placed(ctx: PlanContext, want: Container, node: str) -> None:
    """Validation of everything a create writes on `node`."""
    for message in missing_bridges(want, node, ctx.observed):
        ctx.error(want.name, message)
    for message in new_volume_problems(want, node, ctx.observed):
        ctx.error(want.name, message)


def create_operations(ctx: PlanContext, desired: Container, want: Container,
                      placement: Placement, vmid: int | None,
                      ) -> tuple[list[Operation], Container, list[str]]:
    """The operations that create `want` on its placement, the container they make, and
    the names of its provisioning steps: the create call, then (before the first start)
    the options only root@pam may set, through the node, then start and provisioning."""
    template = placement.template
    assert template is not None  # placed with need_template=True
    download = (TemplateDownload(storage=template.download_storage, template=template.filename)
                if template.download_storage is not None else None)
    params = seal_all(create_params(want, ctx.site()), ctx.known)
    api, node = route_writes(ctx, want, None, params)
    create = CreateContainer(node=placement.node, vmid=vmid, template=template.volid,
                             download=download, storage=want.storage, params=api.values,
                             marker_template=template.volid)
    provision = provision_operation(ctx, desired, None)
    ops: list[Operation] = [create, *([node.operation("node")] if node else []),
                            *power_tail(False, want.state == "running", provision)]
    made = want.model_copy(update={"node": placement.node, "template": template.volid,
                                   "vmid": vmid})
    return ops, made, shown(provision.steps) if provision is not None else []


def plan_create(ctx: PlanContext, desired: Container) -> ResourceChange:
    """A container in the spec that the cluster does not have."""
    want = canonical(desired)
    base = {"address": want.name, "action": Action.CREATE, "vmid": want.vmid,
            "depends_on": tuple(want.depends_on), "restart_policy": ctx.restart_policy(want)}
    if want.template is None:
        ctx.error(want.name, "a new container needs a template", "set template: debian-12 "
                  "(or another shorthand or volid), in the container or in defaults")
        return ResourceChange(**base, reason="create (no template given)")
    placement = ctx.placer.place(want)
    if isinstance(placement, str):
        ctx.error(want.name, placement)
        return ResourceChange(**base, reason="create (no node fits)")
    for warning in placement.warnings:
        ctx.warn(want.name, warning)
    _check_placed(ctx, want, placement.node)
    ops, made, steps = create_operations(ctx, desired, want, placement, want.vmid)
    after = view(made, steps, ctx.view_secrets())
    fetch = placement.template is not None and placement.template.needs_download
    download = " (template downloaded first)" if fetch else ""
    return ResourceChange(**{**base, "node": placement.node}, after=after,
                          diffs=tuple(FieldDiff(op="add", path=k, new=v)
                                      for k, v in sorted(after.items()) if v is not None),
                          operations=tuple(ops),
                          reason=f"not in the cluster: create on {placement.node}{download}")


def taint_of(observed: ObservedContainer) -> Taint | None:
    """What the plan says of a tainted container (None when it is not tainted)."""
    if not observed.tainted:
        return None
    return Taint(step=observed.taint_step, log=observed.taint_log)


def destroy_guard(ctx: PlanContext, address: str, observed: ObservedContainer,
                  want: Container | None, what: str) -> None:
    """A plan error when `what` (delete / replace) would destroy a protected container."""
    if want is not None and want.lifecycle.prevent_destroy:
        ctx.error(address, f"the plan would {what} {address}, but lifecycle.prevent_destroy "
                           "is set", "remove prevent_destroy first if this is intended")
    elif observed.current.protection or (want is not None and want.protection):
        ctx.error(address, f"the plan would {what} {address}, but it has protection "
                           "enabled", "set protection: false and apply first if intended")


def delete_operation(observed: ObservedContainer) -> DeleteContainer:
    """The delete of an observed container; one no marker claims is named by its hostname
    too, which apply checks instead."""
    return DeleteContainer(node=observed.node, vmid=observed.vmid,
                           stop_first=observed.status == "running",
                           hostname=None if observed.marked else observed.current.hostname)


def plan_delete(ctx: PlanContext, observed: ObservedContainer, want: Container | None,
                *, prune: bool, reason: str) -> ResourceChange:
    """Delete a managed container: a prune (gone from the spec) or destroy mode."""
    destroy_guard(ctx, observed.name, observed, want, "delete")
    before = view(canonical(observed.current), None, ctx.view_secrets())
    op = delete_operation(observed)
    return ResourceChange(address=observed.name, action=Action.DELETE, node=observed.node,
                          vmid=observed.vmid, digest=observed.digest, before=before,
                          operations=(op, *leave_tailnet(ctx, observed)), reason=reason,
                          prune=prune, taint=taint_of(observed))


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
    before_create = bool(want.lifecycle.create_before_destroy)
    if before_create and want.vmid is not None:
        ctx.error(want.name, "create_before_destroy needs a container without a fixed vmid "
                             "(both would need the same vmid at once)")
    action = Action.CREATE_THEN_DELETE if before_create else Action.DELETE_THEN_CREATE
    base = ResourceChange(address=want.name, action=action, node=observed.node,
                          vmid=observed.vmid, digest=observed.digest, before=before,
                          diffs=diffs, reason=reason, replace_paths=replace_paths,
                          restart_policy=ctx.restart_policy(want),
                          depends_on=tuple(want.depends_on), taint=taint_of(observed))
    if want.template is None:
        ctx.error(want.name, "replacing needs a template", "set template in the spec")
        return base
    placement = _replacement_node(ctx, want, observed)
    if isinstance(placement, str):
        ctx.error(want.name, placement)
        return base
    _check_placed(ctx, want, placement.node)
    vmid = None if before_create else (want.vmid or observed.vmid)
    creates, made, steps = create_operations(ctx, desired, want, placement, vmid)
    delete = delete_operation(observed)
    if before_create:
        if observed.tailnet and not ctx.options.keep_tailnet:
            ctx.warn(want.name, f"the old {want.name} stays on the tailnet as "
                     f"{observed.tailnet}: the new one joins before it is deleted, so "
                     "pxrun cannot tell their nodes apart by name",
                     "remove the old node in the Tailscale admin console")
        ops = [*creates, delete]
    else:
        ops = [delete, *leave_tailnet(ctx, observed), *creates]
    after = view(made, steps, ctx.view_secrets())
    return base.model_copy(update={"after": after, "operations": tuple(ops)})
