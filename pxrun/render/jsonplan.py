"""The JSON plan: `Plan` -> a versioned, public JSON document, and back for saved plans.

Why a separate format and not `Plan.model_dump()`: the JSON plan is read by CI tools,
reviewers' scripts and `pxrun apply plan.json` of a later pxrun release, so its shape is a
promise (schemas/plan.schema.json, specs/0041) while the planner's model may be refactored.
The names follow Terraform's JSON plan where it has one (`resource_changes`, `actions` as a
list, `action_reason`, `replace_paths`). The human renderer reads this document only, so a
new output never touches the diff logic.

Each field diff also carries its `effect` (what changing that field costs: live, restart,
resize, migrate, move_volume, replace, provision, pool), derived here from the change's
own operations, so readers need not know Proxmox's semantics.

Pure: no I/O. Secret values never reach this module (views show them as "(sensitive)",
operations name them, specs/0052); `plan_from_json` refuses a document of another major
version (format 2.0 added routes and secret references: a 1.x plan may hold placeholders).
2.1 added `DeleteContainer.hostname` (adoption); 2.2 names provisioning steps (`provision`
operations with `steps` and `fingerprints`, a `provision` diff listing the steps that run)
and adds `leave_tailnet` and a change's `taint`; 2.3 the data-safety operations (reassign,
snapshots, backups) and a change's `pending`, `data_destroyed` and `roll_after`; 2.4 the
Proxmox VE 9 operations (`raw_lxc`, `ha`, `ha_rule`, a create's `pull`); 2.5 a create's
`recreates` (the copy on a lost node it stands in for, specs/0063).
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from pxrun import __version__
from pxrun.errors import PlanError
from pxrun.plan.model import Action, FieldDiff, MoveVolume, Plan, ResizeVolume, ResourceChange
from pxrun.pve.config import key_for, option_for, slot_of
from pxrun.pve.options import ChangeKind

FORMAT_VERSION: Final = "2.5"
"""major.minor: readers accept any minor of their major; additions bump the minor."""

JsonDoc = dict[str, Any]

_MOUNT_VOLUME = re.compile(r"^mounts\.mp\d+\.(?:volume|size)$")
_EFFECTS: Final[dict[ChangeKind, str | None]] = {
    ChangeKind.RESIZE: "resize", ChangeKind.MIGRATE: "migrate",
    ChangeKind.MOVE_VOLUME: "move_volume", ChangeKind.POOL: "pool",
    ChangeKind.POWER: "power", ChangeKind.PROVISION: "provision",
    ChangeKind.REPLACE: "replace", ChangeKind.NOT_COMPARED: None, ChangeKind.HA: "ha",
}


def plan_to_json(plan: Plan, *, spec_path: str | None = None) -> JsonDoc:
    """The JSON plan of `plan` (see schemas/plan.schema.json). `spec_path`: where the spec
    is, relative to the saved plan file (1.1), so apply finds it from any directory."""
    return {
        "format_version": FORMAT_VERSION,
        "pxrun_version": __version__,
        "stack": plan.stack,
        "mode": plan.mode,
        "spec_hash": plan.spec_hash,
        "spec_path": spec_path,
        "restart_policy": plan.restart_policy,
        "resource_changes": [_change(c) for c in plan.changes],
        "drift": [_change(c) for c in plan.drift],
        "unknown": [u.model_dump(mode="json") for u in plan.unknown],
        "diagnostics": [d.model_dump(mode="json") for d in plan.diagnostics],
        "observed_digests": dict(plan.observed_digests),
        "summary": plan.summary.model_dump(mode="json"),
        "changes_present": plan.has_changes,
        "errored": bool(plan.errors),
    }


def dumps(doc: JsonDoc) -> str:
    """The document as text: stable key order and indentation, so saved plans diff well."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def plan_from_json(doc: JsonDoc) -> Plan:
    """A `Plan` back from its JSON plan (a saved `-o` file). Raises PlanError when the
    document is of another major format version or does not describe a plan."""
    version = str(doc.get("format_version", ""))
    if version.split(".", 1)[0] != FORMAT_VERSION.split(".", 1)[0]:
        raise PlanError(f"the saved plan has format version {version or 'none'}; this pxrun "
                        f"reads version {FORMAT_VERSION.split('.', 1)[0]}.x",
                        hint="run `pxrun plan -o FILE` again with this pxrun")
    try:
        return Plan.model_validate({
            "mode": doc["mode"], "stack": doc["stack"], "spec_hash": doc["spec_hash"],
            "restart_policy": doc.get("restart_policy", "auto"),
            "changes": [_change_back(c) for c in doc.get("resource_changes", [])],
            "drift": [_change_back(c) for c in doc.get("drift", [])],
            "diagnostics": doc.get("diagnostics", []),
            "observed_digests": doc.get("observed_digests", {}),
            "unknown": doc.get("unknown", []),
            "summary": doc.get("summary", {}),
        })
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"the saved plan is not a pxrun plan: {_first_line(exc)}",
                        hint="run `pxrun plan -o FILE` again") from None


def _change(change: ResourceChange) -> JsonDoc:
    return {
        "address": change.address,
        "actions": change.action.as_list(),
        "action_reason": change.reason,
        "vmid": change.vmid,
        "node": change.node,
        "digest": change.digest,
        "before": change.before,
        "after": change.after,
        "diffs": [{**d.model_dump(mode="json"), "effect": diff_effect(d, change)}
                  for d in change.diffs],
        "replace_paths": list(change.replace_paths),
        "restart_required": change.restart_required,
        "restart_policy": change.restart_policy,
        "prune": change.prune,
        "depends_on": list(change.depends_on),
        "pending": list(change.pending),
        "data_destroyed": [v.model_dump(mode="json") for v in change.data_destroyed],
        "roll_after": list(change.roll_after),
        "operations": [op.model_dump(mode="json") for op in change.operations],
        "taint": change.taint.model_dump(mode="json") if change.taint is not None else None,
    }


def _change_back(item: JsonDoc) -> JsonDoc:
    out = {key: value for key, value in item.items()
           if key not in ("actions", "action_reason", "diffs")}
    out["action"] = item["actions"]
    out["reason"] = item.get("action_reason", "")
    out["diffs"] = [{k: v for k, v in d.items() if k != "effect"} for d in item.get("diffs", [])]
    return out


def diff_effect(diff: FieldDiff, change: ResourceChange) -> str | None:
    """What carrying out this field's change costs: the planner's field policy, refined by
    the change's own operations (a config key Proxmox holds pending means a restart).

    None where a field note would say nothing: create, delete, read, and the fields of a
    replace that did not force it.
    """
    if _covered(diff.path, change.replace_paths):
        return "replace"
    if change.action is not Action.UPDATE:
        return None
    try:
        kind = option_for(diff.path).kind
    except KeyError:  # no option row: ownership (marker, tag) restored by a live write
        return "live"
    if kind is ChangeKind.MOUNT and _MOUNT_VOLUME.match(diff.path):
        slot = slot_of(diff.path)
        resized = any(isinstance(op, ResizeVolume) and op.disk == slot
                      for op in change.operations)
        moved = any(isinstance(op, MoveVolume) and op.volume == slot
                    for op in change.operations)
        if resized or moved:
            return "move_and_resize" if resized and moved else (
                "resize" if resized else "move_volume")
    elif kind in _EFFECTS:
        return _EFFECTS[kind]
    if kind is ChangeKind.RAW:  # the config file: read when the container starts
        return "restart" if any(op.op == "raw_lxc" and op.pending
                                for op in change.operations) else "live"
    pending = {key for op in change.operations if op.op == "config" for key in op.pending}
    pending |= {op.slot for op in change.operations if op.op == "detach_mount"
                and change.restart_required}
    return "restart" if key_for(diff.path) in pending else "live"


def _covered(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + ".") or p.startswith(path + ".")
               for p in prefixes)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
