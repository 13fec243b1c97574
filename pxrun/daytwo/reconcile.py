"""The acting half of a watch cycle: plan, keep what `--allow` permits, apply, record.

Only the holder of the stack lock gets here. The plan is the planner's (with the node-lost
decisions of `pxrun.plan.nodelost`), and apply carries out exactly the allowed changes of
it: the watcher filters changes, never operations, so every change it runs is one the
plan spelled out. Deletes and replaces are withheld unless listed in `--allow`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pxrun.apply.context import ApplyOptions
from pxrun.apply.engine import apply_plan
from pxrun.apply.hooks import Hook
from pxrun.apply.provisioner import StackProvisioner
from pxrun.apply.secrets import SecretMap
from pxrun.connect.client import ProxmoxClient
from pxrun.daytwo.check import Check, Desired
from pxrun.plan.model import Action, Plan, ResourceChange
from pxrun.plan.model import RestartPolicy as Restart
from pxrun.plan.nodelost import NodeLostDecision, node_lost_decisions, plan_node_lost

CATEGORIES = ("create", "update", "delete", "replace")
Say = Callable[..., None]


def category(action: Action) -> str:
    """The `--allow` word for an action."""
    if action.is_replace:
        return "replace"
    return action.value


@dataclass(frozen=True)
class ActOptions:
    """What a watcher may do when it holds the lock."""

    allow: frozenset[str] = frozenset({"create", "update"})
    restart: Restart = "never"
    fence_confirmed: bool = False
    apply: ApplyOptions = dataclasses.field(default_factory=ApplyOptions)


@dataclass(frozen=True)
class Acted:
    """One change the watcher carried out (or withheld), for records and metrics."""

    change: ResourceChange
    outcome: str  # done, failed, skipped, interrupted, withheld
    error: str = ""
    seconds: float = 0.0
    node: str | None = None


def diff_values(change: ResourceChange) -> tuple[dict[str, Any], dict[str, Any]]:
    """(desired, observed) values of what the change touches, by field path."""
    return ({d.path: d.new for d in change.diffs}, {d.path: d.old for d in change.diffs})


def reconcile(client: ProxmoxClient, desired: Desired, check: Check, *, lost: frozenset[str],
              names: Mapping[int, str], options: ActOptions, stop: threading.Event,
              say: Say, at: str = "") -> tuple[list[Acted], tuple[NodeLostDecision, ...]]:
    """Plan against this cycle's observation and apply what is allowed. `say(event, **f)`
    logs; a plan with errors is logged and nothing is applied. `at` (ISO time) is recorded
    in the marker of a container recreated after its node was lost."""
    decisions = node_lost_decisions(desired.stack, check.observed, lost,
                                    fence_confirmed=options.fence_confirmed, names=names)
    plan_options = dataclasses.replace(desired.options, mode="normal", targets=frozenset(),
                                       restart=options.restart)
    plan = plan_node_lost(desired.stack, check.observed, plan_options, decisions, at=at)
    if plan.errors:
        for diag in plan.errors:
            say("plan_error", container=diag.address, operation="plan", error=diag.message)
        return [], decisions
    todo = [c for c in plan.changes if c.operations and category(c.action) in options.allow]
    acted = [Acted(change=c, outcome="withheld",
                   error=f"--allow does not include {category(c.action)}")
             for c in plan.changes if c.operations and category(c.action) not in options.allow]
    if todo and not stop.is_set():
        apply_options = options.apply if options.apply.secrets is not None else (
            dataclasses.replace(options.apply, secrets=SecretMap(desired.options.secrets)))
        if isinstance(apply_options.provisioner, StackProvisioner):  # this cycle's spec
            apply_options = dataclasses.replace(
                apply_options, provisioner=apply_options.provisioner.for_spec(
                    desired.stack, Path(), desired.options.secrets,
                    sources=desired.options.file_sources))
        acted += _apply(client, plan, todo, apply_options, stop, say)
    return acted, decisions


class _LogHook(Hook):
    """apply's progress as log events: each Proxmox task and each warning."""

    def __init__(self, say: Say) -> None:
        self.say = say

    def task_started(self, address: str, step: str, upid: str) -> None:
        self.say("task_started", container=address, operation=step, upid=upid)

    def warning(self, address: str, message: str) -> None:
        self.say("apply_warning", container=address or None, operation="apply",
                 error=message)


def _apply(client: ProxmoxClient, plan: Plan, todo: list[ResourceChange],
           options: ApplyOptions, stop: threading.Event, say: Say) -> list[Acted]:
    for change in todo:
        say("apply_started", container=change.address, node=change.node,
            operation=category(change.action), reason=change.reason)
    summary = apply_plan(client, plan.model_copy(update={"changes": tuple(todo)}),
                         options=options, hook=_LogHook(say), stop=stop)
    by_address = {c.address: c for c in todo}
    out = []
    for result in summary.results:
        out.append(Acted(change=by_address[result.address], outcome=result.outcome,
                         error=result.error, seconds=result.seconds, node=result.node))
        say("apply_finished", container=result.address, node=result.node,
            operation=category(by_address[result.address].action), outcome=result.outcome,
            error=result.error or None, seconds=round(result.seconds, 3))
    return out
