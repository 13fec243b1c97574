"""DIFF: `plan(desired, observed, options) -> Plan`.

Pure: no I/O, no clock, no globals. One field-policy table (`policy.FIELD_POLICIES`)
decides how each field changes. The reason of a change is for humans only; apply never
branches on it: it runs `ResourceChange.operations`. The public names are re-exported here.
"""

from pxrun.plan.fingerprint import provision_fingerprint, spec_hash, step_fingerprints
from pxrun.plan.model import Action, Plan, PlanDiagnostic, ResourceChange
from pxrun.plan.options import PlanOptions
from pxrun.plan.planner import plan
from pxrun.plan.policy import FIELD_POLICIES, ChangeKind, FieldPolicy

__all__ = [
    "FIELD_POLICIES",
    "Action",
    "ChangeKind",
    "FieldPolicy",
    "Plan",
    "PlanDiagnostic",
    "PlanOptions",
    "ResourceChange",
    "plan",
    "provision_fingerprint",
    "spec_hash",
    "step_fingerprints",
]
