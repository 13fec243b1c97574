"""A node that stopped answering: which of its containers may be recreated elsewhere.

A node that does not answer makes its containers *unknown* (DESIGN §10): the planner
neither creates nor deletes anything because of them. `pxrun watch` adds one opt-in
exception, decided here and nowhere else: after the node has been lost for longer than the
watcher's timeout (the caller owns the clock and passes `lost_nodes`), a container whose
spec says `lifecycle.on_node_lost: recreate` is planned as a create on another node — but
only when nothing of value stays behind on the lost node, and only when the user has
confirmed that the old node cannot still be running it (`fence_confirmed`): two copies of
one service on one network is worse than an outage.

Never recreated, whatever the spec says: an HA resource (HA recovers it, same vmid, after
its own fence) and a container whose shared data volume is its own (Proxmox frees it with
the old copy). When the lost node answers again, the old copy is a stale generation of
the container: the new copy's marker names it, and `plan/stale.py` plans its removal.

Pure, like the planner: `plan_node_lost` wraps `plan()` with an Observed in which the
recreatable containers are no longer unknown, so the planner's own create path (placement
on an online node, a fresh vmid, validation) decides the route, and the change's reason
says why it happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pxrun.observe.model import GuestRef, Observed, Recreated
from pxrun.plan.model import Action, CreateContainer, Plan, ResourceChange
from pxrun.plan.options import PlanOptions
from pxrun.plan.planner import plan
from pxrun.pve.parts import is_own_volume
from pxrun.spec.model import Container, Stack


@dataclass(frozen=True)
class NodeLostDecision:
    """What happens to one unknown container of a lost node, and why (for the log)."""

    address: str | None  # the spec name, when it could be told
    vmid: int
    node: str
    recreate: bool
    reason: str


def _spec_name(guest: GuestRef, stack: Stack, names: Mapping[int, str]) -> str | None:
    """The spec entry an unknown guest is: remembered from an earlier observation, else by
    a fixed vmid or the hostname (its marker cannot be read while the node is down)."""
    if guest.vmid in names and names[guest.vmid] in stack.containers:
        return names[guest.vmid]
    for name, want in stack.containers.items():
        if want.vmid == guest.vmid or (guest.name and want.hostname == guest.name):
            return name
    return None


def _left_behind(want: Container, observed: Observed, lost: GuestRef) -> str | None:
    """Why recreating `want` elsewhere would lose or split data; None when it would not.

    A bind mount and a volume pxrun allocates (`storage:GiB`) belong to the old node or
    the old container: a new container would start with an empty copy. An existing volume
    (by volume id) on a storage every node shares is attached again by the new container
    — unless it is the lost container's own (`vm-<its vmid>-disk-N`): Proxmox frees a
    container's own volumes when it is deleted, so removing the stale copy later (by
    pxrun or by hand in the GUI) would destroy the data the new copy runs on.
    """
    shared = {s.storage for s in observed.storages if s.shared}
    for slot, mount in sorted(want.mounts.items()):
        if mount.kind == "bind":
            return f"{slot} binds {mount.host_path} of the lost node"
        if mount.kind == "new":
            return (f"{slot} is a volume allocated for the old container ({mount.volume}); "
                    "a new container would start with an empty one")
        if mount.storage not in shared:
            return f"{slot} lives on storage {mount.storage}, which is not shared"
        if mount.volume is not None and is_own_volume(mount.volume, lost.vmid):
            return (f"{slot} is {mount.volume}, a volume of the lost container {lost.vmid} "
                    "itself, which Proxmox destroys with that copy once it is removed; "
                    "keep shared data on a volume no container owns")
    return None


def node_lost_decisions(desired: Stack, observed: Observed, lost_nodes: frozenset[str], *,
                        fence_confirmed: bool,
                        names: Mapping[int, str] | None = None) -> tuple[NodeLostDecision, ...]:
    """One decision per unknown container on a lost node, in vmid order. Pure."""
    out: list[NodeLostDecision] = []
    for guest in observed.unknown:
        if guest.node not in lost_nodes:
            continue
        name = _spec_name(guest, desired, names or {})
        want = desired.containers.get(name) if name is not None else None

        def decide(recreate: bool, reason: str, guest: GuestRef = guest,
                   name: str | None = name) -> None:
            out.append(NodeLostDecision(address=name, vmid=guest.vmid, node=guest.node,
                                        recreate=recreate, reason=reason))

        if name is not None and name in observed.containers:
            again = observed.containers[name]
            decide(False, f"already recreated: vmid {again.vmid} on node {again.node}; when "
                          f"{guest.node} answers again the old copy is stale and the plan "
                          "removes it (watch: with --allow delete)")
        elif guest.hastate is not None:
            decide(False, f"HA manages it (state {guest.hastate}): HA recovers it on another "
                          "node; pxrun never recreates or moves an HA resource")
        elif want is None:
            decide(False, "not in the spec (or its name cannot be told while the node is "
                          "down): alert only")
        elif want.lifecycle.on_node_lost != "recreate":
            decide(False, "lifecycle.on_node_lost is alert: alert only")
        elif (problem := _left_behind(want, observed, guest)) is not None:
            decide(False, f"on_node_lost is recreate, but {problem}: alert only")
        elif want.vmid is not None:
            decide(False, f"on_node_lost is recreate, but its vmid {want.vmid} is fixed in "
                          f"the spec and still held by node {guest.node}: alert only")
        elif not fence_confirmed:
            decide(False, f"on_node_lost is recreate, but node {guest.node} may still run it: "
                          "recreate only with --fence-confirmed once the node is fenced")
        else:
            decide(True, f"node {guest.node} is lost and fenced; on_node_lost is recreate and "
                         "no data stays behind: recreate on another node")
    return tuple(out)


def plan_node_lost(desired: Stack, observed: Observed, options: PlanOptions,
                   decisions: tuple[NodeLostDecision, ...], *, at: str = "") -> Plan:
    """`plan()` in which the containers decided for recreation are gone from their lost
    node, so the planner creates them on another one; their reason says why, and each
    create records in the new copy's marker which copy it stands in for and when (`at`,
    the caller's clock), so that copy reads as stale once its node answers again. Pure."""
    again = {d.vmid: d for d in decisions if d.recreate}
    if not again:
        return plan(desired, observed, options)
    seen = observed.model_copy(update={
        "unknown": tuple(g for g in observed.unknown if g.vmid not in again)})
    result = plan(desired, seen, options)
    why = {d.address: d for d in again.values()}
    changes = tuple(
        _recreating(c, why[c.address], at)
        if c.address in why and c.action is Action.CREATE else c
        for c in result.changes)
    return result.model_copy(update={"changes": changes})


def _recreating(change: ResourceChange, decision: NodeLostDecision, at: str) -> ResourceChange:
    lost = Recreated(vmid=decision.vmid, node=decision.node, at=at)
    ops = tuple(op.model_copy(update={"recreates": lost}) if isinstance(op, CreateContainer)
                else op for op in change.operations)
    return change.model_copy(update={"reason": f"{decision.reason} ({change.reason})",
                                     "operations": ops})
