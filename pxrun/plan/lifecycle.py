"""Changes that make or end a container: create, delete (and prune); replace is
`replace.py`'s.

Any delete or replace of a container with `lifecycle.prevent_destroy` or Proxmox
`protection` is a plan error: the change is still shown, so the user sees what was about to
happen. A delete names the data volumes it destroys (`data.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pxrun.observe.model import ObservedContainer
from pxrun.plan import pve9
from pxrun.plan.context import PlanContext
from pxrun.plan.data import data_volumes, destroyed_words, discarding
from pxrun.plan.diff import view
from pxrun.plan.model import (
    Action,
    CreateContainer,
    DeleteContainer,
    Operation,
    Power,
    Reprovision,
    ResourceChange,
    Taint,
    TemplateDownload,
)
from pxrun.plan.placement import Placement
from pxrun.plan.protection import place_protection
from pxrun.plan.provision import leave_tailnet, provision_operation, shown
from pxrun.plan.routes import route_writes
from pxrun.plan.safety import backup_before_destroy
from pxrun.plan.secrets import seal_all
from pxrun.plan.validate import missing_bridges, new_volume_problems
from pxrun.pve.config import canonical, create_params
from pxrun.spec.model import Container


def expects_address(want: Container) -> bool:
    """Whether the spec gives `want` an IPv4 address (DHCP or static) to wait for."""
    return any(net.ip not in (None, "manual") for net in want.networks.values())


_START = {address: Power(action="start", await_address="wait" if address else "no")
          for address in (False, True)}
_STOP = Power(action="stop")
"""Values every create shares (frozen, so one of each serves them all)."""


def power_tail(running: bool, want_running: bool, provision: Reprovision | None,
               restart: Power | None = None, *, address: bool = False) -> list[Operation]:
    """Power and provisioning operations that end every change: start or restart, run
    the chosen steps (they need a running container), stop when the spec says stopped.
    `address`: wait for the container's IPv4 address after it starts."""
    ops: list[Operation] = []
    if (want_running or provision) and not running:
        ops.append(_START[address])
        running = True
    elif restart is not None:
        ops.append(restart)
    if provision is not None:
        ops.append(provision)
    if running and not want_running:
        ops.append(_STOP)
    return ops


def _check_placed(ctx: PlanContext, want: Container, node: str) -> None:
    """Validation of everything a create writes on `node`."""
    for message in missing_bridges(want, node, ctx.bridges_on(node)):
        ctx.error(want.name, message)
    for message in new_volume_problems(want, node, ctx.observed):
        ctx.error(want.name, message)


def create_operations(ctx: PlanContext, desired: Container, want: Container,
                      placement: Placement, vmid: int | None,
                      carried: Sequence[Operation] = (),
                      ) -> tuple[list[Operation], Container, list[str]]:
    """The operations that create `want` on its placement, the container they make, and
    the names of its provisioning steps: the create call, then (before the first start)
    the options only root@pam may set, through the node, then `carried` (a replace's data
    volumes arriving), then the protection flag (`protection.py`), start and provisioning."""
    template = placement.template
    assert template is not None  # placed with need_template=True
    download = (TemplateDownload(storage=template.download_storage, template=template.filename)
                if template.needs_download and template.download_storage is not None
                else None)
    params = create_params(want, ctx.site())
    if pve9.ha_managed_on_create(ctx, want):
        params["ha-managed"] = "1"
    api, node = route_writes(ctx, want, None, seal_all(params, ctx.known))
    create = CreateContainer(node=placement.node, vmid=vmid, template=template.volid,
                             download=download, pull=pve9.image_pull(template),
                             storage=want.storage, params=api.values,
                             marker_template=template.volid)
    provision = provision_operation(ctx, desired, None)
    raw = pve9.raw_operation(ctx, want, ctx.site(), running=False)
    built: list[Operation] = [create, *([node.operation("node")] if node else []),
                              *([raw] if raw else []), *pve9.ha_on_create(ctx, want),
                              *carried]
    ops = [*place_protection(ctx, want.name, built, protected_now=False,
                             wanted=want.protection),
           *power_tail(False, want.state == "running", provision,
                       address=expects_address(want))]
    pve9.image_checks(ctx, want, made=True, env_changed=True)
    pve9.version_checks(ctx, want)
    made = want.model_copy(update={"node": placement.node, "vmid": vmid,
                                   "template": None if want.image else template.volid})
    return ops, made, shown(provision.steps) if provision is not None else []


def plan_create(ctx: PlanContext, desired: Container) -> ResourceChange:
    """A container in the spec that the cluster does not have. A replica of a container
    created before (`replicas.py`) gets a copy of that one's change."""
    shape = ctx.replicas.shape(desired, ctx.view_secrets())
    want = canonical(desired) if shape is None else shape.want  # a shape's: another name
    if want.template is None and want.image is None:  # never a shape's
        ctx.error(desired.name, "a new container needs a template", "set template: debian-12 "
                  "(or another shorthand or volid), in the container or in defaults, or "
                  "image: for an application container")
        return ResourceChange(**_base(ctx, want), reason="create (no template given)")
    placement = ctx.placer.place(want, name=desired.name)
    if isinstance(placement, str):
        ctx.error(desired.name, placement)
        named = want if shape is None else shape.want_of(desired)
        return ResourceChange(**_base(ctx, named), reason="create (no node fits)")
    for warning in placement.warnings:
        ctx.warn(desired.name, warning)
    if shape is None:
        return _placed_create(ctx, desired, want, placement)
    return shape.create(ctx, desired, placement, _placed_create)


def _base(ctx: PlanContext, want: Container) -> dict[str, Any]:
    return {"address": want.name, "action": Action.CREATE, "vmid": want.vmid,
            "depends_on": tuple(want.depends_on), "restart_policy": ctx.restart_policy(want)}


def _placed_create(ctx: PlanContext, desired: Container, want: Container,
                   placement: Placement) -> ResourceChange:
    """The create of `want` (canonical `desired`) on its placement."""
    _check_placed(ctx, want, placement.node)
    ops, made, steps = create_operations(ctx, desired, want, placement, want.vmid)
    after = view(made, steps, ctx.view_secrets())
    fetch = placement.template is not None and placement.template.needs_download
    download = " (template downloaded first)" if fetch else ""
    if placement.template is not None and placement.template.pull:
        download = " (image pulled first)"
    return ResourceChange(**_base(ctx, want), node=placement.node, after=after,
                          diffs=tuple(ctx.added(k, v)
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
    """Delete a managed container: a prune (gone from the spec) or destroy mode. Its data
    volumes go with it, named in the plan; a prune destroys them only with
    `--discard-data` (destroy mode is that request itself)."""
    destroy_guard(ctx, observed.name, observed, want, "delete")
    volumes = data_volumes(observed)
    if volumes and prune and not discarding(ctx, want):
        ctx.error(observed.name, f"pruning {observed.name} would destroy its data volumes "
                                 f"({destroyed_words(volumes)})",
                  "pass --discard-data to prune it with its data, keep it with --no-prune, "
                  "or put it back in the spec")
    before = view(canonical(observed.current), None, ctx.view_secrets())
    op = delete_operation(observed)
    return ResourceChange(address=observed.name, action=Action.DELETE, node=observed.node,
                          vmid=observed.vmid, digest=observed.digest, before=before,
                          operations=(*backup_before_destroy(ctx, want, observed), op,
                                      *leave_tailnet(ctx, observed)),
                          reason=reason, prune=prune, taint=taint_of(observed),
                          data_destroyed=tuple(volumes))
