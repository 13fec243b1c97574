"""One drift check: observe the cluster, ask the planner in refresh-only mode, report.

Shared by `pxrun drift` (once, from cron) and `pxrun watch` (every cycle), so both say the
same thing about the same cluster. The caller passes the spec already loaded and the base
plan options the CLI derived from it (file digests, secrets by name), and a wall clock.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from pxrun.connect.client import ProxmoxClient
from pxrun.daytwo.drift import DriftReport, drift_report, running_view
from pxrun.observe.fetch import ParseMemo, observe_cluster
from pxrun.observe.model import Observed
from pxrun.plan.model import Plan
from pxrun.plan.options import PlanOptions
from pxrun.plan.planner import plan
from pxrun.spec.model import Stack


@dataclass(frozen=True)
class Desired:
    """The spec as one check needs it: the stack and the plan options made for it."""

    stack: Stack
    options: PlanOptions


@dataclass(frozen=True)
class Check:
    """What one check saw and concluded."""

    observed: Observed
    drift: Plan
    report: DriftReport


def drift_plans(desired: Desired, observed: Observed) -> tuple[Plan, Plan | None]:
    """The refresh-only plan against the config (pending included), and — only when some
    container has pending changes — the one against what those containers run now."""
    options = dataclasses.replace(desired.options, mode="refresh-only", targets=frozenset())
    spec_drift = plan(desired.stack, observed, options)
    now, names = running_view(observed)
    if not names:
        return spec_drift, None
    return spec_drift, plan(desired.stack, now, dataclasses.replace(options, targets=names))


def check_drift(client: ProxmoxClient, desired: Desired, *, facts: bool = False,
                clock: Callable[[], float] = time.time, memo: ParseMemo | None = None,
                ) -> Check:
    """Observe and report. `facts` also reads bridges and templates (needed only when the
    caller goes on to plan creates); `memo` keeps parsed configs between checks (watch).
    API errors propagate."""
    started, ticks = clock(), time.perf_counter()
    observed = observe_cluster(client, desired.stack, facts=facts, memo=memo)
    spec_drift, running_drift = drift_plans(desired, observed)
    report = drift_report(observed, spec_drift, running_drift, checked_at=started,
                          duration=time.perf_counter() - ticks)
    return Check(observed=observed, drift=spec_drift, report=report)
