"""`lifecycle.create_only`: fields a container gets when it is created, and never after.

Some fields cannot be read back from Proxmox: the root password, ssh keys, the template a
container was made from. `pxrun import` cannot know them, and a user who fills them in
later must not get a replacement (peers.md #6: imported containers replaced because an
attribute cannot be read back) or provisioning re-run on a container that runs fine. A
create-only path is therefore, on an existing container, compared as the cluster has it
(like `ignore_changes`), and the provisioning steps it feeds are held to what the marker
recorded: `password` -> the password step, `ssh_keys` and `provision.ssh_keys` -> root's
keys, `provision.<field>` -> that field's steps (`users` -> every `users[...]`),
`provision` -> all. A create or a replace uses everything. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pxrun.spec.model import Container
from pxrun.spec.steps import KINDS, Step, label_id

_KINDS_OF: dict[str, frozenset[str]] = {
    "password": frozenset({"password"}), "ssh_keys": frozenset({"ssh_keys"}),
    "provision.ssh_keys": frozenset({"ssh_keys"}), "provision": frozenset(KINDS)}
_FIELD_KIND = {"wait_network": "network", "locale": "locale", "packages": "packages",
               "users": "users", "files": "files", "docker": "docker",
               "tailscale": "tailscale", "run": "run"}


def create_only_kinds(want: Container) -> frozenset[str]:
    """The kinds of provisioning steps (`spec.steps.KINDS`) fed by create-only paths."""
    out: set[str] = set()
    for path in want.lifecycle.create_only:
        parts = path.split(".")
        head = ".".join(parts[:2])
        if path in _KINDS_OF or head in _KINDS_OF:
            out |= _KINDS_OF.get(path) or _KINDS_OF[head]
        elif parts[0] == "provision" and len(parts) > 1 and parts[1] in _FIELD_KIND:
            out.add(_FIELD_KIND[parts[1]])
    return frozenset(out)


def held_steps(want: Container, steps: Sequence[Step], fingerprints: Mapping[str, str],
               recorded: Mapping[str, str] | None) -> tuple[list[Step], dict[str, str]]:
    """The steps an existing container is held to, with their fingerprints: a create-only
    step counts as what ran (its recorded fingerprint: it never runs again), or is left
    out when nothing was recorded."""
    fixed = create_only_kinds(want)
    if not fixed:
        return list(steps), dict(fingerprints)
    ran = recorded or {}
    kept: list[Step] = []
    held: dict[str, str] = {}
    for step in steps:
        if step.kind not in fixed:
            kept.append(step)
            if step.label in fingerprints:
                held[step.label] = fingerprints[step.label]
        elif label_id(step.label) in ran:
            kept.append(step)
            held[step.label] = ran[label_id(step.label)]
    return kept, held
