"""Normalisation: reduce desired and observed containers to their comparable "essence".

Nothing may show as a perpetual diff (peers.md, complaint 7). Two steps, one module:

- `canonical(c)` — the same spelling for the same meaning, applied to both sides: tags as a
  lower-case sorted set, the description without trailing newlines, empty DNS lists as
  absent, an empty env as absent.
- `comparable(desired, observed)` — the observed container seen through what the spec
  manages: a field the spec leaves unset (None) is not compared (so a MAC Proxmox generated,
  or anything set by hand in the GUI, never shows); a field the spec sets but Proxmox leaves
  unset reads as Proxmox's default (`onboot` absent == false); what the API cannot tell
  (template, password, ssh keys, provisioning) is taken from the spec; placement `auto` or a
  node list that contains the current node is satisfied.

`desired == comparable(desired, observed)` (both canonical) means "no change". The planner
diffs these two; both stay instances of the spec's own `Container`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from pxrun.pve.marker import normalize_notes
from pxrun.pve.values import normalize_tags
from pxrun.spec.model import (
    Container,
    Device,
    Features,
    Mount,
    Network,
    Resources,
    RootFs,
)

# Proxmox's value for a key that is absent from the config (reference Part B / Part C).
# Used by the parser for fields the spec model requires, and by `comparable` otherwise.
PVE_DEFAULTS: dict[str, Any] = {
    "memory": 512, "swap": 512, "disk": 4, "cpulimit": 0, "cpuunits": 100, "arch": "amd64",
    "cmode": "tty", "tty": 2, "unprivileged": 0, "onboot": 0, "protection": 0, "console": 1,
}

# Per model: field -> value meaning "absent in Proxmox". Fields not listed have no default
# (None stays None).
_ABSENT_MEANS: dict[type[BaseModel], dict[str, Any]] = {
    Container: {"onboot": False, "protection": False, "console": True, "tty": 2,
                "cmode": "tty", "arch": "amd64", "tags": [], "description": "",
                "features": Features(), "rootfs": RootFs()},
    Resources: {"cpulimit": 0.0, "cpuunits": 100},
    RootFs: {"quota": False, "replicate": True},
    Network: {"firewall": False, "link_down": False, "host_managed": False},
    Mount: {"read_only": False, "backup": False, "quota": False, "replicate": True,
            "shared": False, "keepattrs": False},
    Device: {"deny_write": False},
    Features: {"nesting": False, "keyctl": False, "fuse": False, "mknod": False,
               "force_rw_sys": False},
}

# Container fields the API cannot show; the observed side takes the spec's value.
_FROM_SPEC = ("password", "ssh_keys", "lifecycle", "depends_on", "provision")


def canonical(container: Container) -> Container:
    """One spelling per meaning; apply to desired and observed alike. Pure."""
    updates: dict[str, Any] = {}
    if container.tags is not None:
        tags = list(normalize_tags(container.tags))
        if tags != container.tags:
            updates["tags"] = tags
    if container.description is not None:
        notes = normalize_notes(container.description)
        if notes != container.description:
            updates["description"] = notes
    for field in ("nameserver", "searchdomain", "env"):
        if getattr(container, field) is not None and not getattr(container, field):
            updates[field] = None
    return container.model_copy(update=updates) if updates else container


def comparable(desired: Container, observed: Container) -> Container:
    """The observed container restricted to what `desired` manages, defaults filled. Pure."""
    masked = _mask(desired, observed)
    assert isinstance(masked, Container)
    updates: dict[str, Any] = {field: getattr(desired, field) for field in _FROM_SPEC}
    if observed.template is None:  # not recorded on the container: cannot be compared
        updates["template"] = desired.template
    node = desired.node
    if node == "auto" or (isinstance(node, list) and observed.node in node):
        updates["node"] = node
    return masked.model_copy(update=updates)


def _mask(desired: BaseModel, observed: BaseModel) -> BaseModel:
    absent = _ABSENT_MEANS.get(type(desired), {})
    updates: dict[str, Any] = {}
    for field in type(desired).model_fields:
        want, have = getattr(desired, field), getattr(observed, field)
        if want is None:
            updates[field] = None
            continue
        if have is None:
            have = absent.get(field)
        if isinstance(want, BaseModel) and isinstance(have, BaseModel):
            have = _mask(want, have)
        elif isinstance(want, dict) and isinstance(have, dict):
            have = {slot: (_mask(want[slot], value) if slot in want
                           and isinstance(value, BaseModel) else value)
                    for slot, value in have.items()}
        updates[field] = have
    return observed.model_copy(update=updates)
