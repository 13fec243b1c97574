"""`spec_entry` (what import and export write) over the recorded configs, and the writer.

The property: the sparse entry, loaded as a spec, means exactly the observed container
(Proxmox's defaults filled in on both sides), and no key of it could be dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.cli.specwrite import Entry, stack_file
from pxrun.observe.export import _comparable, _means, _paths, _without, spec_entry
from pxrun.observe.parse import merge_pending, parse_config, pending_from_config
from pxrun.spec.load import load_stack
from pxrun.spec.model import Container

CASES = sorted((Path(__file__).parent / "fixtures" / "configs").glob("*.json"))


def _observed(path: Path) -> Container:
    case: dict[str, Any] = json.loads(path.read_text())
    view = merge_pending(case["pending"]) if "pending" in case else \
        pending_from_config(case["config"])
    return parse_config(view.future, vmid=case["vmid"], name="ct1", node=case["node"],
                        stack=None, running=case["running"], pool=case.get("pool"),
                        cpus=case.get("cpus")).container


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_entry_means_the_container_and_is_as_small_as_can_be(path: Path) -> None:
    observed = _observed(path)
    entry = spec_entry(observed, "app")
    target = _comparable(observed)
    target["tags"] = [t for t in target["tags"] if not t.startswith("pxrun-")]
    assert _means(entry, "app") == target
    for key in _paths(entry):  # every key left is needed
        smaller = _without(entry, key)
        assert smaller is None or _means(smaller, "app") != target, key
    assert "name" not in entry and "node" not in entry and "template" not in entry
    assert not any(t.startswith("pxrun-") for t in entry.get("tags", []))


def test_the_written_file_loads_back_to_the_same_entries(tmp_path: Path) -> None:
    """Notes with line breaks and text that looks like Jinja survive the loader."""
    observed = _observed(CASES[0]).model_copy(update={
        "description": "Line 1 {{ not a var }}\n\n{% not a tag %} {# nor a comment #}",
        "hostname": "app.lan"})
    entries = {"app": Entry(spec_entry(observed, "app"), ("a comment",)),
               "empty": Entry({})}
    text = stack_file("legacy", entries, ["header line"])
    assert text.startswith("# header line\nversion: 1\nstack: legacy\n")
    assert "  empty: {}\n" in text and "    # a comment\n" in text
    (tmp_path / "legacy.yaml").write_text(text, encoding="utf-8")
    stack = load_stack(tmp_path / "legacy.yaml").stack
    assert stack.containers["app"].description == observed.description
    assert stack.containers["app"].hostname == "app.lan"
    assert yaml.safe_load(text)["containers"]["empty"] == {}
