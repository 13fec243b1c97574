"""Plan-time checks against the cluster: what Proxmox would refuse, found before any call.

Each check is a pure function returning messages; the planner attaches them to the
container's address as plan errors. Checks run only on what a plan would write (a create,
a changed network, a migration target), so a container that runs fine today is never
blocked by a fact the plan does not touch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pxrun.observe.model import Observed
from pxrun.spec.model import Container, Stack


def duplicate_hostnames(stack: Stack) -> dict[str, list[str]]:
    """Container name -> the other containers of the stack with the same hostname."""
    by_host: dict[str, list[str]] = defaultdict(list)
    for name, ct in stack.containers.items():
        by_host[ct.hostname.lower()].append(name)
    return {name: [n for n in names if n != name]
            for names in by_host.values() if len(names) > 1 for name in names}


def vmid_conflict(want: Container, observed: Observed) -> str | None:
    """Why `want`'s fixed vmid cannot be used: another guest holds it."""
    if want.vmid is None:
        return None
    guest = observed.guests.get(want.vmid)
    mine = observed.containers.get(want.name)
    if guest is None or (mine is not None and mine.vmid == want.vmid):
        return None
    owner = next((c.name for c in observed.containers.values() if c.vmid == want.vmid), None)
    if owner is not None:
        return f"vmid {want.vmid} belongs to {owner} of this stack"
    if guest.stack is not None and guest.stack != observed.stack:
        return f"vmid {want.vmid} is used by {guest.type} {guest.name!r} of stack {guest.stack}"
    return (f"vmid {want.vmid} is used by {guest.type} {guest.name!r} on {guest.node}, "
            "which pxrun does not manage")


def missing_bridges(want: Container, node: str, observed: Observed,
                    slots: Iterable[str] | None = None) -> list[str]:
    """Messages for interfaces whose bridge does not exist on `node`."""
    bridges = set(observed.bridges_on(node))
    out = []
    for slot in sorted(want.networks if slots is None else slots):
        net = want.networks.get(slot)
        if net is not None and net.bridge is not None and net.bridge not in bridges:
            have = ", ".join(sorted(bridges)) or "none"
            out.append(f"{slot}: bridge {net.bridge} does not exist on node {node} "
                       f"(it has: {have})")
    return out


def storage_problem(storage: str, node: str, observed: Observed) -> str | None:
    """Why container volumes cannot be put on `storage` on `node`."""
    info = next((s for s in observed.storages_on(node) if s.storage == storage), None)
    if info is None:
        return f"storage {storage} does not exist on node {node}"
    if not info.rootdir:
        return f"storage {storage} on node {node} does not accept container volumes (rootdir)"
    return None


def new_volume_problems(want: Container, node: str, observed: Observed,
                        slots: Iterable[str] | None = None) -> list[str]:
    """Messages for new mount volumes whose storage cannot hold them on `node`."""
    out = []
    for slot in sorted(want.mounts if slots is None else slots):
        mount = want.mounts.get(slot)
        if mount is not None and mount.kind == "new" and mount.storage is not None:
            problem = storage_problem(mount.storage, node, observed)
            if problem:
                out.append(f"{slot}: {problem}")
    return out


def root_only_settings(want: Container, paths: Iterable[str] | None = None) -> list[str]:
    """The settings among `paths` (all of `want` when None) that only root@pam may set
    (reference A6): features other than nesting (any on a privileged container), bind
    mounts, devices, a hookscript."""
    found: set[str] = set()
    for path in _paths(want) if paths is None else paths:
        parts = path.split(".")
        if parts[0] == "features":
            if not want.unprivileged or len(parts) == 1 or parts[1] != "nesting":
                found.add("features (other than nesting)" if want.unprivileged
                          else "features of a privileged container")
        elif parts[0] == "devices":
            found.add("device passthrough")
        elif parts[0] == "hookscript":
            found.add("hookscript")
        elif parts[0] == "mounts" and len(parts) > 1:
            mount = want.mounts.get(parts[1])
            if mount is not None and mount.kind == "bind":
                found.add("bind mounts")
    return sorted(found)


def _paths(want: Container) -> list[str]:
    paths = [f"mounts.{slot}" for slot in want.mounts]
    paths += [f"devices.{slot}" for slot in want.devices]
    if want.hookscript is not None:
        paths.append("hookscript")
    if want.features is not None:
        on = [k for k, v in want.features.model_dump(exclude_none=True).items() if v]
        paths += [f"features.{k}" for k in on]
    return paths
