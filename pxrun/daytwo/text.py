"""The drift report as people read it (cron mail, CI logs). Pure; every word lives here.

    Drift of stack homelab: the cluster no longer matches the spec.

      ~ web-1 (vmid 101 on pve1) changed outside pxrun:
          resources.memory: 1024 → 2048
          timezone: null → UTC  (pending: Proxmox applies it at the next restart)
      + db is in the spec but not on the cluster
      ? cache (vmid 105 on pve2): node pve2 did not answer; its state is unknown
      - api~104 (vmid 104 on pve3) is a stale copy of api after node pve3 was lost: api
        was recreated as vmid 112 on pve1 at 2026-03-01T10:00:00Z

    Drift: 2 containers differ from the spec (3 fields); 1 unknown.
"""

from __future__ import annotations

import json
from typing import Any

from pxrun.daytwo.drift import DriftedContainer, DriftField, DriftReport

HEADING = "Drift of stack {stack}: the cluster no longer matches the spec."
NO_DRIFT = "No drift: the containers of stack {stack} match the spec."
WHERE = " (vmid {vmid} on {node})"
KINDS = {
    "changed": "~ {address}{where} changed outside pxrun:",
    "tainted": "! {address}{where} is tainted: an apply failed after creating it",
    "missing": "+ {address} is in the spec but not on the cluster",
    "unexpected": "- {address}{where} is managed by this stack but no longer in the spec",
    "stale": "- {address}{where} is a {reason}",
}
PENDING_CONFIG = "pending: Proxmox applies it at the next restart; runs {running} now"
PENDING_SPEC = "pending: the config matches the spec, but the container runs {running} " \
               "until it restarts"
UNKNOWN = "? {name}{where}: node {node} did not answer; its state is unknown"
OFFLINE = "Nodes not answering: {nodes}."
SUMMARY = "Drift: {count} {noun} from the spec{detail}."
DETAIL = " ({fields} {fnoun}{pending})"
PENDING_NOTE = "; {pending} waiting for a restart"
UNKNOWN_NOTE = " {count} unknown."
NEXT = "`pxrun plan` shows what apply would change to bring them back; or change the spec."


def _value(value: Any) -> str:
    return "null" if value is None else value if isinstance(value, str) else json.dumps(
        value, sort_keys=True)


def _field(item: DriftField) -> str:
    if item.op == "add":
        line = f"{item.path}: (unset) → {_value(item.cluster)}"
    elif item.op == "remove":
        line = f"{item.path}: {_value(item.spec)} → (removed)"
    else:
        line = f"{item.path}: {_value(item.spec)} → {_value(item.cluster)}"
    if item.pending:
        note = PENDING_SPEC if item.cluster == item.spec else PENDING_CONFIG
        line += f"  ({note.format(running=_value(item.running))})"
    return line


def _where(vmid: int | None, node: str | None) -> str:
    return WHERE.format(vmid=vmid, node=node) if vmid is not None and node else ""


def _container(item: DriftedContainer) -> list[str]:
    head = KINDS[item.kind].format(address=item.address, where=_where(item.vmid, item.node),
                                   reason=item.reason)
    return [f"  {head}", *(f"      {_field(f)}" for f in item.fields)]


def render_drift(report: DriftReport) -> str:
    """The whole report; ends with one summary line."""
    out: list[str] = []
    if report.containers:
        out += [HEADING.format(stack=report.stack), ""]
        for item in report.containers:
            out += _container(item)
        out.append("")
    if report.unknown:
        out += [f"  {UNKNOWN.format(name=g.name or '?', where=_where(g.vmid, g.node), node=g.node)}"
                for g in report.unknown]
        out.append("")
    if report.offline_nodes:
        out += [OFFLINE.format(nodes=", ".join(report.offline_nodes)), ""]
    out.append(summary_line(report))
    if report.containers:
        out.append(NEXT)
    return "\n".join(out) + "\n"


def summary_line(report: DriftReport) -> str:
    s = report.summary
    unknown = UNKNOWN_NOTE.format(count=s.unknown) if s.unknown else ""
    if not report.drifted:
        return NO_DRIFT.format(stack=report.stack) + unknown
    pending = PENDING_NOTE.format(pending=s.pending_containers) if s.pending_containers else ""
    detail = DETAIL.format(fields=s.drifted_fields, pending=pending,
                           fnoun="field" if s.drifted_fields == 1 else "fields") \
        if s.drifted_fields else ""
    return SUMMARY.format(count=s.drifted_containers, detail=detail,
                          noun="container differs" if s.drifted_containers == 1
                          else "containers differ") + unknown
