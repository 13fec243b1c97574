"""Scalar values: sizes, tags, booleans, startup — recorded spellings, printers, round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pxrun.pve import values as v

DATA = json.loads((Path(__file__).parent / "fixtures" / "values.json").read_text())


@pytest.mark.parametrize(("text", "size", "canonical"), DATA["sizes"])
def test_sizes(text: str, size: int, canonical: str) -> None:
    assert v.parse_size(text) == size
    assert v.format_size(size) == canonical
    assert v.parse_size(canonical) == size


@pytest.mark.parametrize("text", DATA["bad_sizes"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError, match="size"):
        v.parse_size(text)


@given(st.integers(min_value=0, max_value=2**50))
def test_format_size_round_trips_and_is_shortest(size: int) -> None:
    printed = v.format_size(size)
    assert v.parse_size(printed) == size
    if printed[-1] in "KMG":  # a larger unit would not have divided exactly
        assert v.parse_size(printed[:-1]) * 1024 % 1024 == 0


def test_gib_conversions() -> None:
    assert v.bytes_to_gib(8 * v.GIB) == 8
    assert v.bytes_to_gib(v.parse_size("1536M")) == 1.5
    assert v.gib_to_bytes(1.5) == v.parse_size("1536M")


@pytest.mark.parametrize(("text", "tags", "printed"), DATA["tags"])
def test_tags(text: str, tags: list[str], printed: str) -> None:
    assert v.parse_tags(text) == tuple(tags)
    assert v.print_tags(tags) == printed


@pytest.mark.parametrize("text", DATA["bad_tags"])
def test_bad_tags(text: str) -> None:
    with pytest.raises(ValueError, match="invalid characters"):
        v.parse_tags(text)


@given(st.lists(st.from_regex(r"[a-zA-Z0-9_][a-zA-Z0-9_\-+.]{0,8}", fullmatch=True)))
def test_tags_round_trip_as_lowercase_sorted_set(tags: list[str]) -> None:
    parsed = v.parse_tags(v.print_tags(tags))
    assert parsed == tuple(sorted({t.lower() for t in tags}))
    assert v.parse_tags(";".join(reversed(tags)).upper()) == parsed


@pytest.mark.parametrize(("raw", "expected"), DATA["booleans"])
def test_booleans(raw: Any, expected: bool) -> None:
    assert v.parse_bool(raw) is expected
    assert v.print_bool(expected) == int(expected)


@pytest.mark.parametrize("raw", DATA["bad_booleans"])
def test_bad_booleans(raw: Any) -> None:
    with pytest.raises(ValueError, match="boolean"):
        v.parse_bool(raw)


@pytest.mark.parametrize(("text", "fields", "printed"), DATA["startup"])
def test_startup(text: str, fields: dict[str, int], printed: str) -> None:
    parsed = v.parse_startup(text)
    assert parsed == v.StartupOrder(**fields)
    assert v.print_startup(parsed) == printed


@pytest.mark.parametrize("text", DATA["bad_startup"])
def test_bad_startup(text: str) -> None:
    with pytest.raises(ValueError, match="startup"):
        v.parse_startup(text)


def test_empty_startup_is_none() -> None:
    assert v.parse_startup("") is None
    assert v.parse_startup(None) is None


_opt = st.none() | st.integers(min_value=0, max_value=10**6)


@given(st.builds(v.StartupOrder, order=_opt, up=_opt, down=_opt))
def test_startup_round_trip(startup: v.StartupOrder) -> None:
    printed = v.print_startup(startup)
    expected = None if startup == v.StartupOrder() else startup
    assert v.parse_startup(printed) == expected


def test_split_list() -> None:
    assert v.split_list("1.1.1.1 8.8.8.8,9.9.9.9;") == ["1.1.1.1", "8.8.8.8", "9.9.9.9"]
    assert v.split_list("") == []
    assert v.split_list(None) == []
