"""The file form of a spec: `StackFile`, its `defaults:` and its container entries.

Why a module of its own, imported on first use (`model.__getattr__`): these models are the
raw-form twins of the resolved ones (`model_partial`), and the loader never validates
with them; only the JSON Schema, the spec reference and key suggestions read them. Building
the nineteen twins took a third of the spec models' import time, which every command paid.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pxrun.spec.docstrings import describe
from pxrun.spec.model import Cluster, Container, HaRule
from pxrun.spec.model_base import SpecModel
from pxrun.spec.model_partial import TEMPLATED, raw_model
from pxrun.spec.model_pve9 import RuleName
from pxrun.spec.rules import ContainerName, StackName, between

describe()  # the twins copy the descriptions of the models' fields
ContainerDefaults = raw_model(Container, frozenset({"name"}))
"""`defaults:` of a stack file: any container field, deep-merged under every container."""


class ContainerEntry(ContainerDefaults):  # type: ignore[misc,valid-type]
    """One container in a stack file; fields left out come from defaults."""

    count: Annotated[int, between("count", 1, 1000), TEMPLATED] | None = None
    """Number of replicas, named <name>-1 .. <name>-N."""


class StackFile(SpecModel):
    """One pxrun spec file (a folder of them merges into one stack)."""

    version: Literal[1] | None = None
    """Spec language version: 1."""
    stack: StackName | None = None
    """Ownership scope: containers carry this stack's tag. Lowercase [a-z0-9_-]."""
    cluster: Cluster | None = None
    """A connection profile name, or an inline block."""
    vars: dict[str, Any] | None = None
    """Variables for {{ vars.x }} expressions."""
    secrets: str | None = None
    """A sops-encrypted YAML file; its values are {{ secrets.x }}."""
    defaults: ContainerDefaults | None = None  # type: ignore[valid-type]
    """Deep-merged under every container."""
    containers: dict[ContainerName, ContainerEntry] | None = None
    """Containers by name."""
    ha_rules: dict[RuleName, HaRule] | None = None
    """PVE 9 HA rules (node and resource affinity) over the stack's containers."""


describe()  # and these two their own
