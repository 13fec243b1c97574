"""The apply engine's Hook, three ways: a live view on a TTY, timestamped lines, JSON events.

- On a terminal: a rich live table, one row per container (current step, elapsed time,
  task state or the last line a provisioning step printed), warnings printed above it.
- Otherwise (CI logs): one plain line per event, `HH:MM:SS address: what happened`, and
  each line provisioning prints as `HH:MM:SS address: step | line`.
- `--json`: one JSON object per line on stdout (`{"event": "step_started", ...}`), for tools.

The engine calls hooks from worker threads, so every implementation serialises output with
a lock. Nothing here ever sees a secret: the engine reports steps, task ids and Proxmox's
messages, never parameters, and provisioning output arrives redacted.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from pxrun.apply.hooks import Hook
from pxrun.apply.summary import result_json
from pxrun.render import wording

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from pxrun.apply.summary import ApplySummary, ChangeResult
    from pxrun.plan.model import ResourceChange

_OUTCOME_STYLE = {"done": "green", "failed": "bold red", "skipped": "yellow",
                  "interrupted": "yellow"}


def _clock() -> str:
    return time.strftime("%H:%M:%S")


class PlainProgress(Hook):
    """One timestamped line per event: readable in CI logs, greppable, never redrawn."""

    def __init__(self, stream: TextIO | None = None, *, interactive: bool = False,
                 ask: bool = True) -> None:
        self.stream = stream or sys.stdout
        self.interactive = interactive
        self.ask = ask
        self._lock = threading.Lock()

    def _line(self, text: str) -> None:
        with self._lock:
            self.stream.write(f"{_clock()} {text}\n")
            self.stream.flush()

    def apply_started(self, changes: Sequence[ResourceChange]) -> None:
        self._line(f"applying {len(changes)} change{'s' if len(changes) != 1 else ''}")

    def step_started(self, address: str, step: str, detail: str = "") -> None:
        self._line(f"{address}: {step}{' ' + detail if detail else ''} ...")

    def task_started(self, address: str, step: str, upid: str) -> None:
        self._line(f"{address}: {step}: waiting for task {upid}")

    def step_finished(self, address: str, step: str, seconds: float) -> None:
        self._line(f"{address}: {step} done ({seconds:.1f} s)")

    def output(self, address: str, step: str, line: str) -> None:
        self._line(f"{address}: {step} | {line.rstrip()}")

    def warning(self, address: str, message: str) -> None:
        self._line(f"{address}: warning: {message}")

    def change_finished(self, result: ChangeResult) -> None:
        text = f"{result.address}: {result.outcome}"
        if result.error:
            text += f": {result.error}"
        self._line(text)
        for line in result.log_tail[-5:]:
            self._line(f"{result.address}:   task log: {line}")

    def interrupted(self, abandon: bool) -> None:
        self._line("interrupted again: not waiting any longer; running Proxmox tasks go on"
                   if abandon else "interrupted: no new work starts; waiting for running "
                   "Proxmox tasks (Ctrl-C again to stop waiting)")

    def ask_restart(self, address: str, keys: Sequence[str]) -> bool:
        if not self.interactive:
            return False
        return _ask(address, keys)

    def confirm_tailnet(self, address: str, hostname: str) -> bool:
        if not (self.interactive and self.ask):
            return True
        return _ask_tailnet(address, hostname)


class JsonProgress(Hook):
    """One JSON object per line: `{"event": ..., "time": ..., ...}`."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        record = {"event": event, "time": round(time.time(), 3), **fields}
        with self._lock:
            self.stream.write(json.dumps(record, sort_keys=True) + "\n")
            self.stream.flush()

    def apply_started(self, changes: Sequence[ResourceChange]) -> None:
        self.emit("apply_started", changes=[{"address": c.address, "action": c.action.value}
                                            for c in changes])

    def step_started(self, address: str, step: str, detail: str = "") -> None:
        self.emit("step_started", address=address, step=step, detail=detail)

    def task_started(self, address: str, step: str, upid: str) -> None:
        self.emit("task_started", address=address, step=step, upid=upid)

    def step_finished(self, address: str, step: str, seconds: float) -> None:
        self.emit("step_finished", address=address, step=step, seconds=round(seconds, 3))

    def output(self, address: str, step: str, line: str) -> None:
        self.emit("output", address=address, step=step, line=line.rstrip("\n"))

    def warning(self, address: str, message: str) -> None:
        self.emit("warning", address=address, message=message)

    def change_finished(self, result: ChangeResult) -> None:
        self.emit("change_finished", **result_json(result))

    def interrupted(self, abandon: bool) -> None:
        self.emit("interrupted", abandon=abandon)

    def apply_finished(self, summary: ApplySummary) -> None:
        self.emit("apply_finished", **summary.to_json())


@dataclass
class _Row:
    action: str
    step: str = "waiting"
    state: str = ""
    started: float = 0.0
    finished: float = 0.0
    outcome: str = ""


class LiveProgress(Hook):
    """A rich live table on a terminal: one row per container, redrawn a few times a second."""

    def __init__(self, console: Console, *, ask: bool = True) -> None:
        self.console = console
        self.ask = ask
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None

    def apply_started(self, changes: Sequence[ResourceChange]) -> None:
        from rich.live import Live

        self._rows = {c.address: _Row(action=c.action.value) for c in changes}
        self._live = Live(get_renderable=self._table, console=self.console,
                          refresh_per_second=4, transient=True)
        self._live.start()

    def _table(self) -> Table:
        from rich.table import Table

        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for column in ("container", "action", "step", "elapsed", "task"):
            table.add_column(column)
        now = time.monotonic()
        with self._lock:
            for address, row in self._rows.items():
                end = row.finished or now
                elapsed = f"{end - row.started:5.1f}s" if row.started else ""
                step = row.outcome or row.step
                style = _OUTCOME_STYLE.get(row.outcome, "")
                table.add_row(address, row.action, f"[{style}]{step}[/]" if style else step,
                              elapsed, row.state)
        return table

    def _row(self, address: str) -> _Row:
        row = self._rows.setdefault(address, _Row(action="?"))
        if not row.started:
            row.started = time.monotonic()
        return row

    def step_started(self, address: str, step: str, detail: str = "") -> None:
        with self._lock:
            row = self._row(address)
            row.step, row.state = step, detail

    def task_started(self, address: str, step: str, upid: str) -> None:
        with self._lock:
            self._row(address).state = "task running"

    def step_finished(self, address: str, step: str, seconds: float) -> None:
        with self._lock:
            self._row(address).state = f"{step} ok"

    def output(self, address: str, step: str, line: str) -> None:
        with self._lock:
            self._row(address).state = line.strip()[:60]

    def warning(self, address: str, message: str) -> None:
        from rich.markup import escape

        self.console.print(f"[yellow]warning:[/] {escape(address)}: {escape(message)}")

    def change_finished(self, result: ChangeResult) -> None:
        with self._lock:
            row = self._row(result.address)
            row.outcome, row.finished = result.outcome, time.monotonic()
            row.state = result.error[:60]

    def interrupted(self, abandon: bool) -> None:
        self.console.print("[bold yellow]interrupted:[/] " + (
            "not waiting any longer; running Proxmox tasks go on" if abandon else
            "no new work starts; waiting for running Proxmox tasks (Ctrl-C again to stop "
            "waiting)"))

    def apply_finished(self, summary: ApplySummary) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def ask_restart(self, address: str, keys: Sequence[str]) -> bool:
        return self._paused(lambda: _ask(address, keys))

    def confirm_tailnet(self, address: str, hostname: str) -> bool:
        if not self.ask:
            return True
        return self._paused(lambda: _ask_tailnet(address, hostname))

    def _paused(self, question: Callable[[], bool]) -> bool:
        """Ask with the live table stopped (it would redraw over the question)."""
        live = self._live
        if live is not None:
            live.stop()
        try:
            return question()
        finally:
            if live is not None:
                live.start()


def _ask(address: str, keys: Sequence[str]) -> bool:
    import click

    what = ", ".join(keys) or "pending changes"
    return click.confirm(f"{address} must restart to apply {what}. Restart it now?",
                         default=False, err=True)


def _ask_tailnet(address: str, hostname: str) -> bool:
    import click

    return click.confirm(f"{address} is deleted. Remove its node {hostname} from the "
                         "tailnet too?", default=True, err=True)


def summary_table(summary: ApplySummary, console: Console) -> None:
    """The final table: every change with its outcome, vmid, node and IP, then the errors."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("container", "action", "result", "vmid", "node", "ip"):
        table.add_column(column)
    for r in summary.results:
        style = _OUTCOME_STYLE.get(r.outcome, "")
        table.add_row(escape(r.address), r.action, f"[{style}]{r.outcome}[/]",
                      str(r.vmid or "-"), r.node or "-", r.ip or "-")
    console.print(table)
    for r in summary.results:
        if r.outcome in ("failed", "skipped", "interrupted") and r.error:
            console.print(f"[bold]{escape(r.address)}[/]: {escape(r.error)}")
            for line in r.log_tail[-10:]:
                console.print(f"  [dim]task log:[/] {escape(line)}")
            if r.hint:
                console.print(f"  [dim]hint:[/] {escape(r.hint)}")
            if r.tainted:
                console.print(f"  {wording.TAINT_SUMMARY}")
        if r.pending:
            console.print(f"[yellow]{escape(r.address)}[/]: pending until restart: "
                          f"{escape(', '.join(r.pending))}")
    counts = summary.counts()
    line = (f"Apply {'interrupted' if summary.interrupted else 'complete'}: "
            f"{counts['done']} done, {counts['failed']} failed, {counts['skipped']} skipped"
            + (f", {counts['interrupted']} not finished" if counts["interrupted"] else "")
            + f" in {summary.seconds:.1f} s.")
    console.print(f"[bold]{line}[/]")
    if summary.interrupted:
        console.print("Run `pxrun plan` to see what is left to do.")
