"""Writing ownership onto containers: the stack tag and the marker in the description.

The plan speaks in the user's terms (tags without our stack tag, the description without
the marker), so every write of `tags` or `description` passes through here and comes out
with ownership intact; a user deleting all their tags must never un-own a container.
Which writes go through `pct set` instead of the API is the plan's decision (its routes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pxrun.pve.marker import (
    RECREATES,
    Marker,
    join_description,
    split_description,
    stack_tag,
)
from pxrun.pve.values import parse_tags, print_tags


def owned_tags(tags: str | None, stack: str) -> str:
    """The tags to write: the user's plus our stack tag, as Proxmox stores them."""
    return print_tags([*parse_tags(tags or ""), stack_tag(stack)])


def marker_for(stack: str, name: str, *, template: str | None = None,
               recreates: Mapping[str, Any] | None = None,
               **made_from: str) -> Marker:
    """A fresh marker for a container this stack creates: what it was made from (the
    template; an application container's `image` and `image_digest`); `recreates` when it
    stands in for a copy on a lost node (the plan's words, so observe can tell the two
    apart)."""
    extra: dict[str, Any] = {"template": template} if template else {}
    extra.update(made_from)
    if recreates:
        extra[RECREATES] = dict(recreates)
    return Marker(stack=stack, name=name, extra=extra)


def with_marker(notes: str | None, marker: Marker) -> str:
    return join_description(notes, marker)


def existing_marker(config: Mapping[str, Any]) -> Marker | None:
    return split_description(str(config.get("description") or ""))[1]


def own_params(params: Mapping[str, str], delete: tuple[str, ...], *, stack: str,
               marker: Marker | None) -> tuple[dict[str, str], tuple[str, ...]]:
    """A config write's (set, delete) with ownership kept: tags always carry the stack tag;
    a description always ends with the marker (`marker` None: leave description alone).

    A description the plan wrote with a marker in it (a lost marker restored, specs/0081)
    keeps that marker, the plan having chosen what it records; only when it names the same
    stack and container, so no text in a spec's notes can claim a container elsewhere."""
    out = dict(params)
    keep = tuple(k for k in delete if k not in ("tags", "description"))
    if "tags" in out or "tags" in delete:
        out["tags"] = owned_tags(out.get("tags"), stack)
    if marker is not None and ("description" in out or "description" in delete):
        notes, planned = split_description(out.get("description"))
        same = planned is not None and (planned.stack, planned.name) == (marker.stack,
                                                                         marker.name)
        out["description"] = with_marker(notes, planned if same and planned else marker)
    return out, keep


def pct_set_args(vmid: int, params: Mapping[str, str], delete: tuple[str, ...] = ()) -> list[str]:
    """`pct set` arguments. The plan routes no value with a secret here (it would show on
    the node's command line)."""
    args = ["set", str(vmid)]
    for key, value in sorted(params.items()):
        args += [f"--{key}", value]
    if delete:
        args += ["--delete", ",".join(delete)]
    return args
