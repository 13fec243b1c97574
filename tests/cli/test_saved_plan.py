"""Saved plans stand alone: `pxrun plan -o` records its spec relative to the plan file, and
`pxrun apply plan.json` finds that spec from any directory, refusing it when it changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pxrun.render.jsonplan import FORMAT_VERSION
from tests.cli.conftest import run, spec_text


@pytest.fixture
def checkout(simdir: Path) -> Path:
    """A checkout with the spec in stacks/ and plans saved to plans/."""
    root = Path.cwd()
    (root / "stacks").mkdir()
    (root / "plans").mkdir()
    (root / "deep" / "er").mkdir(parents=True)
    (root / "stacks" / "web.yaml").write_text(
        spec_text("web: {description: '{{ vars.note }}'}\n").replace(
            "version: 1\n", "version: 1\nvars: {note: first}\n"), encoding="utf-8")
    return root


def test_apply_a_saved_plan_from_another_directory(simdir: Path, checkout: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run(simdir, "plan", "-f", "stacks/web.yaml", "-o", "plans/p.json") == 0
    doc = json.loads((checkout / "plans" / "p.json").read_text(encoding="utf-8"))
    assert doc["spec_path"] == "../stacks/web.yaml" and doc["format_version"] == FORMAT_VERSION
    os.chdir(checkout / "deep" / "er")
    capsys.readouterr()
    assert run(simdir, "apply", "../../plans/p.json") == 0, capsys.readouterr().err
    assert "Apply complete: 1 done" in capsys.readouterr().out
    os.chdir(checkout)
    assert run(simdir, "plan", "-f", "stacks/web.yaml", "--detailed-exitcode") == 0


def test_a_changed_spec_is_refused_and_named(simdir: Path, checkout: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert run(simdir, "plan", "-f", "stacks/web.yaml", "-o", "plans/p.json") == 0
    spec = checkout / "stacks" / "web.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("first", "second"),
                    encoding="utf-8")
    os.chdir(checkout / "deep")
    capsys.readouterr()
    assert run(simdir, "apply", "../plans/p.json") == 1
    err = capsys.readouterr().err
    assert "the plan is stale: the spec changed" in err
    assert "../stacks/web.yaml hashes to sha256:" in err


def test_vars_are_part_of_the_spec(simdir: Path, checkout: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run(simdir, "plan", "-f", "stacks/web.yaml", "--var", "note=x", "-o", "p.json") == 0
    capsys.readouterr()
    assert run(simdir, "apply", "p.json") == 1
    assert "pass the same ones" in capsys.readouterr().err
    assert run(simdir, "apply", "p.json", "--var", "note=x") == 0


def test_an_explicit_spec_wins_over_the_recorded_one(simdir: Path, checkout: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(simdir, "plan", "-f", "stacks/web.yaml", "-o", "p.json") == 0
    (checkout / "stacks" / "web.yaml").rename(checkout / "moved.yaml")
    capsys.readouterr()
    assert run(simdir, "apply", "p.json") == 3  # the recorded spec is gone
    assert "stacks/web.yaml" in capsys.readouterr().err
    assert run(simdir, "apply", "p.json", "-f", "moved.yaml") == 0


def test_a_plan_naming_a_file_that_is_no_spec_is_refused(
        simdir: Path, checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A saved plan is input: its `spec_path` may not make apply read a key or a system
    file as a spec; -f, or --allow-outside-paths, may."""
    assert run(simdir, "plan", "-f", "stacks/web.yaml", "-o", "plans/p.json") == 0
    key = checkout / "id_ed25519"
    key.write_text((checkout / "stacks" / "web.yaml").read_text(encoding="utf-8"),
                   encoding="utf-8")
    plan = checkout / "plans" / "p.json"
    doc = json.loads(plan.read_text(encoding="utf-8"))
    doc["spec_path"] = "../id_ed25519"
    plan.write_text(json.dumps(doc), encoding="utf-8")
    capsys.readouterr()
    assert run(simdir, "apply", "plans/p.json") == 3
    err = capsys.readouterr().err
    assert "neither a spec folder nor a .yaml/.yml/.json file" in err
    assert run(simdir, "apply", "plans/p.json", "--allow-outside-paths") == 0, \
        capsys.readouterr().err
