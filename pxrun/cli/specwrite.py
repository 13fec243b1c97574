"""Spec files written by pxrun (`import`, `export`): YAML a person will keep editing.

Why our own layout and not one `yaml.safe_dump`: the file goes into git and is read by
people, so it has comments where pxrun knows something the values cannot say (an unknown
template, what create-only means), small mappings in flow style (`resources: {cores: 2,
memory: 2048}`), notes as literal blocks, and text that looks like a `{{ }}` template kept
literal (the loader renders strings with Jinja). Pure: data in, text out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

_JINJA = ("{{", "{%", "{#")


@dataclass(frozen=True)
class Entry:
    """One container of the file: its spec data and comment lines above its fields."""

    data: dict[str, Any]
    comments: tuple[str, ...] = field(default=())


class _Dumper(yaml.SafeDumper):
    """Block style for text with line breaks; Jinja-looking text kept literal."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(mark in value for mark in _JINJA):
        value = "{% raw %}" + value + "{% endraw %}"
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(data: Any) -> str:
    """YAML of `data`: leaf collections in flow style, keys in the order given."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=None,
                     allow_unicode=True, width=100)


def stack_file(stack: str, entries: dict[str, Entry], header: list[str]) -> str:
    """A complete one-stack spec file: header comments, version, stack, containers."""
    lines = [f"# {line}".rstrip() for line in header]
    lines += ["version: 1", f"stack: {stack}", "containers:"]
    for name, entry in entries.items():
        lines.append(f"  {name}:" + ("" if entry.data else " {}"))
        lines += [f"    # {c}".rstrip() for c in entry.comments]
        if entry.data:
            body = dump(entry.data).rstrip("\n").split("\n")
            lines += ["    " + line if line else line for line in body]
    return "\n".join(lines) + "\n"
