"""Hostile specs (specs.yaml) are refused by the loader with a diagnostic at file:line:col.

A new hostile input is a new case in specs.yaml; inputs too large to write out are made by
the generators below.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.errors import SpecError
from pxrun.spec.load import load_stack

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "specs.yaml").read_text(encoding="utf-8"))["cases"]
HEAD = "version: 1\nstack: s\n"


def alias_bomb(shape: str, levels: int) -> str:
    """`a1: &a1 [*a0, *a0, ...]` nine wide, `levels` deep (9**levels values when expanded)."""
    lines = [HEAD + "vars:"]
    tag = "!!seq " if shape == "tag" else ""
    if shape == "map":
        lines.append("  a0: &a0 {" + ", ".join(f"k{j}: x" for j in range(9)) + "}")
        lines += [f"  a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(9)) + "}"
                  for i in range(1, levels)]
    else:
        lines.append(f"  a0: &a0 {tag}[x, x, x, x, x, x, x, x, x]")
        lines += [f"  a{i}: &a{i} {tag}[" + ", ".join([f"*a{i - 1}"] * 9) + "]"
                  for i in range(1, levels)]
    return "\n".join(lines) + "\ncontainers: {}\n"


def merge_bomb(levels: int) -> str:
    """Each mapping merges the previous one twice (2**levels merges if each were redone)."""
    lines = [HEAD + "vars:", "  m0: &m0 {x: 1}"]
    lines += [f"  m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: 1}}" for i in range(1, levels)]
    return "\n".join(lines) + "\ncontainers: {}\n"


def nest_merge(depth: int) -> str:
    return HEAD + "vars: " + "{<<: " * depth + "{x: 1}" + "}" * depth + "\ncontainers: {}\n"


def nest_block(depth: int) -> str:
    keys = "".join("  " * (i + 1) + f"k{i}:\n" for i in range(depth))
    return HEAD + "vars:\n" + keys + "  " * (depth + 1) + "x: 1\ncontainers: {}\n"


def nest_flow(depth: int) -> str:
    return HEAD + "vars: {a: " + "[" * depth + "]" * depth + "}\ncontainers: {}\n"


def long_integer(digits: int) -> str:
    return (HEAD + "containers:\n  web:\n    template: debian-12\n"
            "    resources: {memory: " + "9" * digits + "}\n")


def padding(mib: int) -> str:
    return HEAD + "#" + "x" * (mib << 20) + "\n"


def template(text: str, key: str = "description") -> str:
    """One container whose `key` is the template (line 6, column 18 for description)."""
    outer, _, inner = key.rpartition(".")
    value = yaml.safe_dump(text, width=1 << 20).strip().removesuffix("...").strip()
    body = f"{inner}: {value}" if not outer else f"{outer}: {{{inner}: {value}}}"
    return HEAD + "containers:\n  web:\n    template: debian-12\n    " + body + "\n"


GENERATORS: dict[str, Callable[..., str]] = {
    f.__name__: f for f in (alias_bomb, merge_bomb, nest_merge, nest_block, nest_flow,
                            long_integer, padding, template)}


def _spec_text(spec: str | dict[str, Any]) -> str:
    if isinstance(spec, str):
        return spec
    args = dict(spec)
    return GENERATORS[args.pop("generate")](**args)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_spec(case: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "stack"
    (folder / "files").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("outside\n")
    spec = folder / "pxrun.yaml"
    spec.write_text(_spec_text(case["spec"]), encoding="utf-8")
    if case.get("valid"):
        loaded = load_stack(spec)
        if "description" in case:
            assert loaded.stack.containers["web"].description == case["description"]
        return
    with pytest.raises(SpecError) as info:
        load_stack(spec)
    found = [d for d in info.value.diagnostics if case["error"] in d.message]
    assert found, "\n".join(map(str, info.value.diagnostics))
    diag = found[0]
    assert diag.file == str(spec)
    if "at" in case:
        line, _, col = str(case["at"]).partition(":")
        assert diag.line == int(line), diag
        if col:
            assert diag.col == int(col), diag
    elif "larger than" not in diag.message:  # only a file too large to read has no line
        assert diag.line >= 1, diag


def test_a_folder_of_small_alias_bombs_is_one_bomb(tmp_path: Path) -> None:
    """Each file stays under the alias limit; together they do not (one budget per load)."""
    folder = tmp_path / "stack"
    folder.mkdir()
    for i in range(4):  # 9**5 = 59,049 values through aliases each
        (folder / f"part{i}.yaml").write_text(alias_bomb("seq", 6).replace(
            "vars:", f"vars:\n  part{i}:").replace("\n  a", "\n    a"))
    with pytest.raises(SpecError) as info:
        load_stack(folder)
    assert any("aliases expand to more than 100,000 values" in d.message and d.line >= 1
               for d in info.value.diagnostics), info.value.diagnostics


def test_a_folder_larger_than_64_mib_together(tmp_path: Path) -> None:
    folder = tmp_path / "stack"
    folder.mkdir()
    for i in range(5):
        (folder / f"part{i}.yaml").write_text(padding(14))
    with pytest.raises(SpecError) as info:
        load_stack(folder)
    assert any("larger than 64 MiB together" in d.message for d in info.value.diagnostics)
