"""Named formats (cases/formats.yaml) and the size and tag helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pxrun.sim import formats
from pxrun.sim.formats import FormatError

CASES: list[list[Any]] = yaml.safe_load(
    (Path(__file__).parent / "cases" / "formats.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize(
    ("name", "value", "expected"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES]
)
def test_named_format(name: str, value: str, expected: str | None) -> None:
    if expected is None:
        formats.check_format(name, value)
    else:
        with pytest.raises(FormatError) as caught:
            formats.check_format(name, value)
        assert caught.value.text == expected


def test_every_format_used_by_the_table_is_known() -> None:
    from pxrun.sim.propstr import FORMATS
    from pxrun.sim.table import TABLE

    params = [p for ep in TABLE.values() for p in ep.params.values()]
    params += [p for sub in FORMATS.values() for p in sub.values()]
    unknown = {p.format for p in params if p.format and not formats.known_format(p.format)}
    assert unknown == set()


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0),
        ("1024", 1024),
        ("1K", 1024),
        ("8G", 8 << 30),
        ("1.5G", 3 << 29),
        ("2TiB", 2 << 40),
        ("512MiB", 512 << 20),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert formats.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "1.G", "-1G", "1g", "1 G", "1GB"])
def test_parse_size_rejects(text: str) -> None:
    assert formats.parse_size(text) is None


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0"),
        (1023, "1023"),
        (1024, "1K"),
        (8 << 30, "8G"),
        (512 << 20, "512M"),
        (1536 << 20, "1536M"),
        (3 << 40, "3T"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert formats.format_size(size) == text


@given(st.integers(0, 1 << 50))
def test_size_round_trip(size: int) -> None:
    assert formats.parse_size(formats.format_size(size)) == size


@pytest.mark.parametrize(
    ("text", "tags"),
    [("Web,prod web", "prod;web"), ("b;a;B", "a;b"), ("", ""), ("x\0y", "x;y"), ("one", "one")],
)
def test_normalize_tags(text: str, tags: str) -> None:
    assert formats.normalize_tags(text) == tags


def test_normalize_tags_rejects() -> None:
    with pytest.raises(FormatError, match="invalid characters in tag"):
        formats.normalize_tags("ok,not/ok")


def test_split_list() -> None:
    assert formats.split_list(" a, b;;c\td ") == ["a", "b", "c", "d"]
    assert formats.split_list("a b\0c") == ["a b", "c"]
