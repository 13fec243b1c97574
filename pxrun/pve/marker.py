"""The ownership marker: which stack owns a container and its name in the spec (DESIGN §4).

pxrun keeps no state file, so what it must remember lives on the container itself:
- a tag `pxrun-<stack>`, cheap to see for every guest in one `/cluster/resources` call;
- a marker line at the end of the description, an HTML comment that the GUI's Markdown
  rendering of the notes does not show:

      <!-- pxrun:{"name":"web-1","stack":"homelab","v":1} -->

The marker is authoritative (the tag is the index used to find candidates). It also holds
what provisioning did (`fingerprint`: per step, see `spec.steps`; `tailnet`: the name the
container joined a tailnet under), the `tainted` flag with the failing step and its log
(`taint`), and keeps keys it does not know so an older pxrun never erases what a newer one
wrote. See specs/0031 and specs/0062.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pxrun.pve.memo import by_value

MARKER_VERSION = 1
TAG_PREFIX = "pxrun-"
_LINE_RE = re.compile(r"^<!-- pxrun:(\{.*\}) -->[ \t]*$")
_KNOWN = frozenset({"v", "stack", "name", "fingerprint", "tainted", "taint", "tailnet"})


RECREATES = "recreates"
"""Marker key of a container recreated after its node was lost: {"vmid", "node", "at"} of
the copy it stands in for (written by apply as the plan says, read by observe)."""


def stack_tag(stack: str) -> str:
    """The tag that marks a container as (a candidate) member of `stack`."""
    return f"{TAG_PREFIX}{stack.lower()}"


def stack_of_tag(tag: str) -> str | None:
    """`pxrun-homelab` -> `homelab`; any other tag -> None."""
    if tag.startswith(TAG_PREFIX) and len(tag) > len(TAG_PREFIX):
        return tag[len(TAG_PREFIX):]
    return None


@dataclass(frozen=True)
class Marker:
    """What pxrun records on a container it manages."""

    stack: str
    name: str
    fingerprint: str | None = None  # per-step provisioning fingerprints (`spec.steps`)
    tainted: bool = False  # a change of it failed: the next plan finishes it
    taint_step: str = ""  # the provisioning step that failed ("" for another failure)
    taint_log: str = ""  # where that step's log is (on the machine that applied)
    tailnet: str | None = None  # the hostname it joined a tailnet under (Tailscale step)
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        data.update(v=MARKER_VERSION, stack=self.stack, name=self.name)
        if self.fingerprint is not None:
            data["fingerprint"] = self.fingerprint
        if self.tainted:
            data["tainted"] = True
            if self.taint_step or self.taint_log:
                data["taint"] = {"step": self.taint_step, "log": self.taint_log}
        if self.tailnet:
            data["tailnet"] = self.tailnet
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Marker:
        stack, name = data.get("stack"), data.get("name")
        fingerprint = data.get("fingerprint")
        if not isinstance(stack, str) or not isinstance(name, str) or not stack or not name:
            raise ValueError("marker needs string 'stack' and 'name'")
        if fingerprint is not None and not isinstance(fingerprint, str):
            raise ValueError("marker 'fingerprint' must be a string")
        extra = {k: v for k, v in data.items() if k not in _KNOWN}
        found = data.get("taint")
        taint: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        tailnet = data.get("tailnet")
        return cls(stack=stack, name=name, fingerprint=fingerprint,
                   tainted=data.get("tainted") is True,
                   taint_step=str(taint.get("step") or ""), taint_log=str(taint.get("log") or ""),
                   tailnet=tailnet if isinstance(tailnet, str) and tailnet else None,
                   extra=MappingProxyType(extra))

    def line(self) -> str:
        """The one-line HTML comment written into the description."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        # An HTML comment must not contain `--` or `>`; escaping inside JSON strings is free
        # (json.loads undoes it) and our JSON has no negative numbers where `-` is syntax.
        text = text.replace(">", "\\u003e").replace("<", "\\u003c").replace("--", "-\\u002d")
        return f"<!-- pxrun:{text} -->"


def parse_marker_line(line: str) -> Marker | None:
    """One description line -> its Marker, or None when it is not a (valid) marker."""
    match = _LINE_RE.match(line.strip("\r"))
    if match is None:
        return None
    try:
        data = json.loads(match.group(1))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return Marker.from_json(data)
    except ValueError:
        return None


@by_value
def split_description(text: str | None) -> tuple[str, Marker | None]:
    """A description -> (the user's notes, the marker or None).

    The notes are normalised as Proxmox itself would round-trip them: trailing newlines and
    trailing blank lines dropped (Proxmox stores the description as comment lines and adds a
    newline when reading it back). Every marker-looking line is removed from the notes; the
    last valid one wins. Memoised (the Marker is frozen and its `extra` read-only): observe
    reads each container's description twice, for its notes and for its marker.
    """
    if not text:
        return "", None
    marker: Marker | None = None
    kept: list[str] = []
    for line in text.split("\n"):
        found = parse_marker_line(line)
        if found is not None:
            marker = found
        elif not _LINE_RE.match(line.strip("\r")):
            kept.append(line)
    return normalize_notes("\n".join(kept)), marker


def normalize_notes(notes: str | None) -> str:
    """User notes as compared: trailing whitespace-only lines and newlines removed."""
    if not notes:
        return ""
    return notes.replace("\r\n", "\n").rstrip()


def join_description(notes: str | None, marker: Marker | None) -> str:
    """(notes, marker) -> the description to write: notes, a blank line, the marker line.

    The blank line keeps Markdown from gluing the comment to the last paragraph.
    `split_description(join_description(n, m)) == (normalize_notes(n), m)`.
    """
    body = normalize_notes(notes)
    if marker is None:
        return body
    if not body:
        return marker.line()
    return f"{body}\n\n{marker.line()}"
