"""Who may set an option: the conditions under which only root@pam may write a config key.

Why this exists: Proxmox reserves some container options to the `root@pam` *user*, and an
API token is never that user, not even `root@pam!token` (reference A6). The rules are
Proxmox's own `check_ct_modify_config_perm`, one function per option, attached to that
option's row in `options.py`; the planner (routes), doctor (the spec's root-only options)
and nothing else ask them, so the rule is written once.

A rule is asked about one config key that is being written (set or deleted) and answers
with the spec paths that make the write root@pam-only and why, or nothing when a token
may write it. `want` is the container as it should be; `have` as observed (None for a
create, or when only the spec is known, as for doctor). Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pxrun.pve.memo import by_value
from pxrun.spec.model import Container, Features


@dataclass(frozen=True)
class RootNeed:
    """A spec path whose write only root@pam may make, and the kind of option it is."""

    path: str
    what: str  # "device passthrough", "bind mounts", ...: what a plan error names


RootRule = Callable[[str, Container | None, Container | None], list[RootNeed]]
"""(config key, want, have) -> the paths that need root@pam; empty: a token may write it."""

PRIVILEGED_FEATURES = "features of a privileged container"
FEATURES_BUT_NESTING = "features other than nesting"


def hookscript(key: str, want: Container | None, have: Container | None) -> list[RootNeed]:
    """Setting or removing a hook script."""
    return [RootNeed("hookscript", "hookscript")]


def device(key: str, want: Container | None, have: Container | None) -> list[RootNeed]:
    """Any write of a `devN` passthrough, removal included."""
    return [RootNeed(f"devices.{key}", "device passthrough")]


def bind_mount(key: str, want: Container | None, have: Container | None) -> list[RootNeed]:
    """Setting a mount point whose source is a host path (bind or device mount). Removing
    one is a disk change any token with VM.Config.Disk may make (Proxmox checks the type
    of the new value only)."""
    mount = want.mounts.get(key) if want is not None else None
    if mount is not None and mount.kind == "bind":
        return [RootNeed(f"mounts.{key}", "bind mounts")]
    return []


def _flags_on(features: Features | None) -> dict[str, object]:
    if features is None:
        return {}
    return dict(_flags_of(features))


@by_value
def _flags_of(features: Features) -> tuple[tuple[str, object], ...]:
    """The flags that are on, once per distinct value (asked for every create)."""
    return tuple((k, v) for k, v in features.model_dump(exclude_none=True).items() if v)


def features(key: str, want: Container | None, have: Container | None) -> list[RootNeed]:
    """Proxmox's rule for `features`: on a privileged container any change; on an
    unprivileged one a change of the flags that are on, nesting aside (so turning keyctl
    off is as root-only as turning it on)."""
    old = _flags_on(have.features if have is not None else None)
    new = _flags_on(want.features if want is not None else None)
    container = want if want is not None else have
    privileged = container is not None and not container.unprivileged
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if privileged:
        return [RootNeed(f"features.{k}", PRIVILEGED_FEATURES) for k in changed] or (
            [RootNeed("features", PRIVILEGED_FEATURES)])
    return [RootNeed(f"features.{k}", FEATURES_BUT_NESTING) for k in changed if k != "nesting"]
