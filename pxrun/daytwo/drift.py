"""The drift report: what moved away from the spec, field by field, as a versioned document.

Built from the planner's refresh-only answer, never by diffing anything here: the planner
compares the spec with the config Proxmox holds *including pending changes* (what the
container will be after its next restart). For a container with pending changes a second
refresh-only plan compares the spec with the config it runs *now*; putting the two side by
side tells, per field, whether the drift is live or held by Proxmox until a restart — both
are drift, and the report says which (`pending`). The same document is `pxrun drift
--json`, the source of the human text, of the metrics and of watch's records; its schema is
`schemas/drift.schema.json`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pxrun import __version__
from pxrun.observe.model import Observed
from pxrun.plan.model import FieldDiff, Plan

FORMAT_VERSION: Literal["1.0"] = "1.0"
Json = Any


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DriftField(_Frozen):
    """One drifted field. `spec` is what git says, `cluster` what Proxmox's config holds
    (after pending changes), `running` what the running container has now. `pending`: the
    cluster and the running container differ here, so the drift (or its cure) waits for a
    restart."""

    path: str
    op: Literal["add", "change", "remove"]
    spec: Json = None
    cluster: Json = None
    running: Json = None
    pending: bool = False


Kind = Literal["changed", "tainted", "missing", "unexpected", "stale"]


class DriftedContainer(_Frozen):
    """A container that differs from the spec. `kind`: changed (fields below), tainted (an
    apply failed after creating it), missing (in the spec, not in the cluster), unexpected
    (managed by the stack, no longer in the spec), stale (an old copy of a container that
    was recreated after its node was lost; address `<name>~<vmid>`, `reason` says more)."""

    address: str
    kind: Kind
    vmid: int | None = None
    node: str | None = None
    fields: tuple[DriftField, ...] = ()
    reason: str | None = None


class UnknownGuest(_Frozen):
    """A container of the stack on a node that did not answer: neither drifted nor not."""

    vmid: int
    node: str
    name: str = ""


class Diagnostic(_Frozen):
    severity: Literal["error", "warning"]
    address: str | None = None
    message: str


class DriftSummary(_Frozen):
    """Counts for people and metrics. Power states are of the managed containers found."""

    managed: int = 0
    running: int = 0
    stopped: int = 0
    unknown: int = 0
    drifted_containers: int = 0
    drifted_fields: int = 0
    pending_containers: int = 0
    offline_nodes: int = 0
    stale_copies: int = 0


class DriftReport(_Frozen):
    """`pxrun drift --json`. `drifted` is the exit-2 question."""

    format_version: Literal["1.0"] = FORMAT_VERSION
    pxrun_version: str = __version__
    stack: str
    checked_at: str  # ISO 8601, UTC
    duration_seconds: float
    drifted: bool
    summary: DriftSummary
    containers: tuple[DriftedContainer, ...] = ()
    unknown: tuple[UnknownGuest, ...] = ()
    offline_nodes: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def running_view(observed: Observed) -> tuple[Observed, frozenset[str]]:
    """The cluster as it runs now: containers with pending changes, their current config
    standing in for the config after the restart. With the names of those containers (the
    targets of the second refresh-only plan; empty when nothing is pending)."""
    pending = {name: oc.model_copy(update={"future": oc.current, "pending": frozenset()})
               for name, oc in observed.containers.items() if oc.pending}
    return observed.model_copy(update={"containers": pending}), frozenset(pending)


def _fields(config_diffs: tuple[FieldDiff, ...],
            running_diffs: tuple[FieldDiff, ...]) -> tuple[DriftField, ...]:
    """Join spec-vs-config and spec-vs-running diffs into one list with `pending` marks."""
    config = {d.path: d for d in config_diffs}
    now = {d.path: d for d in running_diffs}
    out: list[DriftField] = []
    for path in sorted(config.keys() | now.keys()):
        f, r = config.get(path), now.get(path)
        if f is not None and r is not None and (f.op, f.new) == (r.op, r.new):
            out.append(DriftField(path=path, op=f.op, spec=f.old, cluster=f.new, running=f.new))
        elif f is not None:  # the config moved away from the running container
            out.append(DriftField(path=path, op=f.op, spec=f.old, cluster=f.new,
                                  running=r.new if r is not None else f.old, pending=True))
        elif r is not None:  # the config matches the spec, the running container does not
            out.append(DriftField(path=path, op=r.op, spec=r.old, cluster=r.old,
                                  running=r.new, pending=True))
    return tuple(out)


def drift_report(observed: Observed, spec_drift: Plan, running_drift: Plan | None, *,
                 checked_at: float, duration: float) -> DriftReport:
    """The report from one observation and its refresh-only plans. Pure."""
    pending_names = {n for n, oc in observed.containers.items() if oc.pending}
    running_changes = {c.address: c for c in running_drift.drift
                       if c.address in pending_names} if running_drift else {}
    addresses = [c.address for c in spec_drift.drift]
    addresses += sorted(n for n in running_changes if n not in set(addresses))
    by_address = {c.address: c for c in spec_drift.drift}
    containers: list[DriftedContainer] = []
    for address in addresses:
        change = by_address.get(address) or running_changes[address]
        have = observed.containers.get(address)
        if change.after is None:
            kind: Kind = "missing"
        elif change.before is None and address not in observed.containers and any(
                c.vmid == change.vmid for c in observed.stale):
            kind = "stale"
        elif change.before is None:
            kind = "unexpected"
        else:
            kind = "changed"
        fields: tuple[DriftField, ...] = ()
        if kind == "changed":
            config_diffs = by_address[address].diffs if address in by_address else ()
            running = running_changes.get(address)
            fields = _fields(config_diffs, (running.diffs if running is not None else ())
                             if address in pending_names else config_diffs)
            if not fields and have is not None and have.tainted:
                kind = "tainted"
            elif not fields:
                continue
        containers.append(DriftedContainer(address=address, kind=kind, vmid=change.vmid,
                                           node=change.node, fields=fields,
                                           reason=change.reason if kind == "stale" else None))
    states = [oc.status for oc in observed.containers.values()]
    offline = tuple(sorted(n for n, info in observed.nodes.items() if not info.online))
    summary = DriftSummary(
        managed=len(states), running=states.count("running"), stopped=states.count("stopped"),
        unknown=len(observed.unknown) + states.count("unknown"),
        drifted_containers=len(containers),
        drifted_fields=sum(len(c.fields) for c in containers),
        pending_containers=sum(1 for c in containers if any(f.pending for f in c.fields)),
        offline_nodes=len(offline),
        stale_copies=sum(1 for c in containers if c.kind == "stale"))
    return DriftReport(
        stack=spec_drift.stack, checked_at=iso(checked_at), duration_seconds=round(duration, 3),
        drifted=bool(containers), summary=summary, containers=tuple(containers),
        unknown=tuple(UnknownGuest(vmid=g.vmid, node=g.node, name=g.name)
                      for g in observed.unknown),
        offline_nodes=offline,
        diagnostics=tuple(Diagnostic(severity=d.severity, address=d.address, message=d.message)
                          for d in spec_drift.diagnostics))
