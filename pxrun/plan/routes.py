"""Routes: which config writes go through the API and which through `pct set` on the node.

Proxmox lets only the root@pam *user* write some options (reference A6), and an API token is
never that user. Which write needs root is a fact of the option's row (`pxrun.pve.access`);
here, at plan time, each write gets its route: the API, or `pct set` run as root on the
node over SSH when pxrun may reach the nodes (`PlanOptions.node_ssh_available`). Without
node SSH such a write is a plan error with guidance, so whatever the plan accepts, apply
can do, and apply executes the route it is given without deciding anything itself.

A value holding a secret never goes through the node: `pct set` would carry it on the
node's command line, visible in its process list. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pxrun.plan.context import PlanContext
from pxrun.plan.model import ConfigUpdate, ConfigValue, Route, SecretText
from pxrun.pve.access import RootNeed
from pxrun.pve.config import root_needs
from pxrun.spec.model import Container

NODE_SSH_HINT = ("configure node SSH (cluster.ssh) so pxrun can use `pct set` on the node, "
                 "or drop these settings")


@dataclass
class Write:
    """The keys of one config write on one route."""

    values: dict[str, ConfigValue] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.values or self.delete)

    def operation(self, route: Route, pending: Iterable[str] = ()) -> ConfigUpdate:
        """The config operation of this write; `pending`: keys a running container holds."""
        keys = {*self.values, *self.delete}
        return ConfigUpdate(route=route, set=dict(self.values), delete=tuple(self.delete),
                            pending=tuple(sorted(keys & set(pending))))


def route_writes(ctx: PlanContext, want: Container, have: Container | None,
                 values: Mapping[str, ConfigValue],
                 delete: Iterable[str] = ()) -> tuple[Write, Write]:
    """(what goes through the API, what through `pct set` on the node) for writing
    `values` and deleting `delete` on `want` (observed as `have`; None for a create).
    Records a plan error for what no route can carry."""
    api, node = Write(), Write()
    needs: list[RootNeed] = []
    for key in sorted(values):
        found = _needs(ctx, key, want, have)
        (node if found else api).values[key] = values[key]
        needs += found
        if found and isinstance(values[key], SecretText):
            ctx.error(want.name, f"{key} would carry a secret through `pct set`, where the "
                                 "node's process list shows it",
                      "keep secrets out of options only root@pam may set")
    for key in sorted(delete):
        found = _needs(ctx, key, want, have)
        (node if found else api).delete.append(key)
        needs += found
    if needs and not ctx.options.node_ssh_available:
        what = ", ".join(sorted({need.what for need in needs}))
        ctx.error(want.name, f"{what} can only be set by root@pam, not through an API token",
                  NODE_SSH_HINT)
    return api, node


def route_of(ctx: PlanContext, key: str, value: ConfigValue, want: Container,
             have: Container | None) -> Route:
    """The route of a single write (a mount point hot-add)."""
    _, node = route_writes(ctx, want, have, {key: value})
    return "node" if node else "api"


def _needs(ctx: PlanContext, key: str, want: Container,
           have: Container | None) -> list[RootNeed]:
    return root_needs(key, want, have) if ctx.options.is_token else []
