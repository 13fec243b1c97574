"""What an apply did, change by change: the summary the CLI shows and turns into an exit code.

Every change of the plan ends in exactly one outcome, so after any apply — failed or
interrupted — no container is unaccounted for:
- `done`: every operation ran;
- `failed`: an operation failed (the error, Proxmox's task log tail and the steps that did
  run are kept);
- `skipped`: not started because something it depends on failed;
- `interrupted`: Ctrl-C stopped it between two steps (or it never started).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["done", "failed", "skipped", "interrupted"]


@dataclass(frozen=True)
class ChangeResult:
    """The outcome of one ResourceChange."""

    address: str
    action: str  # the plan's action value (for the summary table only)
    outcome: Outcome
    vmid: int | None = None
    node: str | None = None
    ip: str | None = None
    steps_done: tuple[str, ...] = ()
    error: str = ""
    hint: str = ""
    log_tail: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()  # config keys left pending (restart policy never / no)
    tainted: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class ApplySummary:
    """Every change's result, in plan order, and whether Ctrl-C cut the run short."""

    results: tuple[ChangeResult, ...] = ()
    interrupted: bool = False
    abandoned: bool = False  # a second Ctrl-C: some Proxmox tasks may still be running
    seconds: float = 0.0
    requests: int | None = None  # API requests sent during the apply, when counted
    warnings: tuple[str, ...] = field(default=())

    def by_outcome(self, outcome: Outcome) -> tuple[ChangeResult, ...]:
        return tuple(r for r in self.results if r.outcome == outcome)

    @property
    def ok(self) -> bool:
        """Everything done: exit 0."""
        return not self.interrupted and all(r.outcome == "done" for r in self.results)

    def counts(self) -> dict[str, int]:
        out = {"done": 0, "failed": 0, "skipped": 0, "interrupted": 0}
        for r in self.results:
            out[r.outcome] += 1
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok, "interrupted": self.interrupted, "abandoned": self.abandoned,
            "seconds": round(self.seconds, 3), "counts": self.counts(),
            "results": [result_json(r) for r in self.results],
            "warnings": list(self.warnings),
        }


def result_json(r: ChangeResult) -> dict[str, object]:
    """One result as a JSON object (for `--json` events and the final summary)."""
    return {
        "address": r.address, "action": r.action, "outcome": r.outcome, "vmid": r.vmid,
        "node": r.node, "ip": r.ip, "steps_done": list(r.steps_done), "error": r.error,
        "hint": r.hint, "log_tail": list(r.log_tail), "warnings": list(r.warnings),
        "pending": list(r.pending), "tainted": r.tainted, "seconds": round(r.seconds, 3),
    }


def ordered(results: Sequence[ChangeResult], order: Sequence[str]) -> tuple[ChangeResult, ...]:
    """Results in plan order."""
    index = {address: i for i, address in enumerate(order)}
    return tuple(sorted(results, key=lambda r: index.get(r.address, len(index))))
