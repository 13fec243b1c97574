"""Creates of replicas: containers alike but for their name, hostname and vmid.

Why: the replicas of a `count` group (and containers sharing `defaults`) differ only in
their identity, and a create's change is a function of the container and its placement.
Of the identity, a create holds only: the change's address and vmid, the `hostname` and
`vmid` values of its `after` view and their diffs, the create call's `vmid` and `hostname`
parameter, and the address of its diagnostics. So the first container of each shape on
each node takes the ordinary path, and the others get a copy of its change with their own
identity put in: 10,000 creates cost a few ordinary ones and 10,000 copies (specs/0120).

A shape is the container's JSON without name, hostname and vmid (the same text the spec
hash reads, made once), plus its secret values (the JSON shows them as stars) and whether
it has a vmid. Each create still takes its own placement (replicas spread over the nodes,
each booked); the copy is keyed by the node and template it got.

The copy is made only when nothing else in the ordinary create can depend on the
identity; otherwise every container of the shape takes the ordinary path:
- provisioning whose files are templates (they render the container's name);
- a name or hostname that holds a secret value (sealed and redacted, not copied);
- a diagnostic whose text names the container (or not addressed to it): replayed, it
  would name the wrong one; diagnostics that do not are replayed with the new address;
- placement warnings are the create's own (each create is placed on its own).
`tests/plan/test_replicas.py` proves that both paths give the same plan. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pxrun.plan.diff import Quick, quick_items
from pxrun.plan.model import CreateContainer, PlanDiagnostic, ResourceChange, replaced
from pxrun.plan.provision import names_matter
from pxrun.pve.config import canonical
from pxrun.spec.model import Container

if TYPE_CHECKING:
    from pxrun.plan.context import PlanContext
    from pxrun.plan.placement import Placement

_IDENTITY = ("name", "hostname", "vmid")
_NODE_KEY = ',"node":'
# The shape is the JSON after the identity: the container's first fields must be these.
assert tuple(Container.model_fields)[:4] == (*_IDENTITY, "node")

Placed = Callable[["PlanContext", Container, Container, "Placement"], ResourceChange]
"""The ordinary create of a placed container: (ctx, desired, want, placement) -> change."""


def shape_key(text: str, container: Container) -> tuple[Any, ...]:
    """The shape of `container`, given its JSON `text` (`model_dump_json()`): everything
    but its identity. The identity's fields come first; a `"` inside a JSON string is
    always escaped, so the first `,"node":` is the key's own."""
    prov = container.provision
    secrets = (container.password.get_secret_value() if container.password else None,
               prov.tailscale.auth_key.get_secret_value()
               if prov is not None and prov.tailscale is not None else None)
    return text[text.index(_NODE_KEY):], secrets, container.vmid is None


@dataclass(frozen=True)
class _Copy:
    """An ordinary create's change and diagnostics, to copy with another identity;
    `named`: the positions of the diffs that hold the identity (hostname, vmid)."""

    change: ResourceChange
    create: CreateContainer
    diagnostics: tuple[PlanDiagnostic, ...]
    named: tuple[int, ...]

    @classmethod
    def of(cls, change: ResourceChange, diagnostics: list[PlanDiagnostic],
           want: Container) -> _Copy | None:
        """The copy of `change` (of `want`), or None when its identity may lie elsewhere
        than where `with_identity` puts it."""
        create = change.operations[0] if change.operations else None
        if (not isinstance(create, CreateContainer) or change.after is None
                or change.address != want.name or change.vmid != want.vmid
                or create.vmid != want.vmid or create.params.get("hostname") != want.hostname
                or change.after.get("hostname") != want.hostname
                or change.after.get("vmid", ...) != want.vmid):
            return None
        named = [want.name, want.hostname, *([str(want.vmid)] if want.vmid is not None else [])]
        for found in diagnostics:
            texts = (found.message, found.hint, found.path or "")
            if found.address != want.name or any(n in t for n in named for t in texts):
                return None
        return cls(change, create, tuple(diagnostics), tuple(
            i for i, d in enumerate(change.diffs) if d.path in ("hostname", "vmid")))

    def with_identity(self, ctx: PlanContext, desired: Container) -> ResourceChange:
        """The change the ordinary create of `desired` makes (this one's, with `desired`'s
        identity), its diagnostics reported."""
        name, hostname, vmid = desired.name, desired.hostname, desired.vmid
        for found in self.diagnostics:
            ctx.diagnostics.append(replaced(found, {"address": name}))
        change = self.change
        assert change.after is not None
        after = {**change.after, "hostname": hostname, "vmid": vmid}
        diffs = list(change.diffs)
        for i in self.named:  # `+ hostname: ...` (and vmid): `ctx.added`'s, with this value
            diffs[i] = replaced(diffs[i], {"new": after[diffs[i].path]})
        create = replaced(self.create, {"vmid": vmid,
                                         "params": {**self.create.params, "hostname": hostname}})
        return replaced(change, {"address": name, "vmid": vmid, "after": after,
                                  "diffs": tuple(diffs),
                                  "operations": (create, *change.operations[1:])})


@dataclass
class Shape:
    """The containers of one shape: the first one's canonical form, and per placement
    (node, template) the copy of its create (None: each takes the ordinary path)."""

    want: Container
    copies: dict[tuple[str, Any], _Copy | None] = field(default_factory=dict)

    def want_of(self, desired: Container) -> Container:
        """`canonical(desired)`: the shape's, with `desired`'s identity."""
        return self.want.model_copy(update={name: getattr(desired, name)
                                            for name in _IDENTITY})

    def create(self, ctx: PlanContext, desired: Container, placement: Placement,
               placed: Placed) -> ResourceChange:
        """The change of creating `desired` on `placement`: a copy when this shape was
        created there before, else `placed`'s (remembered for the next ones)."""
        key = (placement.node, placement.template)
        if key in self.copies:
            copy = self.copies[key]
            if copy is not None:
                return copy.with_identity(ctx, desired)
            return placed(ctx, desired, self.want_of(desired), placement)
        start = len(ctx.diagnostics)
        want = self.want_of(desired)
        change = placed(ctx, desired, want, placement)
        self.copies[key] = _Copy.of(change, ctx.diagnostics[start:], want)
        return change


class Replicas:
    """One planning run's shapes, and each container's JSON (the spec hash reads it too)."""

    def __init__(self) -> None:
        # Per container name: the container the text is of, its JSON, its shape's number
        # (three dicts, not a tuple each: 10,000 tuples more for the cycle collector).
        self._of: dict[str, Container] = {}
        self._texts: dict[str, str] = {}
        self._shape_of: dict[str, int] = {}
        self._ids: dict[tuple[Any, ...], int] = {}  # shape -> a small number for it
        self._shapes: dict[int, Shape | None] = {}
        self._canonical: dict[int, tuple[Container, Container, Quick]] = {}

    def _made(self, container: Container) -> str:
        """The name of `container`, its JSON and shape made (once per plan)."""
        name = container.name
        if self._of.get(name) is not container:
            text = container.model_dump_json()
            self._of[name], self._texts[name] = container, text
            self._shape_of[name] = self._ids.setdefault(shape_key(text, container),
                                                        len(self._ids))
        return name

    def text(self, container: Container) -> str:
        """`container.model_dump_json()`, made once per plan."""
        return self._texts[self._made(container)]

    def key(self, container: Container) -> int:
        """The shape of `container` (`shape_key` of its JSON) as a number, the same for
        every container of the shape."""
        return self._shape_of[self._made(container)]

    def texts(self, containers: Mapping[str, Container]) -> dict[str, str]:
        """The JSON made so far of `containers`, by name."""
        return {name: text for name, text in self._texts.items()
                if containers.get(name) is self._of[name]}

    def canonical(self, desired: Container) -> tuple[Container, Quick]:
        """`canonical(desired)` and `quick_items` of it, worked out once per shape (the
        converged replicas of a group): canonical spelling leaves the identity as it is,
        and `quick_items` leaves it out."""
        key = self.key(desired)
        found = self._canonical.get(key)
        if found is None:
            want = canonical(desired)
            found = self._canonical[key] = (desired, want, quick_items(want))
        first, want, items = found
        if first is not desired:
            want = replaced(want, {name: getattr(desired, name) for name in _IDENTITY})
        return want, items

    def shape(self, desired: Container, secrets: frozenset[str]) -> Shape | None:
        """The shape of `desired`, or None when its create takes the ordinary path."""
        if secrets and any(s in desired.name or s in desired.hostname for s in secrets):
            return None
        key = self.key(desired)
        if key not in self._shapes:
            eligible = ((desired.template is not None or desired.image is not None)
                        and not names_matter(desired))
            self._shapes[key] = Shape(canonical(desired)) if eligible else None
        return self._shapes[key]
