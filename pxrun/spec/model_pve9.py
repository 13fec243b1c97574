"""The spec's Proxmox VE 9 parts: OCI images, HA, raw `lxc.*` lines and uid/gid maps.

Why a module of their own: they are one feature set (issue 15) with rules that cross
fields (an image takes the template's place; `ha.state` decides the power state; `lxc.idmap`
lines written under `lxc:` are the typed `idmap`), kept apart from the container model so
that model stays a list of fields.

- `image`: an OCI reference `[registry/]repository[:tag]`, normalised as container tools do
  (`nginx` -> `docker.io/library/nginx:latest`), so one image has one spelling.
- `lxc`: raw lines `lxc.<key>: <value>` in their order (the order matters to LXC); a mapping
  `{lxc.key: value}` or `lxc.key = value` is accepted and spelled the same way.
- `idmap`: the ids passed through to the host beside the default map of an unprivileged
  container (inside id n -> host 100000 + n); pxrun writes the full `lxc.idmap` lines.
- `ha`: the container as an HA resource; `ha_rules` (on the stack): PVE 9 node-affinity and
  resource-affinity rules over the stack's containers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, model_validator

from pxrun.spec.model_base import SpecModel
from pxrun.spec.rules import between, fail, longest, matches

DEFAULT_REGISTRY = "docker.io"
_REFERENCE = re.compile(
    r"(?:(?P<host>[a-zA-Z\d](?:[a-zA-Z\d-]*[a-zA-Z\d])?(?:\.[a-zA-Z\d](?:[a-zA-Z\d-]*[a-zA-Z\d])?)*"
    r"(?::\d+)?)/)?"
    r"(?P<path>[a-z\d]+(?:(?:[._]|__|-+)[a-z\d]+)*(?:/[a-z\d]+(?:(?:[._]|__|-+)[a-z\d]+)*)*)"
    r"(?::(?P<tag>\w[\w.-]{0,127}))?")
IDS = 65536  # the ids inside an unprivileged container: 0..65535
DEFAULT_HOST_BASE = 100000


def normalize_image(value: Any) -> Any:
    """`nginx` -> `docker.io/library/nginx:latest`; `ghcr.io/a/b:1` as it is."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if "@" in text:
        raise fail(f"image {value!r}: pin a tag (repository:tag), not a digest; pxrun "
                   "records the digest it pulled")
    found = _REFERENCE.fullmatch(text)
    if found is None:
        raise fail(f"image {value!r} is not a valid OCI reference: use "
                   "[registry/]repository[:tag], e.g. docker.io/library/nginx:1.27")
    host, path, tag = found["host"], found["path"], found["tag"] or "latest"
    if host is None or not ("." in host or ":" in host or host == "localhost"):
        path = f"{host}/{path}" if host else path
        host = DEFAULT_REGISTRY
        if "/" not in path:
            path = f"library/{path}"
    return f"{host}/{path}:{tag}"


def split_image(reference: str) -> tuple[str, str]:
    """(repository, tag) of a normalised reference."""
    repository, _, tag = reference.rpartition(":")
    return repository, tag


ImageRef = Annotated[str, BeforeValidator(normalize_image)]
Entrypoint = Annotated[
    str, matches("entrypoint", r"[^\x00-\x08\x10-\x1f\x7f]+",
                 "a command line without control characters")]

_LXC_LINE = re.compile(r"(lxc\.[a-z0-9_.\-]+)\s*(?::|=)\s*(.*?)\s*")


def _lxc_line(value: Any) -> Any:
    """`{lxc.key: value}`, `lxc.key = value` or `lxc.key: value` -> `lxc.key: value`."""
    if isinstance(value, dict) and len(value) == 1:
        (key, item), = value.items()
        value = f"{key}: {'' if item is None else item}"
    if not isinstance(value, str):
        return value
    found = _LXC_LINE.fullmatch(value.strip())
    if found is None or "\n" in value:
        raise fail(f"lxc line {value!r} is not valid: write one raw key per line, "
                   "like 'lxc.cgroup2.devices.allow: c 226:* rwm'")
    return f"{found[1]}: {found[2]}"


LxcLine = Annotated[str, BeforeValidator(_lxc_line)]


class IdRange(SpecModel):
    """Ids `container`..`container+count-1` inside map to `host`..`host+count-1`."""

    container: Annotated[int, between("idmap container id", 0, IDS - 1)]
    """First id inside the container."""
    host: Annotated[int, between("idmap host id", 0, 4_294_967_294)]
    """First id on the node it maps to."""
    count: Annotated[int, between("idmap count", 1, IDS)] = 1
    """How many consecutive ids."""

    @model_validator(mode="after")
    def _fits(self) -> IdRange:
        if self.container + self.count > IDS:
            raise fail(f"idmap range {self.container}+{self.count} goes past id {IDS - 1}")
        return self


def _id_range(value: Any) -> Any:
    """A bare id maps to the same id on the node (`44` = {container: 44, host: 44})."""
    if isinstance(value, int) and not isinstance(value, bool):
        return {"container": value, "host": value}
    return value


IdRanges = list[Annotated[IdRange, BeforeValidator(_id_range)]]


class IdMap(SpecModel):
    """uid/gid ranges an unprivileged container shares with the node (GPU groups, shared
    media users); every other id keeps the default map (inside n -> host 100000 + n)."""

    uids: IdRanges = []
    """User id ranges, e.g. [1000] or [{container: 1000, host: 1005}]."""
    gids: IdRanges = []
    """Group id ranges, e.g. [44, 104] for video and render."""

    @model_validator(mode="after")
    def _disjoint(self) -> IdMap:
        for what, ranges in (("uids", self.uids), ("gids", self.gids)):
            for side in ("container", "host"):
                spans = sorted((getattr(r, side), getattr(r, side) + r.count) for r in ranges)
                for (_, end), (start, _) in pairwise(spans):
                    if start < end:
                        raise fail(f"idmap {what}: two ranges overlap on the {side} side "
                                   f"(at id {start})")
        return self


HaState = Literal["started", "stopped", "disabled", "ignored"]


class HaSettings(SpecModel):
    """The container as a Proxmox HA resource (`ct:<vmid>`)."""

    state: HaState = "started"
    """What the HA manager keeps it in: started, stopped, disabled or ignored."""
    max_restart: Annotated[int, between("ha max_restart", 0)] | None = None
    """Restarts on the same node after a failed start (Proxmox default 1)."""
    max_relocate: Annotated[int, between("ha max_relocate", 0)] | None = None
    """Moves to another node after failed restarts (Proxmox default 1)."""
    failback: bool | None = None
    """Move back to the node an affinity rule prefers when it returns (default true)."""
    comment: Annotated[str, longest("ha comment", 4096)] | None = None
    """Description of the HA resource."""


RuleName = Annotated[str, matches("ha rule name", r"[a-z][a-z0-9_-]*",
                                  "lowercase letters, digits, - and _", max_len=40)]


def _node_priorities(value: Any) -> Any:
    """`[pve1, pve2]` -> {pve1: 0, pve2: 0}: every node of a list has the same priority."""
    if isinstance(value, list):
        return {str(node): 0 for node in value}
    return value


class HaRule(SpecModel):
    """A PVE 9 HA rule over containers of this stack (named by their spec names; a
    counted name like `db` stands for db-1, db-2, ...)."""

    type: Literal["node-affinity", "resource-affinity"]
    """node-affinity: where they may run; resource-affinity: together or apart."""
    resources: Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str)
                                                    else v)]
    """Containers of the stack the rule covers."""
    nodes: Annotated[dict[str, Annotated[int, between("node priority", 0)]] | None,
                     BeforeValidator(_node_priorities)] = None
    """node-affinity: nodes with a priority (higher first), or a list of equal nodes."""
    strict: bool | None = None
    """node-affinity: only these nodes (stopped when none is up); default false."""
    affinity: Literal["positive", "negative"] | None = None
    """resource-affinity: keep them on one node (positive) or on different nodes."""
    disable: bool | None = None
    """Keep the rule but do not apply it."""
    comment: Annotated[str, longest("ha rule comment", 4096)] | None = None
    """Description of the rule."""

    @model_validator(mode="after")
    def _by_type(self) -> HaRule:
        if not self.resources:
            raise fail("an HA rule needs resources")
        if self.type == "node-affinity":
            if not self.nodes:
                raise fail("a node-affinity rule needs nodes")
            if self.affinity is not None:
                raise fail("affinity belongs to resource-affinity rules")
        else:
            if self.affinity is None:
                raise fail("a resource-affinity rule needs affinity: positive or negative")
            if self.nodes is not None or self.strict is not None:
                raise fail("nodes and strict belong to node-affinity rules")
        return self


# --- cross-field rules of a container (called from Container's validators) --------------


def pve9_defaults(data: Any) -> Any:
    """What the raw container data means before its fields are validated:
    - an image takes the template's place (a template from `defaults:` does not apply);
    - `ha.state: stopped` (or disabled) without `state`: the container is to be stopped;
    - `lxc.idmap` lines written under `lxc:` are the typed `idmap` (one spelling)."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    if data.get("image"):
        data["template"] = None
    if data.get("state") is None:
        ha = data.get("ha")
        state = ha.get("state") if isinstance(ha, dict) else getattr(ha, "state", None)
        if state in ("stopped", "disabled"):
            data["state"] = "stopped"
    lines = data.get("lxc")
    if isinstance(lines, list):
        lines = [_lxc_line(line) for line in lines]
        rest, idmap = idmap_from_lines(lines, data.get("idmap"))
        data["lxc"], data["idmap"] = rest, idmap
    return data


def idmap_from_lines(lines: list[str], idmap: Any) -> tuple[list[str] | None, Any]:
    """The `lxc.idmap` lines of `lines` as an IdMap, and the other lines."""
    maps = [line for line in lines if isinstance(line, str) and line.startswith("lxc.idmap:")]
    if not maps:
        return lines, idmap
    if idmap is not None:
        raise fail("lxc.idmap lines and idmap: are both given; use one of them")
    ranges: dict[str, list[IdRange]] = {"u": [], "g": []}
    for line in maps:
        parts = line.split(":", 1)[1].split()
        if len(parts) != 4 or parts[0] not in ("u", "g") or not all(
                p.isdigit() for p in parts[1:]):
            raise fail(f"{line!r}: an idmap line is 'lxc.idmap: u|g <inside> <host> <count>'")
        kind, inside, host, count = parts[0], int(parts[1]), int(parts[2]), int(parts[3])
        if host != DEFAULT_HOST_BASE + inside:
            ranges[kind].append(IdRange(container=inside, host=host, count=count))
    rest = [line for line in lines if line not in maps]
    return rest or None, IdMap(uids=ranges["u"], gids=ranges["g"])


def container_checks(image: str | None, idmap: IdMap | None, unprivileged: bool,
                     state: str, ha: HaSettings | None) -> None:
    """Rules between the PVE 9 fields and the rest of a container."""
    del image  # an image's own limits are plan warnings (Proxmox documents them)
    if idmap is not None and not unprivileged:
        raise fail("idmap needs an unprivileged container (unprivileged: true)")
    if ha is not None:
        if ha.state == "started" and state != "running":
            raise fail("ha.state started keeps the container running: set state: running, "
                       "or ha.state: stopped")
        if ha.state in ("stopped", "disabled") and state != "stopped":
            raise fail(f"ha.state {ha.state} keeps the container stopped: set state: "
                       "stopped, or ha.state: started")


def rule_members(name: str, rule: HaRule, containers: Mapping[str, Any]) -> list[str]:
    """A rule's resources as container names of the stack (a counted name stands for its
    replicas, in order); each must be an HA resource (`ha:` set)."""
    members: list[str] = []
    for item in rule.resources:
        if item in containers:
            found = [item]
        else:
            found = sorted((n for n in containers if re.fullmatch(re.escape(item) + r"-\d+", n)),
                           key=lambda n: int(n.rsplit("-", 1)[1]))
        if not found:
            raise fail(f"ha_rules.{name}: {item} is not a container of this stack")
        for member in found:
            if getattr(containers[member], "ha", None) is None:
                raise fail(f"ha_rules.{name}: {member} is not an HA resource; set ha: on it "
                           "(ha: {state: started})")
            if member not in members:
                members.append(member)
    if rule.type == "resource-affinity" and len(members) < 2:
        raise fail(f"ha_rules.{name}: a resource-affinity rule needs two containers or more")
    return members
