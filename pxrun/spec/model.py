"""The spec language's public models: a resolved `Stack` of `Container`s, and `StackFile`.

`Stack` is what the loader returns and the planner consumes: defaults merged, `count`
expanded, Jinja rendered, every container complete. `StackFile` is the shape of one raw YAML
file, used for the JSON Schema and for a first structural check; in it every container field
is optional because `defaults:` may provide it.

Other layers import from here only; the sub-modules are an implementation detail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import model_validator

from pxrun.spec.model_base import SpecModel, slot_index
from pxrun.spec.model_cluster import ClusterBlock, SshSettings
from pxrun.spec.model_container import (
    Arch,
    Container,
    Features,
    Lifecycle,
    OsType,
    Resources,
    Startup,
)
from pxrun.spec.model_net import Network
from pxrun.spec.model_provision import DockerOptions, File, Provision, RunStep, Tailscale, User
from pxrun.spec.model_pve9 import HaRule, HaSettings, IdMap, IdRange, RuleName, rule_members
from pxrun.spec.model_storage import Device, Mount, RootFs
from pxrun.spec.rules import ContainerName, StackName, fail, matches

if TYPE_CHECKING:
    from pxrun.spec.model_file import ContainerDefaults, ContainerEntry, StackFile

__all__ = [
    "Arch",
    "ClusterBlock",
    "Container",
    "ContainerDefaults",
    "ContainerEntry",
    "Device",
    "DockerOptions",
    "Features",
    "File",
    "HaRule",
    "HaSettings",
    "IdMap",
    "IdRange",
    "Lifecycle",
    "Mount",
    "Network",
    "OsType",
    "Provision",
    "Resources",
    "RootFs",
    "RunStep",
    "SshSettings",
    "Stack",
    "StackFile",
    "Startup",
    "Tailscale",
    "User",
    "slot_index",
]

ProfileName = Annotated[
    str, matches("cluster", r"[A-Za-z0-9][A-Za-z0-9_.-]*", "a profile name or an inline block")
]
Cluster = ProfileName | ClusterBlock


class Stack(SpecModel):
    """A resolved stack: the desired state of every container it owns."""

    version: Literal[1] = 1
    """Spec language version."""
    stack: StackName
    """Ownership scope: containers carry this stack's tag. Lowercase [a-z0-9_-]."""
    cluster: Cluster | None = None
    """A connection profile name, or an inline block."""
    vars: dict[str, Any] = {}
    """Variables for {{ vars.x }} expressions."""
    containers: dict[ContainerName, Container] = {}
    """Containers by name."""
    ha_rules: dict[RuleName, HaRule] | None = None
    """PVE 9 HA rules (node and resource affinity) over the stack's containers."""
    groups: dict[ContainerName, list[ContainerName]] = {}
    """Counted containers (`count:`) -> their replicas, e.g. web -> [web-1, web-2]: what a
    rolling replace goes through one `max_unavailable` at a time."""

    @model_validator(mode="after")
    def _consistent(self) -> Stack:
        for group, members in self.groups.items():
            missing = [m for m in members if m not in self.containers]
            if missing:
                raise fail(f"group {group} names {', '.join(missing)}, not in the stack")
        vmids: dict[int, str] = {}
        for key, ct in self.containers.items():
            if ct.name != key:
                raise fail(f"container {key} carries the name {ct.name!r}")
            if ct.vmid is not None:
                if ct.vmid in vmids:
                    raise fail(f"vmid {ct.vmid} is used by both {vmids[ct.vmid]} and {key}")
                vmids[ct.vmid] = key
            for dep in ct.depends_on:
                if dep not in self.containers:
                    raise fail(f"container {key} depends on {dep}, which is not in the stack")
        cycle = _find_cycle({k: c.depends_on for k, c in self.containers.items()})
        if cycle:
            raise fail("depends_on has a cycle: " + " -> ".join(cycle))
        if self.ha_rules:
            rules = {name: rule.model_copy(update={"resources": rule_members(
                name, rule, self.containers)}) for name, rule in self.ha_rules.items()}
            object.__setattr__(self, "ha_rules", rules)
        return self


def _find_cycle(graph: dict[str, list[str]]) -> list[str]:
    """One dependency cycle as a path (first name repeated at the end), or []."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*path[path.index(dep):], dep] if dep in path else [node, dep]
            if dep not in state and (found := visit(dep, [*path, dep])):
                return found
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


_FILE_FORM = frozenset({"ContainerDefaults", "ContainerEntry", "StackFile"})


def __getattr__(name: str) -> Any:
    """The file-form models (`model_file`), built when first asked for: the loader never
    validates with them, so most commands never pay for them."""
    if name in _FILE_FORM:
        from pxrun.spec import model_file

        return getattr(model_file, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
