"""Spec loading, driven by fixture folders: a new case is a new folder, not new code.

fixtures/bad/<case>/   a spec (`stack/` folder, else its one *.yaml file) and expect.txt:
                       one `file:line:col: message-prefix` line per expected diagnostic.
fixtures/good/<case>/  a spec and expect.yaml: `stack`, the container `names`, and dotted
                       paths per container checked against the validated model; optional
                       `environ` is what {{ env.X }} sees.
The loader runs from inside the case folder, so paths read as a user would see them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.errors import SpecError
from pxrun.spec.load import load_stack

FIXTURES = Path(__file__).parent / "fixtures"


def _cases(kind: str) -> list[Path]:
    return sorted(p for p in (FIXTURES / kind).iterdir() if p.is_dir())


def _entry(case: Path) -> Path:
    if (case / "stack").is_dir():
        return Path("stack")
    specs = [p for p in case.iterdir() if p.suffix in (".yaml", ".yml") and p.name != "expect.yaml"]
    assert len(specs) == 1, f"{case.name}: one spec file expected, found {specs}"
    return Path(specs[0].name)


def _dig(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


@pytest.mark.parametrize("case", _cases("bad"), ids=lambda p: p.name)
def test_bad_spec_reports_every_problem(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [line for line in (case / "expect.txt").read_text().splitlines() if line.strip()]
    monkeypatch.chdir(case)
    with pytest.raises(SpecError) as info:
        load_stack(_entry(case), environ={})
    got = [str(d) for d in info.value.diagnostics]
    assert len(got) == len(expected), "\n".join(got)
    for line, want in zip(got, expected, strict=True):
        assert line.startswith(want), f"\n got: {line}\nwant: {want}..."


@pytest.mark.parametrize("case", _cases("good"), ids=lambda p: p.name)
def test_good_spec_resolves(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expect = yaml.safe_load((case / "expect.yaml").read_text())
    monkeypatch.chdir(case)
    loaded = load_stack(_entry(case), environ=expect.get("environ", {}))
    stack = loaded.stack
    assert stack.stack == expect["stack"]
    assert sorted(stack.containers) == expect["names"]
    for name, checks in expect.get("containers", {}).items():
        dumped = stack.containers[name].model_dump(mode="json")
        for dotted, want in checks.items():
            assert _dig(dumped, dotted) == want, f"{name}.{dotted}"
    assert all(loc.count(":") >= 2 for loc in loaded.locations.values())
