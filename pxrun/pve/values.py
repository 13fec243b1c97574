"""Scalar Proxmox values: sizes, booleans, tags, lists and the `startup` string.

Each parser has a printer that produces what Proxmox itself would store, so that the apply
step PUTs canonical values and the next observe reads back exactly what was written.
Pure functions only; `ValueError` for input Proxmox would reject too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_UNITS: dict[str, int] = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT](?:iB)?)?$")
GIB = 1024**3
MIB = 1024**2


def parse_size(text: str | int) -> int:
    """A Proxmox `disk-size` (`8G`, `512M`, `1.5G`, `4GiB`, bare bytes) -> bytes.

    Fractions are truncated to whole bytes, as Proxmox's `parse_size` does.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"negative size: {text}")
        return text
    match = _SIZE_RE.match(text.strip())
    if match is None:
        raise ValueError(f"unable to parse size {text!r}")
    number: str = match.group(1)
    unit: str = (match.group(2) or "")[:1]
    if "." in number:
        whole, frac = number.split(".")
        # Exact arithmetic: float(1.1) * 1024**3 would be off by rounding.
        scale: int = 10 ** len(frac)
        return int(whole) * _UNITS[unit] + int(frac) * _UNITS[unit] // scale
    return int(number) * _UNITS[unit]


def format_size(size: int | str) -> str:
    """Bytes -> the largest unit that divides exactly (`format_size` in Proxmox): 8G, 1536M, 100K.

    A size that is not a whole KiB prints as bare bytes. Zero prints as `0T`, like Proxmox.
    """
    n = parse_size(size)
    for unit in ("", "K", "M", "G"):
        if n % 1024:
            return f"{n}{unit}"
        n //= 1024
    return f"{n}T"


def bytes_to_gib(size: int) -> float:
    """Bytes -> GiB, the unit of `disk` in the spec. Exact for whole and half GiB."""
    return size / GIB


def gib_to_bytes(gib: float) -> int:
    return round(gib * GIB)


_TRUE = {"1", "yes", "on", "true"}
_FALSE = {"0", "no", "off", "false"}


def parse_bool(value: str | int | bool) -> bool:
    """A Proxmox boolean (`1`/`0`, yes/no, on/off, true/false; ints from JSON) -> bool."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
        raise ValueError(f"type check ('boolean') failed - got '{value}'")
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"type check ('boolean') failed - got '{value}'")


def print_bool(value: bool) -> int:
    """Booleans go to Proxmox as 1/0 (form-encoded `True` would be refused)."""
    return 1 if value else 0


TAG_RE = re.compile(r"^[a-z0-9_][a-z0-9_\-+.]*$", re.IGNORECASE)
_LIST_SPLIT = re.compile(r"[,;\s]+")
_DIGITS = re.compile(r"[0-9]+")


def split_list(text: str | None) -> list[str]:
    """Proxmox's list syntax: items separated by `,` `;` or whitespace; empty items dropped."""
    if not text:
        return []
    return [item for item in _LIST_SPLIT.split(text.strip()) if item]


def parse_tags(text: str | None) -> tuple[str, ...]:
    """A `pve-tag-list` -> the normalised tag tuple: lower-cased, de-duplicated, sorted.

    This is what Proxmox stores under its default tag style, so comparing normalised tuples
    never reports case or order as a change.
    """
    tags = split_list(text)
    for tag in tags:
        if not TAG_RE.match(tag):
            raise ValueError(f"invalid characters in tag {tag!r}")
    return normalize_tags(tags)


def normalize_tags(tags: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({tag.lower() for tag in tags}))


def print_tags(tags: Iterable[str]) -> str:
    """Tags joined as Proxmox stores them: `prod;web`."""
    return ";".join(normalize_tags(tags))


@dataclass(frozen=True, slots=True)
class StartupOrder:
    """The `startup` option: boot order and up/down delays in seconds (all optional)."""

    order: int | None = None
    up: int | None = None
    down: int | None = None


def parse_startup(text: str | None) -> StartupOrder | None:
    """`order=2,up=30,down=60` (or a bare `2` for order) -> StartupOrder; empty -> None."""
    if not text or not text.strip():
        return None
    fields: dict[str, int] = {}
    for part in text.split(","):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            key, value = "order", key
        # Like Proxmox, a key given twice keeps its last value.
        if key not in ("order", "up", "down") or not _DIGITS.fullmatch(value):
            raise ValueError(f"unable to parse startup options {text!r}")
        fields[key] = int(value)
    if not fields:
        return None
    return StartupOrder(**fields)


def print_startup(startup: StartupOrder) -> str:
    """StartupOrder -> `order=2,up=30,down=60` (Proxmox prints order, up, down in that order)."""
    parts = [f"{key}={value}" for key, value in
             (("order", startup.order), ("up", startup.up), ("down", startup.down))
             if value is not None]
    return ",".join(parts)
