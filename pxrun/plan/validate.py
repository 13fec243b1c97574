"""Plan-time checks against the cluster: what Proxmox would refuse, found before any call.

Each check is a pure function returning messages; the planner attaches them to the
container's address as plan errors. Checks run only on what a plan would write (a create,
a changed network, a migration target), so a container that runs fine today is never
blocked by a fact the plan does not touch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable

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


def missing_bridges(want: Container, node: str, bridges: Collection[str],
                    slots: Iterable[str] | None = None) -> list[str]:
    """Messages for interfaces whose bridge does not exist on `node`, which has `bridges`
    (`PlanContext.bridges_on`)."""
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
