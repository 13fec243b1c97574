"""Golden files of the apply summary table (what `pxrun apply` prints at the end).

A delete names the container it deleted, a replace the container it made (issue 11: both
showed `-`), and a tainted container says what the next plan does with it. Rewrite after a
deliberate change with `PXRUN_UPDATE_GOLDEN=1 pytest tests/cli/test_summary_golden.py`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from pxrun.apply.summary import ApplySummary, ChangeResult
from pxrun.cli.progress import summary_table

GOLDEN = Path(__file__).parent / "golden"
UPDATE = bool(os.environ.get("PXRUN_UPDATE_GOLDEN"))

SUMMARIES = {
    "summary_replace_and_delete": ApplySummary(results=(
        ChangeResult(address="cache", action="create-then-delete", outcome="done", vmid=131,
                     node="pve2", ip="10.0.0.31", steps_done=("create", "start", "delete")),
        ChangeResult(address="old-1", action="delete", outcome="done", vmid=104, node="pve1",
                     steps_done=("check", "shutdown", "delete")),
        ChangeResult(address="web-1", action="delete-then-create", outcome="done", vmid=140,
                     node="pve1", ip="10.0.0.40",
                     steps_done=("delete", "create", "reassign", "start")),
    ), seconds=4.2),
    "summary_tainted": ApplySummary(results=(
        ChangeResult(address="app", action="create", outcome="failed", vmid=150, node="pve3",
                     steps_done=("create",), error="start: CT 150 failed to start",
                     hint="see the task log", tainted=True),
    ), seconds=1.0),
}


@pytest.mark.parametrize("name", sorted(SUMMARIES))
def test_summary_golden(name: str) -> None:
    out = io.StringIO()
    console = Console(file=out, width=100, no_color=True, force_terminal=False)
    summary_table(SUMMARIES[name], console)
    text = out.getvalue()
    path = GOLDEN / f"{name}.txt"
    if UPDATE or not path.exists():
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"wrote missing golden file {path.name}; review and commit it")
    assert text == path.read_text(encoding="utf-8")
