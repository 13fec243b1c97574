"""DIFF: `plan(desired, observed, options) -> Plan`.

Pure: no I/O, no clock, no globals. The option rows (`pxrun.pve.options.OPTIONS`) decide
how each field changes and which route (API or `pct set` on the node) each write takes.
The reason of a change is for humans only; apply never branches on it: it runs
`ResourceChange.operations`. The public names are re-exported here.
"""

from pxrun.plan.fingerprint import spec_hash
from pxrun.plan.model import Action, Plan, PlanDiagnostic, ResourceChange
from pxrun.plan.options import PlanOptions
from pxrun.plan.planner import plan

__all__ = [
    "Action",
    "Plan",
    "PlanDiagnostic",
    "PlanOptions",
    "ResourceChange",
    "plan",
    "spec_hash",
]
