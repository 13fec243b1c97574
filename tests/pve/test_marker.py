"""The ownership marker and stack tag: recorded descriptions, and join/split round trips."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pxrun.pve.marker import (
    Marker,
    join_description,
    normalize_notes,
    parse_marker_line,
    split_description,
    stack_of_tag,
    stack_tag,
)
from pxrun.pve.values import TAG_RE

DATA = json.loads((Path(__file__).parent / "fixtures" / "descriptions.json").read_text())


def _marker(data: dict[str, Any] | None) -> Marker | None:
    if data is None:
        return None
    data = dict(data)
    data["extra"] = MappingProxyType(data.pop("extra", {}))
    return Marker(**data)


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["raw"][:40])
def test_recorded_descriptions(case: dict[str, Any]) -> None:
    notes, marker = split_description(case["raw"])
    assert notes == case["notes"]
    assert marker == _marker(case["marker"])


def test_marker_line_is_an_html_comment_without_double_dashes() -> None:
    marker = Marker(stack="a--b", name="x-->y<!--", fingerprint="f")
    line = marker.line()
    assert line.startswith("<!-- pxrun:{") and line.endswith("} -->")
    inner = line[len("<!--"):-len("-->")]
    assert "--" not in inner and ">" not in inner and "<" not in inner
    assert parse_marker_line(line) == marker


def test_marker_keeps_unknown_keys_for_newer_versions() -> None:
    line = '<!-- pxrun:{"name":"n","stack":"s","v":2,"lock":{"by":"ci"}} -->'
    marker = parse_marker_line(line)
    assert marker is not None
    assert dict(marker.extra) == {"lock": {"by": "ci"}}
    assert json.loads(marker.line()[len("<!-- pxrun:"):-len(" -->")])["lock"] == {"by": "ci"}


def test_stack_tag_is_a_valid_proxmox_tag() -> None:
    for stack in ("homelab", "a", "my_stack-2"):
        tag = stack_tag(stack)
        assert TAG_RE.match(tag)
        assert stack_of_tag(tag) == stack
    assert stack_of_tag("web") is None
    assert stack_of_tag("pxrun-") is None


_notes = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
_names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)
_markers = st.none() | st.builds(
    Marker, stack=_names, name=_names,
    fingerprint=st.none() | st.text(max_size=20), tainted=st.booleans())


@given(_notes, _markers)
def test_join_split_round_trip(notes: str, marker: Marker | None) -> None:
    assume("<!-- pxrun:" not in notes)
    joined = join_description(notes, marker)
    assert split_description(joined) == (normalize_notes(notes), marker)
    # Proxmox hands the description back with a trailing newline: nothing changes.
    assert split_description(joined + "\n") == (normalize_notes(notes), marker)
