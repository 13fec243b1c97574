"""Identity: which observed container is which spec entry, and the ownership to restore.

People edit containers in the Proxmox GUI (DESIGN §4, specs/0081). Saving Notes replaces
the description and the marker in it; tags get removed; hostnames change. The cluster is
the only state pxrun has, so identity must be recovered from what is left, and a spec
entry must never create a second container while its first one still carries the tag:

- a container with our marker is the entry the marker names (observe did that);
- a *stray* (our tag, no marker; or a container `pxrun import` adopts) is the entry with
  its fixed vmid, else the entry with its hostname; its marker is restored by an in-place
  update, with the spec's provisioning fingerprint (steps are not re-run: what ran is
  unknowable once the marker is gone, and re-running scripts because someone edited Notes
  would surprise more than it helps);
- a marked container without the tag (found by its hostname) gets the tag back;
- two candidates for one entry, or a stray no entry claims while an entry would be
  created, refuse the plan: pxrun cannot tell which is which, and guessing could
  duplicate or destroy.

Pure, like the rest of the planner.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pxrun.observe.model import GuestRef, ObservedContainer
from pxrun.plan.context import PlanContext
from pxrun.plan.model import FieldDiff
from pxrun.pve.marker import Marker, join_description, stack_tag
from pxrun.pve.values import print_tags
from pxrun.spec.model import Container, Stack
from pxrun.spec.steps import encode_fingerprints

MARKER_PATH = "ownership.marker"
TAG_PATH = "ownership.tag"
"""Field paths of the ownership a plan restores (not spec fields: no option row)."""


@dataclass(frozen=True)
class Recognised:
    """What recognition left open: names no create may take, and strays no entry claims."""

    taken: frozenset[str] = frozenset()
    strays: tuple[ObservedContainer, ...] = ()


def _entry_of(stack: Stack, stray: ObservedContainer) -> str | None:
    """The spec entry a stray is: the one with its fixed vmid, else with its hostname."""
    host = stray.current.hostname.lower()
    for name, ct in stack.containers.items():
        if ct.vmid is not None:
            if ct.vmid == stray.vmid:
                return name
        elif ct.hostname.lower() == host:
            return name
    return None


def _renamed(stray: ObservedContainer, name: str) -> ObservedContainer:
    current = stray.current.model_copy(update={"name": name})
    future = current if stray.future == stray.current else stray.future.model_copy(
        update={"name": name})
    return stray.model_copy(update={"name": name, "current": current, "future": future})


def recognise(ctx: PlanContext) -> Recognised:
    """Key every recognisable stray by its spec name (in `ctx.observed`); report the
    ambiguous ones as plan errors. Returns what stays open for creates."""
    observed = ctx.observed
    if not observed.strays:
        return Recognised()
    containers = dict(observed.containers)
    candidates: dict[str, list[ObservedContainer]] = defaultdict(list)
    left: list[ObservedContainer] = []
    for stray in observed.strays:
        name = ctx.options.adopt.get(stray.vmid) or _entry_of(ctx.stack, stray)
        if name is not None and name in ctx.stack.containers:
            candidates[name].append(stray)
        else:
            if name is not None:
                ctx.error(name, f"container {stray.vmid} is to be adopted as {name}, which "
                                "is not in the spec")
            elif stray.tagged:
                ctx.warn(None, f"container {stray.vmid} on {stray.node} "
                               f"({stray.current.hostname}) carries the tag "
                               f"{stack_tag(ctx.stack.stack)} but no pxrun marker, and no "
                               "entry of the spec has its hostname; pxrun leaves it alone")
            left.append(stray)
    taken: set[str] = set()
    for name, found in sorted(candidates.items()):
        held = containers.get(name)
        if len(found) == 1 and held is None:
            containers[name] = _renamed(found[0], name)
            continue
        which = sorted([*([f"{held.vmid} (its marker)"] if held else []),
                        *(f"{s.vmid} (no marker)" for s in found)])
        ctx.error(name, f"containers {', '.join(which)} of this stack all have hostname "
                        f"{ctx.stack.containers[name].hostname}; pxrun cannot tell which "
                        f"one is {name}",
                  "rename or untag the one that is not (one hostname per stack), or fix "
                  f"the vmid of {name} in the spec")
        taken.add(name)
        left.extend(found)
    ctx.observed = observed.model_copy(update={"containers": dict(sorted(containers.items())),
                                               "strays": tuple(left)})
    return Recognised(taken=frozenset(taken), strays=tuple(left))


_Claims = tuple[frozenset[int], frozenset[str], dict[str, list[GuestRef]]]


def _claims(ctx: PlanContext, recognised: Recognised) -> _Claims:
    """(vmids of this stack's containers, online nodes, guests by lower-case name): the
    same for every create of the plan, so worked out once (every create walked them all)."""
    key = id(recognised)
    found: tuple[frozenset[int], frozenset[str], dict[str, list[GuestRef]], Recognised] | None
    found = ctx.memo.get(("claims", key))
    if found is None:
        observed = ctx.observed
        ours = frozenset({c.vmid for c in observed.containers.values()}
                         | {s.vmid for s in recognised.strays}
                         | {g.vmid for g in observed.unknown})
        online = frozenset(name for name, node in observed.nodes.items() if node.online)
        by_name: dict[str, list[GuestRef]] = {}
        for guest in observed.guests.values():
            by_name.setdefault(guest.name.lower(), []).append(guest)
        found = ctx.memo[("claims", key)] = (ours, online, by_name, recognised)
    return found[0], found[1], found[2]


def create_allowed(ctx: PlanContext, recognised: Recognised, want: Container) -> bool:
    """Whether `want`, which no observed container is, may be created; the reasons it may
    not are plan errors (warnings where a partial spec cannot know)."""
    if want.name in recognised.taken:
        return False  # reported by `recognise`
    observed = ctx.observed
    for problem in observed.problems:
        if problem.name == want.name:
            ctx.error(want.name, f"{want.name} is not created: container {problem.vmid} on "
                                 f"{problem.node} claims that name ({problem.message})")
            return False
    allowed = True
    for stray in recognised.strays:
        if not stray.tagged or (want.vmid is not None and want.vmid != stray.vmid):
            continue
        message = (f"{want.name} is not created: container {stray.vmid} "
                   f"({stray.current.hostname}) carries this stack's tag but no marker, "
                   f"and may be {want.name} with its Notes replaced and hostname changed")
        hint = (f"if it is {want.name}, set its hostname back to {want.hostname}; if not, "
                f"remove the tag {stack_tag(ctx.stack.stack)} from it")
        if ctx.options.no_prune:  # a partial spec (create, --no-prune) cannot know
            ctx.warn(want.name, message.replace("is not created: ", "is created although "),
                     hint)
        else:
            ctx.error(want.name, message, hint)
            allowed = False
    ours, online, by_name = _claims(ctx, recognised)
    for guest in by_name.get(want.hostname.lower(), ()):
        if (guest.type != "lxc" or guest.template or guest.vmid in ours
                or guest.node not in online  # unknown: the unknown-node rules decide
                or guest.name.lower() != want.hostname.lower()):
            continue
        if guest.stack is not None and guest.stack != observed.stack:
            ctx.warn(want.name, f"hostname {want.hostname} is also used by container "
                                f"{guest.vmid} of stack {guest.stack}")
            continue
        whose = ("carries this stack's tag but cannot be claimed (see its warning)"
                 if guest.stack == observed.stack else "is managed by no stack")
        ctx.error(want.name, f"{want.name} is not created: container {guest.vmid} on "
                             f"{guest.node} has hostname {want.hostname} and {whose}",
                  f"adopt it with `pxrun import {guest.vmid} --stack {observed.stack}`, "
                  "or choose another hostname")
        allowed = False
    return allowed


@dataclass
class Restore:
    """The ownership an existing container lacks: display diffs and config values."""

    diffs: list[FieldDiff] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    what: list[str] = field(default_factory=list)


def restoration(ctx: PlanContext, want: Container, observed: ObservedContainer,
                steps: dict[str, str]) -> Restore:
    """The marker and tag writes `observed` needs to be recognised by marker and tag again.

    The marker is written whole by the plan (apply keeps it): stack, name and the spec's
    provisioning fingerprints `steps` (label -> fingerprint, `spec.steps`). The notes stay
    the user's (or the spec's, when the spec manages `description`)."""
    out = Restore()
    stack = ctx.stack.stack
    if not observed.marked:
        marker = Marker(stack=stack, name=want.name,
                        fingerprint=encode_fingerprints(steps) or None)
        notes = want.description if want.description is not None else (
            observed.current.description)
        out.values["description"] = join_description(notes, marker)
        out.diffs.append(FieldDiff(op="add", path=MARKER_PATH, new=f"{stack}/{want.name}"))
        out.what.append("marker")
        if steps:
            ctx.warn(want.name, "its pxrun marker is gone (Notes replaced outside pxrun?); it "
                                "is restored as provisioned by the spec's current steps, "
                                "which are not run again")
    if not observed.tagged:
        tags = want.tags if want.tags is not None else (observed.current.tags or [])
        out.values["tags"] = print_tags([*tags, stack_tag(stack)])
        out.diffs.append(FieldDiff(op="add", path=TAG_PATH, new=stack_tag(stack)))
        out.what.append("tag")
    return out


def ownership_drift(ctx: PlanContext, observed: ObservedContainer) -> list[FieldDiff]:
    """Refresh-only: the ownership that moved (old = what the spec implies, new = cluster)."""
    stack = ctx.stack.stack
    out = []
    if not observed.marked:
        out.append(FieldDiff(op="remove", path=MARKER_PATH, old=f"{stack}/{observed.name}"))
    if not observed.tagged:
        out.append(FieldDiff(op="remove", path=TAG_PATH, old=stack_tag(stack)))
    return out
