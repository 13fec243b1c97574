"""An existing container: diff it, and turn the diff into operations by the option rows.

Every field diff is looked up in the rows (`pxrun.pve.config.option_for`); its kind says
what it becomes — a key of a config write (live or pending, its route decided by
`routes.py`), a resize, a mount hot-add or detach, a volume move, a migration, a pool
change, a power transition, re-provisioning of changed steps, or a replace. Nothing here
knows about individual fields: that is the table's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pxrun.observe.model import ObservedContainer
from pxrun.plan import pve9
from pxrun.plan.context import PlanContext
from pxrun.plan.diff import essence_pair, field_diffs, matches_quickly, view
from pxrun.plan.identity import restoration
from pxrun.plan.lifecycle import expects_address, power_tail, taint_of
from pxrun.plan.model import (
    Action,
    AttachMount,
    DetachMount,
    FieldDiff,
    Json,
    Migrate,
    MoveVolume,
    Operation,
    Power,
    Reprovision,
    ResizeVolume,
    ResourceChange,
    SetPool,
    replaced,
)
from pxrun.plan.protection import place_protection
from pxrun.plan.provision import (
    check_needs,
    provision_diff,
    provision_operation,
    restored_fingerprints,
    shown,
)
from pxrun.plan.replace import plan_replace
from pxrun.plan.routes import route_of, route_writes
from pxrun.plan.safety import with_snapshot
from pxrun.plan.secrets import seal, seal_all
from pxrun.plan.validate import missing_bridges, new_volume_problems, storage_problem
from pxrun.pve.config import key_for, option_for, print_key, slot_of
from pxrun.pve.options import ChangeKind
from pxrun.spec.model import Container

K = ChangeKind
_MOUNT_IDENTITY = {"volume", "size"}


@dataclass
class _Work:
    """What the diffs of one container add up to, before it becomes operations."""

    set_keys: set[str] = field(default_factory=set)
    delete_keys: set[str] = field(default_factory=set)
    pending_keys: set[str] = field(default_factory=set)
    mount_slots: set[str] = field(default_factory=set)
    replace_paths: list[str] = field(default_factory=list)
    resizes: list[ResizeVolume] = field(default_factory=list)
    moves: list[MoveVolume] = field(default_factory=list)
    attach: list[AttachMount] = field(default_factory=list)
    detach: list[DetachMount] = field(default_factory=list)
    migrate: bool = False
    pool: bool = False
    raw: bool = False  # raw lxc lines or the idmap: the config file, over node SSH
    ha: bool = False  # the HA resource
    touched: list[str] = field(default_factory=list)  # paths, for the reason
    values: dict[str, str] = field(default_factory=dict)  # printed by the plan (ownership)
    restored: list[str] = field(default_factory=list)  # marker, tag: for the reason


def _collect(diffs: list[FieldDiff]) -> _Work:
    work = _Work()
    for diff in diffs:
        row = option_for(diff.path)
        kind, key = row.kind, key_for(diff.path)
        if kind is K.NOT_COMPARED:
            continue
        work.touched.append(diff.path)
        if kind is K.REPLACE:
            work.replace_paths.append(row.path)
        elif kind in (K.LIVE, K.PENDING, K.DEVICE) and key is not None:
            removed = diff.op == "remove" and slot_of(diff.path) is not None and (
                diff.path.count(".") == 1)
            (work.delete_keys if removed else work.set_keys).add(key)
            if kind is not K.LIVE:
                work.pending_keys.add(key)
        elif kind is K.RESIZE:
            if diff.new < diff.old:
                work.replace_paths.append(row.path)
            else:
                work.resizes.append(ResizeVolume(disk="rootfs", size_gib=diff.new))
        elif kind is K.MOUNT:
            work.mount_slots.add(slot_of(diff.path) or "")
        elif kind is K.MOVE_VOLUME:
            work.moves.append(MoveVolume(volume="rootfs", storage=diff.new))
        work.migrate |= kind is K.MIGRATE
        work.pool |= kind is K.POOL
        work.raw |= kind is K.RAW
        work.ha |= kind is K.HA
    return work


def _mounts(ctx: PlanContext, work: _Work, want: Container, have: Container,
            observed: ObservedContainer) -> None:
    """Mount point slots: hot-add, detach, resize, move, or a (pending) option change."""
    site = ctx.site(observed)
    for slot in sorted(work.mount_slots):
        new, old = want.mounts.get(slot), have.mounts.get(slot)
        if old is None and new is not None:
            value = seal(print_key(slot, want, site) or "", ctx.known)
            work.attach.append(AttachMount(
                slot=slot, value=value, route=route_of(ctx, slot, value, want, observed.future),
                storage=new.storage if new.kind == "new" else None))
            continue
        if new is None:
            work.detach.append(DetachMount(slot=slot, volid=observed.volids.get(slot)))
            work.pending_keys.add(slot)
            continue
        assert old is not None
        same_volume = (old.kind == new.kind == "new") or (
            old.kind == new.kind == "volume" and old.volume == new.volume)
        if not same_volume:
            work.set_keys.add(slot)
            work.pending_keys.add(slot)
            continue
        if old.storage != new.storage and new.storage is not None:
            work.moves.append(MoveVolume(volume=slot, storage=new.storage))
        if new.size_gib is not None and old.size_gib is not None and new.size_gib != old.size_gib:
            if new.size_gib > old.size_gib:
                work.resizes.append(ResizeVolume(disk=slot, size_gib=new.size_gib))
            else:
                ctx.error(want.name, f"{slot} cannot shrink from {old.size_gib} to "
                          f"{new.size_gib} GiB: Proxmox only grows volumes",
                          "keep the size, or move the data to a new mount point")
        if (old.model_dump(exclude=_MOUNT_IDENTITY)
                != new.model_dump(exclude=_MOUNT_IDENTITY)):
            work.set_keys.add(slot)
            work.pending_keys.add(slot)


def _validate(ctx: PlanContext, work: _Work, want: Container, node: str) -> None:
    """Check what this update writes, on the node it will be on."""
    nets = list(want.networks) if work.migrate else [
        k for k in work.set_keys if k.startswith("net")]
    for message in missing_bridges(want, node, ctx.bridges_on(node), nets) if nets else ():
        ctx.error(want.name, message)
    new_slots = [a.slot for a in work.attach]
    for message in new_volume_problems(want, node, ctx.observed, new_slots):
        ctx.error(want.name, message)
    for move in work.moves:
        problem = storage_problem(move.storage, node, ctx.observed)
        if problem:
            ctx.error(want.name, f"{move.volume}: {problem}")


def _migration(ctx: PlanContext, want: Container, observed: ObservedContainer) -> Migrate | None:
    if isinstance(want.node, str) and want.node != "auto":
        hard, _, _ = ctx.placer.check(want, want.node, need_template=False)
        if hard:
            ctx.error(want.name, f"cannot migrate to {want.node}: {', '.join(hard)}")
            return None
        ctx.placer.book(want, want.node)
        target = want.node
    else:
        placed = ctx.placer.place(want, need_template=False)
        if isinstance(placed, str):
            ctx.error(want.name, placed)
            return None
        target = placed.node
    return Migrate(source=observed.node, target=target, restart=observed.status == "running")


def plan_existing(ctx: PlanContext, desired: Container,
                  observed: ObservedContainer) -> ResourceChange:
    """The change for a container that the spec and the cluster both have."""
    provision = provision_operation(ctx, desired, observed, check=False)
    owned = observed.marked and observed.tagged
    spelled, quick = ctx.replicas.canonical(desired)
    updated = pve9.image_update(ctx, spelled, observed)
    if (provision is None and owned and updated is None
            and not (observed.tainted or observed.pending or desired.name in ctx.options.replace)
            and matches_quickly(spelled, observed, quick)):
        return _no_op(ctx, desired, observed)  # the common case, kept cheap (bench_plan.py)
    want, have = essence_pair(desired, observed)
    secrets = ctx.view_secrets()
    before = view(have, None, secrets)
    after = view(want, None, secrets)
    diffs = field_diffs(before, after)
    if want.node != have.node and pve9.moved_by_ha(ctx, want, observed):
        diffs = [d for d in diffs if d.path != "node"]  # it stays where HA put it
    if updated is not None:
        diffs.append(updated)
    work = _collect(diffs)
    forced = want.name in ctx.options.replace
    if work.replace_paths or forced:
        paths = tuple(dict.fromkeys(work.replace_paths))
        why = (f"{', '.join(paths)} cannot change in place" if paths
               else "replacement requested")
        if updated is not None and paths == ("image",):
            why = "image updated: " + pve9.update_words(updated)
        return plan_replace(ctx, desired, want, observed, replace_paths=paths, before=before,
                            diffs=tuple(diffs), reason=why)
    if provision is not None:
        check_needs(ctx, desired, provision)
        diffs.append(provision_diff(provision))
    # A marker restored (Notes replaced in the GUI) records the spec's steps as run.
    restore = restoration(ctx, want, observed, restored_fingerprints(ctx, desired, observed))
    work.values, work.restored = restore.values, restore.what
    _mounts(ctx, work, want, have, observed)
    return _assemble(ctx, want, observed, work, before, after, [*diffs, *restore.diffs],
                     provision)


def _no_op(ctx: PlanContext, want: Container, observed: ObservedContainer) -> ResourceChange:
    """A no-op change: one validated per restart policy and dependencies, copied with each
    container's address and ids (a converged plan makes one per container)."""
    key = (ctx.restart_policy(want), tuple(want.depends_on))
    made = ctx.no_ops.get(key)
    if made is None:
        made = ctx.no_ops[key] = ResourceChange(
            address=want.name, action=Action.NO_OP, node=observed.node, vmid=observed.vmid,
            digest=observed.digest, restart_policy=key[0], depends_on=key[1])
    return replaced(made, {"address": want.name, "node": observed.node,
                           "vmid": observed.vmid, "digest": observed.digest})


def _assemble(ctx: PlanContext, want: Container, observed: ObservedContainer, work: _Work,
              before: dict[str, Json], after: dict[str, Json], diffs: list[FieldDiff],
              provision: Reprovision | None) -> ResourceChange:
    """Order the operations: migrate, config, mounts, resizes, pool, moves, power, provision."""
    ops: list[Operation] = []
    node = observed.node
    if work.migrate and (migration := _migration(ctx, want, observed)) is not None:
        ops.append(migration)
        node = migration.target
    _validate(ctx, work, want, node)
    running = observed.status == "running"
    want_running = want.state == "running"
    if work.set_keys or work.delete_keys or work.values:
        site = ctx.site(observed)
        printed = {k: text for k in sorted(work.set_keys)
                   if (text := print_key(k, want, site)) is not None}
        printed = dict(sorted({**printed, **work.values}.items()))
        api, node_write = route_writes(ctx, want, observed.future,
                                       seal_all(printed, ctx.known), work.delete_keys)
        pending = work.pending_keys if running else set()
        if api:
            ops.append(api.operation("api", pending))
        if node_write:
            ops.append(node_write.operation("node", pending))
    if work.raw and (raw := pve9.raw_operation(ctx, want, ctx.site(observed),
                                               running=running)) is not None:
        ops.append(raw)
        if running:
            work.pending_keys.add("lxc")
    if work.ha and (ha := pve9.ha_update(want, observed.current.ha)) is not None:
        ops.append(ha)
    if "env" in work.set_keys:
        pve9.image_checks(ctx, want, made=False, env_changed=True)
    pve9.version_checks(ctx, want, work.set_keys)
    ops += [*work.attach, *work.detach, *work.resizes]
    if work.pool:
        ops.append(SetPool(before=observed.current.pool, after=want.pool))
    if work.moves:
        if running:
            ops.append(Power(action="stop"))
            running = False
        ops += work.moves
    restart_required = running and want_running and bool(work.pending_keys or observed.pending)
    policy = ctx.restart_policy(want)
    address = expects_address(want)
    restart = Power(action="restart", policy=policy,
                    await_address="wait" if address else "no") if restart_required else None
    tail = power_tail(running, want_running, provision, restart, address=address)
    if not ops and restart is not None and tail == [restart] and policy == "never":
        tail = []  # only a restart that the policy forbids: nothing to do, but say so
        ctx.warn(want.name, "pending changes await a restart ("
                 + ", ".join(sorted(observed.pending)) + "); the restart policy is never")
    ops = place_protection(ctx, want.name, ops + tail,
                           protected_now=bool(observed.future.protection),
                           wanted=want.protection)
    ops = with_snapshot(ctx, want, observed, ops)
    return ResourceChange(
        address=want.name, action=Action.UPDATE if ops else Action.NO_OP, node=observed.node,
        vmid=observed.vmid, digest=observed.digest, before=before if ops else None,
        after=after if ops else None,
        diffs=tuple(diffs), reason=_reason(work, restart_required, observed, provision),
        restart_required=restart_required, restart_policy=policy, operations=tuple(ops),
        depends_on=tuple(want.depends_on), taint=taint_of(observed),
        pending=tuple(sorted(observed.pending - work.set_keys - work.delete_keys))
        if ops else ())


def _reason(work: _Work, restart: bool, observed: ObservedContainer,
            provision: Reprovision | None) -> str:
    """One line for humans; apply never reads it."""
    parts = []
    if work.restored:
        parts.append("restore its pxrun " + " and ".join(work.restored))
    if work.touched:
        parts.append("changed: " + ", ".join(dict.fromkeys(work.touched)))
    if observed.tainted:
        parts.append("tainted by a failed apply")
    if provision is not None:
        parts.append("provision: " + ", ".join(shown(provision.steps)))
    if restart:
        parts.append("restart needed for pending changes")
    return "; ".join(parts)
