"""Golden files of the human plan: one per action and section, plain and with markup.

Rewrite them after a deliberate wording change with `PXRUN_UPDATE_GOLDEN=1 pytest
tests/render` and review the diff like any other change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pxrun.plan.model import Plan
from pxrun.render.human import render_diagnostics, render_plan
from pxrun.render.jsonplan import plan_to_json
from tests.render.samples import SAMPLES
from tests.render.schema_check import assert_valid_plan

GOLDEN = Path(__file__).parent / "golden"
UPDATE = bool(os.environ.get("PXRUN_UPDATE_GOLDEN"))


def _text(plan: Plan) -> str:
    doc = plan_to_json(plan)
    assert_valid_plan(doc)
    diagnostics = "".join(f"{line}\n" for line in render_diagnostics(doc))
    return (diagnostics + "\n" if diagnostics else "") + render_plan(doc)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden(name: str) -> None:
    text = _text(SAMPLES[name]())
    path = GOLDEN / f"{name}.txt"
    if UPDATE or not path.exists():
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"wrote missing golden file {path.name}; review and commit it")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_markup_is_the_plain_text_coloured(name: str) -> None:
    """Markup adds styles only: rendered by rich without colour it is the plain text."""
    from rich.console import Console

    doc = plan_to_json(SAMPLES[name]())
    console = Console(width=200, record=True, no_color=True, force_terminal=False,
                      soft_wrap=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(render_plan(doc, markup=True), end="")
    assert console.export_text() == render_plan(doc)


def test_every_action_symbol_has_a_golden_file() -> None:
    shown = "".join(p.read_text(encoding="utf-8") for p in GOLDEN.glob("*.txt"))
    for symbol in ("  + container", "  ~ container", "-/+ container", "+/- container",
                   "  - container", " <= container"):
        assert symbol in shown, symbol


@pytest.mark.parametrize("sample", [SAMPLES["create"], SAMPLES["update"]])
def test_secrets_read_sensitive(sample: Callable[[], Plan]) -> None:
    text = render_plan(plan_to_json(sample()))
    assert "(sensitive)" in text
    assert not re.search(r'"\(sensitive\)"', text)
