"""One drift check: observe the cluster, ask the planner in refresh-only mode, report.

Shared by `pxrun drift` (once, from cron) and `pxrun watch` (every cycle), so both say the
same thing about the same cluster. The caller passes the spec already loaded and the base
plan options the CLI derived from it (file digests, secrets by name), and a wall clock.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
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


class DriftMemo:
    """The last check's inputs and drift plans, for a caller that checks again and again
    (`pxrun watch`). Planning is pure, so the same spec and the same observation give the
    same plans; the observation is compared without what a refresh-only plan never reads
    and a live cluster changes every time (node CPU and memory use, storage use)."""

    def __init__(self) -> None:
        self._last: tuple[object, tuple[Plan, Plan | None]] | None = None

    def plans(self, desired: Desired, observed: Observed) -> tuple[Plan, Plan | None]:
        key = (desired.stack, desired.options, steady(observed))
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        result = drift_plans(desired, observed)
        self._last = (key, result)
        return result


def steady(observed: Observed) -> Observed:
    """`observed` without the figures that move on a live cluster and that refresh-only
    planning does not use (a test holds the planner to that)."""
    return observed.model_copy(update={
        "nodes": {n: i.model_copy(update={"cpu": 0.0, "mem_used": 0})
                  for n, i in observed.nodes.items()},
        "storages": tuple(s.model_copy(update={"used": 0, "avail": 0})
                          for s in observed.storages),
        "requests": 0})


def drift_plans(desired: Desired, observed: Observed) -> tuple[Plan, Plan | None]:
    """The refresh-only plan against the config (pending included), and — only when some
    container has pending changes — the one against what those containers run now."""
    options = dataclasses.replace(desired.options, mode="refresh-only", targets=frozenset())
    spec_drift = plan(desired.stack, observed, options)
    now, names = running_view(observed)
    if not names:
        return spec_drift, None
    return spec_drift, plan(desired.stack, now, dataclasses.replace(options, targets=names))


@dataclass
class Memo:
    """What a repeated check keeps between checks: parsed configs and the last plans."""

    parsed: ParseMemo = dataclasses.field(default_factory=ParseMemo)
    drift: DriftMemo = dataclasses.field(default_factory=DriftMemo)


def check_drift(client: ProxmoxClient, desired: Desired, *, facts: bool = False,
                clock: Callable[[], float] = time.time, memo: Memo | None = None,
                images: Callable[[Observed], Mapping[str, str]] | None = None) -> Check:
    """Observe and report. `facts` also reads bridges and templates (needed only when the
    caller goes on to plan creates); `memo` keeps work between checks (watch); `images`
    tells what the spec's image tags point to now (`--check-images`). API errors
    propagate."""
    started, ticks = clock(), time.perf_counter()
    observed = observe_cluster(client, desired.stack, facts=facts,
                               memo=memo.parsed if memo else None)
    if images is not None:
        digests = images(observed)
        if digests:
            desired = dataclasses.replace(desired, options=dataclasses.replace(
                desired.options, image_digests=dict(digests)))
    spec_drift, running_drift = (memo.drift.plans(desired, observed) if memo
                                 else drift_plans(desired, observed))
    report = drift_report(observed, spec_drift, running_drift, checked_at=started,
                          duration=time.perf_counter() - ticks)
    return Check(observed=observed, drift=spec_drift, report=report)
