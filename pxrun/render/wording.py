"""Every word and symbol the human plan shows, in one place.

Why one module: the planner decides, the JSON plan records, and only this table says it to
people (STYLE.md: "all human wording lives in one place"). Changing a phrase, translating
the output or adding an action touches this file and nothing that computes a plan.
"""

from __future__ import annotations

from typing import Final

# --- actions ------------------------------------------------------------------------------
# Keys are the JSON plan's action lists joined with "-then-" (Terraform's vocabulary).

SYMBOLS: Final[dict[str, str]] = {
    "create": "+",
    "update": "~",
    "delete-then-create": "-/+",
    "create-then-delete": "+/-",
    "delete": "-",
    "read": "<=",
    "no-op": " ",
}

STYLES: Final[dict[str, str]] = {
    "create": "green",
    "update": "yellow",
    "delete-then-create": "magenta",
    "create-then-delete": "magenta",
    "delete": "red",
    "read": "cyan",
    "no-op": "dim",
}

HEADLINES: Final[dict[str, str]] = {
    "create": "{address} will be created",
    "update": "{address} will be updated in place",
    "delete-then-create": "{address} must be replaced",
    "create-then-delete": "{address} must be replaced (the new one is created first)",
    "delete": "{address} will be destroyed",
    "read": "{address} has changed outside pxrun",
    "read-missing": "{address} is in the spec but not on the cluster",
    "read-unexpected": "{address} is managed by this stack but no longer in the spec",
    "no-op": "{address} is up to date",
}

# Why an action was chosen, for the planner's reason keywords. A reason that is not a known
# keyword is the planner's own sentence and is shown as it is.
REASONS: Final[dict[str, str]] = {
    "missing": "it is in the spec but not on the cluster",
    "not_in_spec": "it is no longer in the spec",
    "prune": "it is no longer in the spec",
    "destroy_mode": "the plan destroys every container of the stack",
    "replace_requested": "--replace asked for it",
    "replace_by_request": "--replace asked for it",
    "tainted": "it is tainted: an earlier apply failed after creating it",
    "cannot_update": "a field that cannot change in place changed",
    "drift": "the cluster differs from the spec",
}

TAINT_STEP: Final = "tainted: provisioning failed at {step} (log: {log}); apply finishes it"
TAINT: Final = "tainted: an earlier apply failed on it; apply finishes it"

TAILNET_NOTE: Final = ("its node {hostname} is removed from the tailnet "
                       "(--keep-tailscale keeps it)")

BECAUSE: Final = "(because {reason})"
AS_GIVEN: Final = "({reason})"
SAID_AS_IS: Final = ("image updated:",)  # reasons shown as they are: `# image updated: ...`

# What a change is a change of: containers, and the stack's HA rules (`ha_rules.<name>`).
KINDS: Final[dict[str, str]] = {"ha_rules.": "ha_rule"}
KIND_DEFAULT: Final = "container"

# --- fields -------------------------------------------------------------------------------
# What a changed field costs, by the effect the JSON plan gives each diff.

EFFECT_NOTES: Final[dict[str, str]] = {
    "replace": "forces replacement",
    "restart": "needs restart",
    "resize": "resize",
    "migrate": "migrate {old} → {new}",
    "migrate_restart": "migrate {old} → {new}: stopped, moved, started again",
    "move_volume": "move volume: the container is stopped for it",
    "move_and_resize": "move volume (the container is stopped for it), then resize",
    "provision": "re-provision",
    "pool": "",
    "power": "",
    "ha": "HA resource",
}

ARROW: Final = "→"
SENSITIVE: Final = "(sensitive)"
KNOWN_AFTER_APPLY: Final = "(known after apply)"

RESTART_NOTES: Final[dict[str, str]] = {
    "auto": "pxrun restarts {address} to apply {what}",
    "never": "{what} stay pending until {address} restarts (restart policy: never)",
    "ask": "apply asks before restarting {address} to apply {what}",
}
# What the restart applies: changes of this plan (marked), or pending since before, or both.
RESTART_WHAT: Final[dict[tuple[bool, bool], str]] = {
    (True, False): "the changes marked # needs restart",
    (False, True): "the pending changes",
    (True, True): "the changes marked # needs restart and the pending ones",
}
PENDING: Final = "pending since an earlier change: {keys}"

# --- what happens around a change: rolling, safety nets, data ----------------------

TAINT_SUMMARY: Final = ("it is marked tainted: the next plan shows what is left, and apply "
                         "finishes it")
ROLL_AFTER: Final = ("rolling replace: starts once {after} {verb} running again with an "
                     "address")
SNAPSHOT: Final = "snapshot pxrun-<time> first (the last {keep} are kept){rollback}"
SNAPSHOT_ROLLBACK: Final = "; rolled back if the change fails"
BACKUP: Final = "backed up to {storage} first (vzdump): `pxrun restore {address}` brings it back"
DATA_KEPT: Final = "data kept: {slot} ({size}) moves to the new container{target}"
DATA_KEPT_AS: Final = " as {slot}"
DATA_DESTROYED: Final = "data destroyed: {slot} ({size})"
SIZE_UNKNOWN: Final = "size unknown"

# --- sections -----------------------------------------------------------------------------

INTRO: Final = "pxrun will perform the following actions:"
INTRO_DESTROY: Final = "pxrun will destroy every container of stack {stack}:"
PRUNE_HEADING: Final = "Containers pxrun manages that are no longer in the spec will be DESTROYED:"
PRUNE_ITEM: Final = "{address}{where}"
PRUNE_HINT: Final = ("Keep them with --no-prune, or put them back in the spec. "
                     "Their data is deleted with them.")
DRIFT_HEADING: Final = "Changed outside pxrun (the cluster no longer matches the spec):"
DRIFT_NOTE: Final = ("`pxrun plan` shows what apply would change to bring them back; or "
                     "change the spec to accept them.")
UNKNOWN_HEADING: Final = "Unknown: their node did not answer, so nothing is planned for them:"
UNKNOWN_ITEM: Final = "? {name} (vmid {vmid} on {node})"
WHERE: Final = " (vmid {vmid} on {node})"
WHERE_VMID: Final = " (vmid {vmid})"
WHERE_NODE: Final = " (on {node})"

# --- summary ------------------------------------------------------------------------------

SUMMARY: Final = ("Plan: {add} to add, {change} to change, {replace} to replace, "
                  "{destroy} to destroy.")
NO_CHANGES: Final = "No changes. Your containers match the spec."
NO_DRIFT: Final = "No drift. Your containers match the spec."
DRIFT_SUMMARY: Final = "Drift: {drifted} {noun} {verb} from the spec."
ERRORED: Final = "The plan has errors; nothing can be applied until they are fixed."
SAVED: Final = "Saved the plan to {path}. Apply exactly this plan with: pxrun apply {path}"
SAVED_HEADER: Final = "Saved plan {path}: stack {stack}, made by pxrun {version} from {spec}."
SAVED_NO_SPEC: Final = "the spec in the working directory"
SAVED_FOOTER: Final = ("Apply exactly this plan with: pxrun apply {path} (refused if the spec "
                       "or a container changed since it was made)")

ERROR_PREFIX: Final = "error:"
WARNING_PREFIX: Final = "warning:"
HINT_PREFIX: Final = "hint:"


def noun(count: int, singular: str = "container", plural: str = "containers") -> str:
    """`singular` or `plural` for `count`."""
    return singular if count == 1 else plural
