"""The building blocks of the simulator's parameter table.

`Param` is one parameter (or one key of a property string) the way PVE's JSON schema
describes it: type, optional, named format or property-string format, pattern, lengths,
range, enum, `requires`. The table is the simulator's own data (specs/0021); the official
schema only checks it in tests. `unsupported` marks a parameter the simulator knows but
deliberately does not implement: using it is answered with a clear 400 instead of being
silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

# Indexed options: PVE expands net0..net31 etc. into separate schema keys; we keep one
# `name[n]` entry and the number of valid indexes (pve-container LXC/Config.pm).
INDEXED = {"net": 32, "mp": 256, "dev": 256, "unused": 256}

NOT_SUPPORTED = "not supported by the pxrun simulator"


@dataclass(frozen=True)
class Param:
    """One schema property. `propstr` names a property-string format in `propstr.FORMATS`."""

    type: str = "string"
    optional: bool = True
    format: str | None = None
    propstr: str | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[str, ...] | None = None
    requires: str | None = None
    default: Any = None
    default_key: bool = False
    unsupported: str | None = None

    def required(self) -> Param:
        return replace(self, optional=False)

    def but(self, **changes: Any) -> Param:
        return replace(self, **changes)


@dataclass(frozen=True)
class Endpoint:
    """The parameters of one (method, path template); path parameters are listed too."""

    method: str
    template: str
    params: dict[str, Param]
    returns: str = ""  # a short note for humans: the schema's return type


def S(**kw: Any) -> Param:
    return Param(type="string", **kw)


def I(**kw: Any) -> Param:  # noqa: E743
    return Param(type="integer", **kw)


def N(**kw: Any) -> Param:
    return Param(type="number", **kw)


def B(**kw: Any) -> Param:
    return Param(type="boolean", **kw)


def A(**kw: Any) -> Param:
    """An array of strings (form bodies repeat the key: `exclude-path=a&exclude-path=b`)."""
    return Param(type="array", **kw)


# Standard options (PVE::JSONSchema::register_standard_option) shared by many endpoints.
NODE = S(format="pve-node", optional=False)
VMID = I(format="pve-vmid", minimum=100, maximum=999_999_999, optional=False)
VMID_OPT = VMID.but(optional=True)
STORAGE = S(format="pve-storage-id", optional=False)
STORAGE_OPT = STORAGE.but(optional=True)
POOLID = S(format="pve-poolid", optional=False)
DIGEST = S(max_length=40)
UPID = S(optional=False)

ROOT_OR_MP = ("rootfs", *(f"mp{i}" for i in range(INDEXED["mp"])))
VOLUME_KEYS = (*ROOT_OR_MP, *(f"unused{i}" for i in range(INDEXED["unused"])))
