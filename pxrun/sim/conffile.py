"""A container's `.conf` file exactly as pve-container writes and reads it.

Why the simulator keeps this text format on disk too: the digest is the SHA1 of this file,
`pct` on a node and `/etc/pve/lxc/<vmid>.conf` show it, and raw `lxc.*` keys only exist
here. Layout (`write_pct_config`): the main section, then `[pve:pending]` when anything is
pending, then one `[name]` section per snapshot in name order. Every section starts with its
description as `#` comment lines (`%`, `:` and control characters %XX-escaped), then its keys
sorted, then raw `lxc.*` keys in their own order. The pending section's deletions are its
`delete` key, a sorted comma list, sorted among the other keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

PENDING = "pve:pending"
_SECTION = re.compile(r"^\[([a-z][a-z0-9_\-]*|pve:pending)\]\s*$", re.I)
_RAW_LXC = re.compile(r"^(lxc\.[a-z0-9_\-.]+)(?::|\s*=)\s*(.*?)\s*$")
_KEY = re.compile(r"^([a-z][a-z_\-]*\d*):\s*(.*?)\s*$")
_ENCODED = re.compile(r"%([0-9a-fA-F]{2})")


def encode_text(text: str) -> str:
    """PVE::Tools::encode_text for `#` lines: `%`, `:` and control characters escaped."""
    return "".join(f"%{ord(c):02X}" if c in "%:" or ord(c) < 32 or ord(c) == 127 else c
                   for c in text)


def decode_text(text: str) -> str:
    return _ENCODED.sub(lambda m: chr(int(m.group(1), 16)), text)


def render_section(values: Mapping[str, Any], raw_lxc: Iterable[tuple[str, str]] = ()) -> str:
    """One section: description lines, sorted keys, then raw `lxc.*` lines."""
    lines: list[str] = []
    description = values.get("description")
    if description:
        lines += ["#" + encode_text(line) for line in str(description).split("\n")]
    lines += [f"{key}: {values[key]}" for key in sorted(values)
              if key not in ("description", "lxc")]
    lines += [f"{key}: {value}" for key, value in raw_lxc]
    return "".join(line + "\n" for line in lines)


@dataclass
class ConfFile:
    """The parsed sections of a `.conf` file."""

    conf: dict[str, str] = field(default_factory=dict)
    raw_lxc: list[tuple[str, str]] = field(default_factory=list)
    pending: dict[str, str] = field(default_factory=dict)
    pending_delete: list[str] = field(default_factory=list)
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)


def render(conf: Mapping[str, str], raw_lxc: Iterable[tuple[str, str]],
           pending: Mapping[str, str], pending_delete: Iterable[str],
           snapshots: Mapping[str, Mapping[str, Any]]) -> str:
    text = render_section(conf, raw_lxc)
    deletes = sorted(pending_delete)
    if pending or deletes:
        section = dict(pending)
        if deletes:
            section["delete"] = ",".join(deletes)
        text += f"\n[{PENDING}]\n" + render_section(section)
    for name in sorted(snapshots):
        snap = snapshots[name]
        raw = [tuple(item) for item in snap.get("lxc", ())]
        text += f"\n[{name}]\n" + render_section(snap, raw)
    return text


def parse(text: str, warn: Callable[[str], None] | None = None) -> ConfFile:
    """parse_pct_config: sections, descriptions, keys and raw `lxc.*` lines.

    A line that is none of those raises ValueError, unless `warn` is given: then, as
    pve-container does when it reads a file someone edited by hand, the line is skipped
    and `warn` gets it (the caller words the warning)."""
    out = ConfFile()
    section: dict[str, Any] = out.conf
    raw: list[tuple[str, str]] = out.raw_lxc
    description: list[str] = []

    def close() -> None:
        if description:
            section["description"] = "\n".join(description)
            description.clear()

    for line in text.split("\n"):
        if not line.strip():
            continue
        if line.startswith("#"):
            description.append(decode_text(line[1:]))
            continue
        header = _SECTION.match(line)
        if header:
            close()
            name = header.group(1)
            if name == PENDING:
                section, raw = out.pending, []
            else:
                section = out.snapshots.setdefault(name, {})
                raw = []
                section["lxc"] = raw
            continue
        found = _RAW_LXC.match(line)
        if found:
            raw.append((found.group(1), found.group(2)))
            continue
        found = _KEY.match(line)
        if not found:
            if warn is None:
                raise ValueError(f"unable to parse config line: {line!r}")
            warn(line)
            continue
        key, value = found.groups()
        if section is out.pending and key == "delete":
            out.pending_delete = [k for k in re.split(r"[,;\s]+", value) if k]
        else:
            section[key] = value
    close()
    for snap in out.snapshots.values():
        if not snap.get("lxc"):
            snap.pop("lxc", None)
        else:
            snap["lxc"] = [list(item) for item in snap["lxc"]]
    return out
