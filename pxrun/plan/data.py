"""Data volumes: what a replace hands to the new container, what a delete destroys.

A volume mount point (`mpN` with `volume:`, a disk allocated for the container) holds data,
and so does an unused disk kept from one (`unusedN`, what a detach leaves). A replace makes
a new container from its template; nothing in the old one would survive its delete. So,
unless the spec says `lifecycle: {data: discard}` or the run `--discard-data`, the plan hands
every data volume over (DESIGN §7, "data volumes are data"):

    stop the old container -> create the new one (without those mount points) ->
    delete the old one's snapshots (Proxmox refuses to reassign a volume a snapshot uses)
    -> `move_volume` + `target-vmid` for each volume (renamed for its new owner) ->
    delete the old one -> start the new one

Both must exist at once, so the new one gets its own vmid (a spec that fixes the vmid
cannot keep data through a replace: a plan error says what to do), and both must be on one
node (a replace that also moves nodes migrates the old one first). A slot the spec keeps as
a new volume gets its volume back, grown or moved when the spec says so; a slot the spec
drops, and every unused disk, arrive as `unusedN` (kept, as a detach keeps them). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pxrun.observe.model import ObservedContainer
from pxrun.plan.context import PlanContext
from pxrun.plan.model import (
    DataVolume,
    DeleteSnapshots,
    MoveVolume,
    Operation,
    ReassignVolume,
    ResizeVolume,
)
from pxrun.pve.parts import is_own_volume, print_mount
from pxrun.spec.model import Container, Mount

_VOLID_MARK = "\0volid"  # printed in the volume's place, cut off again: the options only


def data_volumes(observed: ObservedContainer) -> list[DataVolume]:
    """The data volumes `observed` holds: its own mount point volumes, its unused disks."""
    found = [DataVolume(slot=slot, volid=observed.volids.get(slot), size_gib=mount.size_gib)
             for slot, mount in sorted(observed.current.mounts.items(),
                                       key=lambda item: int(item[0][2:]))
             if mount.kind == "new" and slot in observed.volids]
    found += [DataVolume(slot=slot, volid=volid)
              for slot, volid in sorted(observed.unused_slots.items(),
                                        key=lambda item: int(item[0][6:]))
              if is_own_volume(volid, observed.vmid)]
    return found


def discarding(ctx: PlanContext, want: Container | None) -> bool:
    """Whether data volumes may be destroyed: `--discard-data` or `lifecycle.data: discard`."""
    return ctx.options.discard_data or (want is not None and want.lifecycle.data == "discard")


@dataclass
class Carry:
    """How a replace keeps the data: the operations on the new container (after its create),
    and the mount point slots it must be created without."""

    operations: list[Operation] = field(default_factory=list)
    slots: set[str] = field(default_factory=set)


def _options(mount: Mount) -> str:
    """A mount point's options as Proxmox prints them, without the volume and its size."""
    text = print_mount(mount.model_copy(update={"size": None}), volid=_VOLID_MARK, size="0")
    parts = [p for p in text.split(",")[1:] if not p.startswith("size=")]
    return ",".join(parts)


def carry_operations(ctx: PlanContext, want: Container, observed: ObservedContainer,
                     node: str) -> Carry:
    """The reassigns (and grows and moves) that hand `observed`'s data volumes to the new
    container on `node`; errors for what cannot be kept."""
    carry = Carry()
    volumes = data_volumes(observed)
    if not volumes:
        return carry
    carry.operations.append(DeleteSnapshots(node=node, vmid=observed.vmid))
    unused = 0
    reshape: list[Operation] = []  # after every reassign: a move leaves its old copy as
    # an unusedN of the new container, which must not take a key a reassign still needs
    for volume in volumes:
        old = observed.current.mounts.get(volume.slot)
        new = want.mounts.get(volume.slot)
        kept = old is not None and new is not None and new.kind == "new"
        if kept:
            assert old is not None and new is not None
            options = _options(new) if _options(new) != _options(old) else None
            carry.slots.add(volume.slot)
            carry.operations.append(ReassignVolume(
                node=node, source_vmid=observed.vmid, volume=volume.slot,
                target_slot=volume.slot, size_gib=volume.size_gib, options=options))
            reshape += _reshape(ctx, want.name, volume, new)
        else:
            carry.operations.append(ReassignVolume(
                node=node, source_vmid=observed.vmid, volume=volume.slot,
                target_slot=f"unused{unused}", size_gib=volume.size_gib))
            unused += 1
    carry.operations += reshape
    return carry


def _reshape(ctx: PlanContext, address: str, volume: DataVolume,
             new: Mount) -> list[Operation]:
    """Grow or move a handed-over volume as the spec says (never shrink: an error)."""
    ops: list[Operation] = []
    size, storage = new.size_gib, new.storage
    old_storage = (volume.volid or "").split(":", 1)[0]
    if size is not None and volume.size_gib is not None and size != volume.size_gib:
        if size < volume.size_gib:
            ctx.error(address, f"{volume.slot} cannot shrink from {volume.size_gib} to {size} "
                               "GiB: Proxmox only grows volumes",
                      "keep the size, or move the data to a new mount point")
        else:
            ops.append(ResizeVolume(disk=volume.slot, size_gib=size))
    if storage is not None and old_storage and storage != old_storage:
        ops.append(MoveVolume(volume=volume.slot, storage=storage))
    return ops


def keeps_data_problem(want: Container, observed: ObservedContainer) -> str | None:
    """Why the data of `observed` cannot be handed to a replacement of `want`, if so."""
    if want.vmid is not None:
        return (f"the spec fixes vmid {want.vmid}, but the new container needs a vmid of its "
                "own while the old one hands over its data volumes")
    return None


def destroyed_words(volumes: list[DataVolume]) -> str:
    """`mp0 (3 GiB), unused0` for a message."""
    return ", ".join(f"{v.slot} ({v.size_gib} GiB)" if v.size_gib is not None else v.slot
                     for v in volumes)
