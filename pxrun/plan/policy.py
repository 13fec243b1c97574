"""The field-policy table: for every spec field, how pxrun carries out a change of it.

One declarative table (STYLE.md #5): adding a field to the spec means adding a row here,
never a branch in the planner. The kinds follow Proxmox's own semantics (reference A3.2:
what a running container applies live and what stays pending until the next start) and
DESIGN §6 — chosen so that no change a peer handles by replacing the container (mount
points, ssh keys, node, storage) costs the user their data. Only `REPLACE` rows destroy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChangeKind(StrEnum):
    """How a change is carried out."""

    LIVE = "live"  # PUT config; a running container applies it at once
    PENDING = "pending"  # PUT config; a running container holds it until restarted
    RESIZE = "resize"  # grow a volume online; a shrink replaces (rootfs) or is an error
    MOUNT = "mount"  # mp slot: add = hot-add, remove = detach, size/storage/options by kind
    DEVICE = "device"  # dev slot: PUT config, pending on a running container
    MIGRATE = "migrate"  # node: migrate (restart mode)
    MOVE_VOLUME = "move_volume"  # storage of rootfs: move_volume with the container stopped
    POOL = "pool"  # pool membership (not a config key)
    POWER = "power"  # desired power state
    PROVISION = "provision"  # re-run changed provisioning steps inside the container
    REPLACE = "replace"  # cannot change in place: delete-then-create
    NOT_COMPARED = "not-compared"  # no cluster-side value (identity, lifecycle, ordering)


@dataclass(frozen=True)
class FieldPolicy:
    """One row: a field path (`*` stands for a slot like net0), its change kind, the
    Proxmox config key it is written to (`{slot}` = the slot's own key), and whether
    Proxmox lets only root@pam set it (reference A6)."""

    path: str
    kind: ChangeKind
    pve_key: str | None = None
    root_only: bool = False


K = ChangeKind
FIELD_POLICIES: tuple[FieldPolicy, ...] = (
    # live on a running container (A3.2: fastplug options, cgroup values, net hotplug)
    FieldPolicy("hostname", K.LIVE, "hostname"),
    FieldPolicy("resources.cores", K.LIVE, "cores"),
    FieldPolicy("resources.memory", K.LIVE, "memory"),
    FieldPolicy("resources.swap", K.LIVE, "swap"),
    FieldPolicy("resources.cpulimit", K.LIVE, "cpulimit"),
    FieldPolicy("resources.cpuunits", K.LIVE, "cpuunits"),
    FieldPolicy("tags", K.LIVE, "tags"),
    FieldPolicy("description", K.LIVE, "description"),
    FieldPolicy("onboot", K.LIVE, "onboot"),
    FieldPolicy("startup", K.LIVE, "startup"),
    FieldPolicy("protection", K.LIVE, "protection"),
    FieldPolicy("hookscript", K.LIVE, "hookscript", root_only=True),
    FieldPolicy("networks.*", K.LIVE, "{slot}"),
    # pending until the next start
    FieldPolicy("features", K.PENDING, "features", root_only=True),
    FieldPolicy("nameserver", K.PENDING, "nameserver"),
    FieldPolicy("searchdomain", K.PENDING, "searchdomain"),
    FieldPolicy("timezone", K.PENDING, "timezone"),
    FieldPolicy("console", K.PENDING, "console"),
    FieldPolicy("tty", K.PENDING, "tty"),
    FieldPolicy("cmode", K.PENDING, "cmode"),
    FieldPolicy("ostype", K.PENDING, "ostype"),
    FieldPolicy("env", K.PENDING, "env"),
    FieldPolicy("rootfs", K.PENDING, "rootfs"),
    FieldPolicy("devices.*", K.DEVICE, "{slot}", root_only=True),
    # volumes, placement, power
    FieldPolicy("resources.disk", K.RESIZE, "rootfs"),
    FieldPolicy("mounts.*", K.MOUNT, "{slot}"),
    FieldPolicy("storage", K.MOVE_VOLUME, "rootfs"),
    FieldPolicy("node", K.MIGRATE),
    FieldPolicy("pool", K.POOL),
    FieldPolicy("state", K.POWER),
    # inside the container: never a replace (peers.md #4)
    FieldPolicy("provision", K.PROVISION),
    FieldPolicy("password", K.PROVISION),
    FieldPolicy("ssh_keys", K.PROVISION),
    # only these destroy the container
    FieldPolicy("template", K.REPLACE),
    FieldPolicy("unprivileged", K.REPLACE),
    FieldPolicy("arch", K.REPLACE),
    FieldPolicy("vmid", K.REPLACE),
    # identity and pxrun-side settings
    FieldPolicy("name", K.NOT_COMPARED),
    FieldPolicy("lifecycle", K.NOT_COMPARED),
    FieldPolicy("depends_on", K.NOT_COMPARED),
)

_BY_PATH = {row.path: row for row in FIELD_POLICIES}
SLOT_MAPS = frozenset({"networks", "mounts", "devices"})


def policy_for(path: str) -> FieldPolicy:
    """The row governing a dotted diff path: `networks.net0.ip` -> the `networks.*` row,
    `features.nesting` -> `features`. KeyError names a field that has no row (a test
    keeps every spec field covered)."""
    parts = path.split(".")
    if parts[0] in SLOT_MAPS and len(parts) > 1:
        parts[1] = "*"
    for end in range(len(parts), 0, -1):
        row = _BY_PATH.get(".".join(parts[:end]))
        if row is not None:
            return row
    raise KeyError(f"no field policy for {path!r}")


def slot_of(path: str) -> str | None:
    """`networks.net1.ip` -> `net1`; None for a path outside the slot maps."""
    parts = path.split(".")
    return parts[1] if parts[0] in SLOT_MAPS and len(parts) > 1 else None


def pve_key_for(path: str) -> str | None:
    """The Proxmox config key a change at `path` is written to, if any."""
    row = policy_for(path)
    if row.pve_key == "{slot}":
        return slot_of(path)
    return row.pve_key
