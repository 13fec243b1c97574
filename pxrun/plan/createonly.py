"""`lifecycle.create_only`: fields a container gets when it is created, and never after.

Some fields cannot be read back from Proxmox: the root password, ssh keys, the template a
container was made from. `pxrun import` cannot know them, and a user who fills them in
later must not get a replacement (peers.md #6: imported containers replaced because an
attribute cannot be read back) or provisioning re-run on a container that runs fine. A
create-only path is therefore, on an existing container, compared as the cluster has it
(like `ignore_changes`) and its provisioning step is held to what the marker recorded. A
create or a replace uses everything. Pure.
"""

from __future__ import annotations

from pxrun.plan.fingerprint import STEPS
from pxrun.spec.model import Container

_ROOT = frozenset({"root"})
_STEPS_OF = {"password": _ROOT, "ssh_keys": _ROOT, "provision.ssh_keys": _ROOT,
             "provision": frozenset(STEPS)}


def create_only_steps(want: Container) -> frozenset[str]:
    """The provisioning steps fed by `want`'s create-only paths."""
    out: set[str] = set()
    for path in want.lifecycle.create_only:
        parts = path.split(".")
        if path in _STEPS_OF or ".".join(parts[:2]) in _STEPS_OF:
            out |= _STEPS_OF.get(path) or _STEPS_OF[".".join(parts[:2])]
        elif parts[0] == "provision" and len(parts) > 1 and parts[1] in STEPS:
            out.add(parts[1])
    return frozenset(out)


def existing_steps(want: Container, steps: dict[str, str],
                   recorded: dict[str, str] | None) -> dict[str, str]:
    """The steps an existing container is held to: a create-only step counts as what ran
    (its recorded hash), or is left out when nothing was recorded."""
    fixed = create_only_steps(want)
    if not fixed:
        return steps
    ran = recorded or {}
    held = {name: value for name, value in steps.items() if name not in fixed}
    held.update({name: ran[name] for name in fixed if name in ran})
    return {name: held[name] for name in STEPS if name in held}
