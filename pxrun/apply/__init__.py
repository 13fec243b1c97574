"""ACT: executes a Plan through the API client; never re-plans and never prints.

Each operation runs by the route the plan chose (the API, or `pct set` on the node through
the `RootRunner` seam); values the plan names as secrets are filled in from the injected
`SecretSource` at the moment of the call; provisioning steps run through the injected
`Provisioner` and their outcome is recorded on the container; a deleted container's tailnet
node leaves through the `TailnetRemover`.

Progress goes out through a hook interface that the CLI implements. The public names:
`apply_plan(client, plan, options=, hook=, stop=) -> ApplySummary`, `ApplyOptions`,
`Limits`, `Hook`, `StackLock` / `force_unlock`, and `check_fresh` for saved plans.
"""

from pxrun.apply.context import DEFAULT_TIMEOUTS, ApplyOptions
from pxrun.apply.engine import apply_plan
from pxrun.apply.hooks import Hook, Provisioned, Provisioner, RootRunner, TailnetRemover
from pxrun.apply.limits import Limits
from pxrun.apply.secrets import SecretMap, SecretSource
from pxrun.apply.stacklock import LockHeldError, StackLock, force_unlock
from pxrun.apply.stale import StalePlanError, check_fresh, stale_reasons
from pxrun.apply.summary import ApplySummary, ChangeResult

__all__ = [
    "DEFAULT_TIMEOUTS",
    "ApplyOptions",
    "ApplySummary",
    "ChangeResult",
    "Hook",
    "Limits",
    "LockHeldError",
    "Provisioned",
    "Provisioner",
    "RootRunner",
    "SecretMap",
    "SecretSource",
    "StackLock",
    "StalePlanError",
    "TailnetRemover",
    "apply_plan",
    "check_fresh",
    "force_unlock",
    "stale_reasons",
]
