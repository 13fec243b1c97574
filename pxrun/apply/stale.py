"""Is a saved plan still the plan? Compare it with what the cluster and the spec say now.

A plan saved with `pxrun plan -o plan.json` was computed against one state of the cluster
and one version of the spec. Applying it later is only safe if neither moved: otherwise the
operations (a PUT of some keys, a delete of vmid 104) may no longer mean what the reviewer
approved. The saved plan records every managed container's config digest and the spec's
hash; the caller re-observes and recomputes both, and this pure function says what changed.
Digests are also sent with every config write, so a change that races the apply itself is
refused by Proxmox.
"""

from __future__ import annotations

from collections.abc import Mapping

from pxrun.errors import PlanError
from pxrun.plan.model import Plan


class StalePlanError(PlanError):
    """The saved plan no longer matches the cluster or the spec."""

    hint = "run `pxrun plan` again (and save it with -o) and apply the new plan"


def stale_reasons(saved: Plan, digests_now: Mapping[str, str | None], spec_hash_now: str,
                  stack_now: str | None = None) -> list[str]:
    """Why `saved` is stale (empty when it is fresh). Pure."""
    reasons: list[str] = []
    if stack_now is not None and stack_now != saved.stack:
        reasons.append(f"the plan is for stack {saved.stack!r}, the spec is {stack_now!r}")
    if spec_hash_now != saved.spec_hash:
        reasons.append("the spec changed since the plan was made")
    before = dict(saved.observed_digests)
    for name in sorted(set(before) | set(digests_now)):
        if name not in digests_now:
            reasons.append(f"{name}: the container is gone or unreadable now")
        elif name not in before:
            reasons.append(f"{name}: a container appeared since the plan was made")
        elif before[name] != digests_now[name]:
            reasons.append(f"{name}: its config changed since the plan was made")
    return reasons


def check_fresh(saved: Plan, digests_now: Mapping[str, str | None], spec_hash_now: str,
                stack_now: str | None = None) -> None:
    """Raise `StalePlanError` naming every reason when `saved` is stale."""
    reasons = stale_reasons(saved, digests_now, spec_hash_now, stack_now)
    if reasons:
        raise StalePlanError("the plan is stale: " + "; ".join(reasons))
