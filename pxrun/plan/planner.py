"""`plan(desired, observed, options) -> Plan`: the pure heart of pxrun.

Pure: no I/O, no clock, no globals; the same inputs give the same Plan, byte for byte.
Ownership (DESIGN §4): only containers that carry this stack's marker (`observed.
containers`) are compared, updated or deleted, plus those `identity.recognise` keys by
their tag and vmid or hostname after a GUI edit replaced the marker (specs/0081); a
managed container missing from the spec is pruned unless `no_prune`; guests of other
stacks or of nobody are never touched, and a create never duplicates one that still
carries the tag; a container on a node that did not answer is neither created nor
deleted, only reported.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from pxrun.collector import collector_paused
from pxrun.observe.model import Observed
from pxrun.plan import pve9
from pxrun.plan.context import PlanContext
from pxrun.plan.diff import essence_pair, field_diffs, view
from pxrun.plan.ha import plan_ha_rules
from pxrun.plan.identity import Recognised, create_allowed, ownership_drift, recognise
from pxrun.plan.lifecycle import plan_create, plan_delete
from pxrun.plan.model import (
    Action,
    FieldDiff,
    Plan,
    ResourceChange,
    Summary,
    UnknownContainer,
)
from pxrun.plan.options import PlanOptions
from pxrun.plan.provision import OUT_OF_DATE, provision_operation, shown
from pxrun.plan.rolling import roll
from pxrun.plan.stale import stale_changes, stale_drift
from pxrun.plan.update import plan_existing
from pxrun.plan.validate import duplicate_hostnames, vmid_conflict
from pxrun.pve.config import canonical
from pxrun.spec.model import Container, Stack

_PARTS = re.compile(r"\d+|\D+")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """web-2 before web-10."""
    return tuple([(0, int(p)) if p.isdigit() else (1, p) for p in _PARTS.findall(name)])


def natural_sorted(names: Iterable[str]) -> list[str]:
    return sorted(names, key=natural_key)


class _Order:
    """Every address of the plan in natural order, ranked once: a 10,000-container plan
    sorts its names several times, and splitting each name into digits and text is most
    of a sort's cost."""

    def __init__(self, names: Iterable[str]) -> None:
        self.rank = {name: i for i, name in enumerate(natural_sorted(set(names)))}

    def sorted(self, names: Iterable[str]) -> list[str]:
        """`natural_sorted(names)`, the same list."""
        rank, listed = self.rank, list(names)
        if not all(name in rank for name in listed):
            return natural_sorted(listed)
        return sorted(listed, key=rank.__getitem__)


def plan(desired: Stack, observed: Observed, options: PlanOptions | None = None) -> Plan:
    """Diff the desired stack against the observed cluster into a Plan. Pure."""
    with collector_paused():  # bulk allocation, no cycles: pxrun.collector
        return _plan(desired, observed, options or PlanOptions())


def _plan(desired: Stack, observed: Observed, options: PlanOptions) -> Plan:
    ctx = PlanContext.start(desired, observed, options)
    recognised = recognise(ctx)  # strays keyed by their spec names: ctx.observed updated
    observed = ctx.observed
    natural = _Order([*desired.containers, *observed.containers])
    scope = _scope(ctx)
    _stack_checks(ctx, scope)
    unknown = tuple(UnknownContainer(vmid=g.vmid, node=g.node, name=g.name)
                    for g in observed.unknown)
    for guest in unknown:
        ctx.warn(None, f"container {guest.vmid} ({guest.name or 'no name'}) of this stack is on "
                       f"node {guest.node}, which did not answer: it is neither changed, "
                       "created nor deleted")
    changes: list[ResourceChange] = []
    drift: list[ResourceChange] = []
    if options.mode == "refresh-only":
        drift = _drift(ctx, scope, natural) + stale_drift(ctx, scope)
    elif options.mode == "destroy":
        changes = [plan_delete(ctx, observed.containers[name], desired.containers.get(name),
                               prune=False, reason="destroy mode")
                   for name in natural.sorted(observed.containers) if name in scope]
        changes += stale_changes(ctx, scope, destroy_mode=True)
    else:
        changes = _normal(ctx, scope, recognised, natural) + stale_changes(ctx, scope)
    order = natural.rank
    def rank(address: str) -> int:
        return order.get(address, len(order))  # stale copies last

    changes.sort(key=lambda c: rank(c.address))
    changes = roll(desired, changes, rank)
    changes += plan_ha_rules(ctx, changes)  # after the containers they name
    return Plan(
        mode=options.mode, stack=desired.stack, spec_hash=ctx.spec_hash(),
        restart_policy=options.restart, changes=tuple(changes), drift=tuple(drift),
        diagnostics=tuple(ctx.diagnostics), unknown=unknown,
        observed_digests={name: observed.containers[name].digest
                          for name in natural.sorted(observed.containers) if name in scope},
        summary=_summary(changes, drift))


def _scope(ctx: PlanContext) -> set[str]:
    """Addresses in scope: every one, or the targets and what they depend on."""
    everything = set(ctx.stack.containers) | set(ctx.observed.containers)
    targets = ctx.options.targets
    if not targets:
        return everything
    for name in sorted(targets - everything):
        ctx.error(name, f"target {name} is neither in the spec nor managed in the cluster")
    scope: set[str] = set()
    todo = [t for t in targets if t in everything]
    while todo:
        name = todo.pop()
        if name not in scope:
            scope.add(name)
            ct = ctx.stack.containers.get(name)
            todo.extend(ct.depends_on if ct is not None else [])
    return scope


def _stack_checks(ctx: PlanContext, scope: set[str]) -> None:
    """Problems of the stack as a whole, reported on the containers they concern."""
    if ctx.observed.stack != ctx.stack.stack:
        ctx.error(None, f"observed stack {ctx.observed.stack!r} is not the spec's stack "
                        f"{ctx.stack.stack!r}")
    for name, others in sorted(duplicate_hostnames(ctx.stack).items()):
        if name in scope:
            host = ctx.stack.containers[name].hostname
            ctx.error(name, f"hostname {host} is also used by {', '.join(others)}")
    for name, ct in sorted(ctx.stack.containers.items()):
        conflict = vmid_conflict(ct, ctx.observed) if name in scope else None
        if conflict:
            ctx.error(name, conflict, "choose another vmid, or leave it unset")
    for problem in ctx.observed.problems:
        ctx.warn(None, f"container {problem.vmid} on {problem.node}: {problem.message}")
    if ctx.options.mode != "refresh-only":
        pve9.ha_readable(ctx)
    for name in sorted(ctx.options.replace - set(ctx.observed.containers)):
        ctx.warn(name, f"--replace {name}: no such container in the cluster")


def _is_unknown(ctx: PlanContext, want: Container) -> bool:
    """Whether `want` may be one of the containers on a node that did not answer."""
    return any(g.vmid == want.vmid or g.name == want.hostname for g in ctx.observed.unknown)


def _normal(ctx: PlanContext, scope: set[str], recognised: Recognised,
            natural: _Order) -> list[ResourceChange]:
    stack, observed = ctx.stack, ctx.observed
    names = natural.sorted(n for n in stack.containers if n in scope)
    changes = [plan_existing(ctx, stack.containers[n], observed.containers[n])
               for n in names if n in observed.containers]
    for name in names:
        if name in observed.containers:
            continue
        if _is_unknown(ctx, stack.containers[name]):
            ctx.warn(name, f"{name} is not created: it may be a container on a node that "
                           "did not answer")
            continue
        if not create_allowed(ctx, recognised, stack.containers[name]):
            continue
        changes.append(plan_create(ctx, stack.containers[name]))
    for name in natural.sorted(observed.containers):
        ct = observed.containers[name]
        if name in stack.containers or name not in scope:
            continue
        if ctx.options.no_prune:
            ctx.warn(name, f"{name} is no longer in the spec; kept because of --no-prune")
            continue
        changes.append(plan_delete(ctx, ct, None, prune=True,
                                   reason="no longer in the spec: pruned"))
    return changes


def _drift(ctx: PlanContext, scope: set[str], natural: _Order) -> list[ResourceChange]:
    """Refresh-only: what differs between spec and cluster, as read-only changes
    (before = the spec, after = the cluster)."""
    stack, observed, secrets = ctx.stack, ctx.observed, ctx.view_secrets()
    drift: list[ResourceChange] = []
    for name in natural.sorted(scope):
        desired, have = stack.containers.get(name), observed.containers.get(name)
        base = {"address": name, "action": Action.READ}
        if desired is not None and have is not None:
            want, seen = essence_pair(desired, have)
            spec_view = view(want, None, secrets)
            cluster_view = view(seen, None, secrets)
            diffs = [*field_diffs(spec_view, cluster_view), *ownership_drift(ctx, have)]
            updated = pve9.image_update(ctx, want, have)
            if updated is not None:  # the registry moved the tag: spec (now) -> cluster
                diffs.append(updated.model_copy(update={"old": updated.new,
                                                        "new": updated.old}))
            steps = provision_operation(ctx, desired, have, check=False)
            if steps is not None:  # the steps the container did not run as the spec says
                diffs.append(FieldDiff(op="change", path="provision", old=shown(steps.steps),
                                       new=OUT_OF_DATE))
            if diffs or have.tainted:
                why = ("image updated: " + pve9.update_words(updated) if updated is not None
                       else "changed outside pxrun: " + ", ".join(d.path for d in diffs)
                       if diffs else "tainted by a failed apply")
                drift.append(ResourceChange(
                    **base, node=have.node, vmid=have.vmid, digest=have.digest,
                    before=spec_view, after=cluster_view, diffs=tuple(diffs), reason=why))
        elif desired is not None and not _is_unknown(ctx, desired):
            drift.append(ResourceChange(**base, before=view(canonical(desired), None, secrets),
                                        reason="in the spec, not in the cluster"))
        elif have is not None:
            drift.append(ResourceChange(
                **base, node=have.node, vmid=have.vmid, digest=have.digest,
                after=view(canonical(have.current), None, secrets),
                reason="managed by this stack, not in the spec"))
    return drift


def _summary(changes: list[ResourceChange], drift: list[ResourceChange]) -> Summary:
    count = Counter(c.action for c in changes)  # one pass (a plan may hold 10,000)
    return Summary(add=count[Action.CREATE], change=count[Action.UPDATE],
                   replace=count[Action.DELETE_THEN_CREATE] + count[Action.CREATE_THEN_DELETE],
                   destroy=count[Action.DELETE], drifted=len(drift))
