"""The loader's parts on their own: YAML marks, merging, provenance, templates, graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.spec.graph import resolve_dependencies
from pxrun.spec.legacy import name_from_hostname
from pxrun.spec.merge import Layer, Provenance, deep_merge
from pxrun.spec.template import Renderer, Scope
from pxrun.spec.yamlsrc import Mark, parse_yaml

FIXTURES = Path(__file__).parent / "fixtures"
MERGE_CASES = yaml.safe_load((FIXTURES / "merge-cases.yaml").read_text())


@pytest.mark.parametrize("case", MERGE_CASES, ids=lambda c: c["name"])
def test_deep_merge(case: dict[str, Any]) -> None:
    before = repr(case["base"])
    assert deep_merge(case["base"], case["override"]) == case["expect"]
    assert repr(case["base"]) == before  # the base (shared defaults) is never mutated


def test_marks_are_one_based_for_values_and_keys() -> None:
    doc, problems = parse_yaml("a:\n  b: [1, {c: x}]\non: yes\n", "f.yaml")
    assert problems == []
    assert doc.data == {"a": {"b": [1, {"c": "x"}]}, "on": True}  # `on:` stays a text key
    assert doc.values[("a", "b", 1, "c")] == Mark("f.yaml", 2, 14)
    assert doc.keys[("a", "b")] == Mark("f.yaml", 2, 3)
    assert doc.mark(("a", "b", 7, "zz")) == Mark("f.yaml", 2, 6)  # deepest existing value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\na: 2\n", "duplicate key 'a' (first at line 1)"),
        ("a: !!python/object:os.system x\n", "unsupported YAML tag"),
        ("a: [1\n", "invalid YAML"),
        ("a: b: c\n", "invalid YAML: mapping values are not allowed"),
        ("<<: [1]\n", "'<<' merges only mappings"),
    ],
)
def test_yaml_problems_are_diagnostics(text: str, message: str) -> None:
    _, problems = parse_yaml(text, "f.yaml")
    assert len(problems) == 1
    assert message in problems[0].message
    assert problems[0].line >= 1


def test_provenance_never_blames_defaults_for_a_replaced_list() -> None:
    doc, _ = parse_yaml(
        "defaults:\n  tags: [a, b, c]\n  resources: {cores: 1}\n"
        "containers:\n  web:\n    tags: [x]\n    resources: {memory: 9}\n", "f.yaml")
    prov = Provenance([Layer(doc, ("containers", "web")), Layer(doc, ("defaults",), "defaults")])
    assert prov.origin(("tags", 2)).mark.line == 6  # the container's list, not defaults' item
    assert prov.origin(("resources", "cores")).layer.label == "defaults"
    assert prov.origin(("resources", "memory")).mark == Mark("f.yaml", 7, 25)


def test_templates_are_sandboxed_and_strict() -> None:
    problems: list[tuple[Any, str]] = []
    renderer = Renderer({"vars": Scope.wrap({"net": {"gw": "10.0.0.1"}}, "vars")})
    value = {"a": "{{ vars.net.gw }}", "b": ["{{ vars.net.gx }}"], "c": "{{ ''.__class__ }}",
             "d": "plain {not a template}"}
    out = renderer.render(value, {}, lambda path, msg: problems.append((path, msg)))
    assert out["a"] == "10.0.0.1"
    assert out["d"] is value["d"]
    assert problems[0] == (("b", 0), "undefined in template: vars.net.gx is undefined")
    assert problems[1][0] == ("c",) and "unsafe" in problems[1][1]


def test_untemplated_trees_are_shared_not_copied() -> None:
    value = {"a": [1, "x"], "b": {"c": "y"}}
    assert Renderer({}).render(value, {}, lambda p, m: None) is value


def test_a_long_dependency_chain_needs_no_recursion() -> None:
    names = [f"c{i}" for i in range(5000)]
    depends = {name: [names[i + 1]] if i + 1 < len(names) else [] for i, name in
               enumerate(names)}
    resolved, problems = resolve_dependencies(depends, {}, lambda n, p: Mark("f", 1, 1))
    assert problems == []
    assert resolved["c0"] == ["c1"]


@pytest.mark.parametrize(("text", "name"), [("TestLXC.home.lan", "testlxc"),
                                             ("web_01", "web-01"), ("--", "")])
def test_legacy_names(text: str, name: str) -> None:
    assert name_from_hostname(text) == name
