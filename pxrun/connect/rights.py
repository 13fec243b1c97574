"""What an API token needs, in one table: every endpoint pxrun calls, for which command, and
the privileges on which ACL paths Proxmox checks for it.

Why a table of endpoints rather than a list of privileges: the privileges are Proxmox's
permission rules for the calls pxrun makes (the API schema's `permissions` of each endpoint,
and for create and `PUT config` pve-container's per-option checks, reference A6), so they
are derived from the calls and a test holds each row to the schema. Everything else is
computed from here: the privilege list of each mode (the README's `pveum` recipe and the
simulator's least-privilege token follow it; tests compare), and what `pxrun doctor`
checks for a spec (`requirements`).

Modes, each including the one before:
- `read`: `plan`, `drift`, `list`, `export`, `doctor` (and `watch` without `--apply`);
- `apply`: `apply`, `destroy`, `create`, `force-unlock`, `watch --apply`;
- `provision`: apply with provisioning (node addresses from `/cluster/status`; the steps
  themselves run over node SSH as root, which no token can grant).

A need is `PRIVILEGE@PATH`; `A|B@PATH` means either. A path's `{placeholder}` is filled
from the spec (`{storage}` -> every storage it allocates on, `{bridge}` -> every bridge it
attaches to, `{template_storage}` -> where its templates are, `{privileged}` -> `/` when a
container is privileged); without a spec, or where the spec leaves it open (a template
shorthand may be on any storage), it becomes the area (`/storage`). Options that only
root@pam may set are not privileges: `pxrun.pve.config.root_only_options` lists them.

Pure: reads a stack and `GET /access/permissions` answers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Mode(IntEnum):
    """What the token is for; a mode needs what the ones before it need."""

    READ = 1
    APPLY = 2
    PROVISION = 3

    @property
    def label(self) -> str:
        return self.name.lower()


COMMANDS: Mapping[str, str] = {
    "read": "plan, drift, list, doctor",
    "apply": "apply, destroy, create",
    "provision": "apply with provisioning",
}
"""Mode label -> the commands that need it, for messages."""


@dataclass(frozen=True)
class Call:
    """An endpoint pxrun calls: the first mode that calls it, what Proxmox checks, and what
    pxrun calls it for (a few words: doctor lists them). `needs` is empty where the schema
    says `user: all` and nothing is filtered that pxrun relies on (own tasks, the version)."""

    method: str
    path: str
    mode: Mode
    needs: tuple[str, ...]
    why: str


R, A, P = Mode.READ, Mode.APPLY, Mode.PROVISION
_VM_CONFIG = ("VM.Config.CPU@/vms/{vmid}", "VM.Config.Memory@/vms/{vmid}",
              "VM.Config.Network@/vms/{vmid}", "VM.Config.Options@/vms/{vmid}",
              "VM.Config.Disk@/vms/{vmid}")
_NEW_VOLUME = "Datastore.AllocateSpace@/storage/{storage}"
_BRIDGE = "SDN.Use@/sdn/zones/localnetwork/{bridge}"
_LXC = "/nodes/{node}/lxc/{vmid}"

CALLS: tuple[Call, ...] = (
    Call("GET", "/version", R, (), "doctor"),
    Call("GET", "/access/permissions", R, (), "doctor"),
    Call("GET", "/nodes", R, ("Sys.Audit@/nodes/{node}",), "doctor"),
    # lists only what the token may audit: containers, nodes, storages it cannot see
    # would look absent, so these are needed for a correct plan, not just for speed
    Call("GET", "/cluster/resources", R,
         ("VM.Audit@/vms/{vmid}", "Sys.Audit@/nodes/{node}", "Datastore.Audit@/storage/{storage}"),
         "see the cluster"),
    Call("GET", "/nodes/{node}/lxc", R, ("VM.Audit@/vms/{vmid}",), "see containers"),
    Call("GET", f"{_LXC}/pending", R, ("VM.Audit@/vms/{vmid}",), "see containers"),
    Call("GET", f"{_LXC}/config", R, ("VM.Audit@/vms/{vmid}",), "see containers"),
    Call("GET", "/nodes/{node}/network", R, (), "see bridges"),
    Call("GET", "/nodes/{node}/aplinfo", R, (), "see templates"),
    Call("GET", "/nodes/{node}/storage/{storage}/content", R,
         ("Datastore.Audit|Datastore.AllocateSpace@/storage/{template_storage}",
          "Datastore.Audit|Datastore.AllocateSpace@/storage/{backup_storage}"),
         "see templates (and backups: pxrun restore)"),
    Call("GET", "/cluster/nextid", A, (), "create"),
    Call("GET", "/nodes/{node}/tasks/{upid}/status", A, (), "wait for tasks"),
    # a write whose answer was lost: is its task running? (the token's own tasks are listed)
    Call("GET", "/nodes/{node}/tasks", A, (), "find a task whose answer was lost"),
    Call("GET", "/pools", A, ("Pool.Audit@/pool",), "stack lock"),
    Call("POST", "/pools", A, ("Pool.Allocate@/pool",), "stack lock"),
    Call("PUT", "/pools", A, ("Pool.Allocate@/pool", "VM.Allocate@/vms/{vmid}"),
         "pool membership"),
    Call("DELETE", "/pools", A, ("Pool.Allocate@/pool",), "stack lock"),
    # create_vm: VM.Allocate, each option's privilege (A6), space on the storage, the
    # template readable, the bridge usable, and for a privileged container Sys.Modify on /
    Call("POST", "/nodes/{node}/lxc", A,
         ("VM.Allocate@/vms/{vmid}", *_VM_CONFIG, _NEW_VOLUME,
          "Datastore.Audit|Datastore.AllocateSpace@/storage/{template_storage}", _BRIDGE,
          "Sys.Modify@{privileged}"), "create"),
    Call("PUT", f"{_LXC}/config", A, (*_VM_CONFIG, _NEW_VOLUME, _BRIDGE),
         "change options"),
    Call("GET", f"{_LXC}/interfaces", A, ("VM.Audit@/vms/{vmid}",), "see containers"),
    Call("GET", f"{_LXC}/status/current", A, ("VM.Audit@/vms/{vmid}",), "see containers"),
    Call("POST", f"{_LXC}/status/start", A, ("VM.PowerMgmt@/vms/{vmid}",), "power"),
    Call("POST", f"{_LXC}/status/stop", A, ("VM.PowerMgmt@/vms/{vmid}",), "power"),
    Call("POST", f"{_LXC}/status/shutdown", A, ("VM.PowerMgmt@/vms/{vmid}",), "power"),
    Call("POST", f"{_LXC}/status/reboot", A, ("VM.PowerMgmt@/vms/{vmid}",), "power"),
    Call("DELETE", _LXC, A, ("VM.Allocate@/vms/{vmid}",), "destroy"),
    Call("PUT", f"{_LXC}/resize", A, ("VM.Config.Disk@/vms/{vmid}", _NEW_VOLUME),
         "resize"),
    Call("POST", f"{_LXC}/move_volume", A, ("VM.Config.Disk@/vms/{vmid}", _NEW_VOLUME),
         "move volumes"),
    Call("POST", f"{_LXC}/migrate", A, ("VM.Migrate@/vms/{vmid}",),
         "migrate"),
    Call("POST", "/nodes/{node}/aplinfo", A,
         ("Datastore.AllocateTemplate@/storage/{template_storage}",), "download templates"),
    # safety nets (specs/0090): needed by specs that use lifecycle.snapshot or
    # backup_before_destroy ({snapshots}, {backup_storage}), and by rollback and restore
    Call("GET", f"{_LXC}/snapshot", A, ("VM.Audit@/vms/{vmid}",),
         "list snapshots (lifecycle.snapshot, pxrun rollback)"),
    Call("POST", f"{_LXC}/snapshot", A, ("VM.Snapshot@{snapshots}",), "snapshots"),
    Call("DELETE", f"{_LXC}/snapshot/{{snapname}}", A, ("VM.Snapshot@{snapshots}",),
         "snapshots (keep the last N; a replace drops the old ones)"),
    Call("POST", f"{_LXC}/snapshot/{{snapname}}/rollback", A,
         ("VM.Snapshot|VM.Snapshot.Rollback@{snapshots}",), "roll back"),
    Call("POST", "/nodes/{node}/vzdump", A,
         ("VM.Backup@{backups}", "Datastore.AllocateSpace@/storage/{backup_storage}"),
         "back up before a destroy"),
    Call("GET", "/cluster/status", P, ("Sys.Audit@/",),
         "node addresses for SSH (unless ssh.hosts names each node)"),
    # Proxmox VE 9 (specs/0100): needed by specs that use HA or images ({ha}, {images});
    # without them, the HA read of a plan is refused quietly and nothing else is called
    Call("GET", "/cluster/ha/resources", R, ("Sys.Audit@{ha}",),
         "see HA resources (a container HA moved stays)"),
    Call("GET", "/cluster/ha/rules", R, ("Sys.Audit@{ha}",), "see HA rules"),
    Call("POST", "/cluster/ha/resources", A, ("Sys.Console@{ha}",), "HA resources"),
    Call("PUT", "/cluster/ha/resources/{sid}", A, ("Sys.Console@{ha}",), "HA resources"),
    Call("POST", "/cluster/ha/rules", A, ("Sys.Console@{ha}",), "HA rules"),
    Call("PUT", "/cluster/ha/rules/{rule}", A, ("Sys.Console@{ha}",), "HA rules"),
    Call("DELETE", "/cluster/ha/rules/{rule}", A, ("Sys.Console@{ha}",), "HA rules"),
    Call("GET", "/nodes/{node}/query-oci-repo-tags", R, ("Sys.AccessNetwork@{images}",),
         "check image tags (--check-images)"),
    Call("POST", "/nodes/{node}/storage/{storage}/oci-registry-pull", A,
         ("Datastore.AllocateTemplate@/storage/{template_storage}",
          "Sys.AccessNetwork@{images}"), "pull images"),
    Call("GET", "/nodes/{node}/tasks/{upid}/log", A, (), "the digest an image pull reports"),
)
CONDITIONAL = {"{privileged}": "/", "{ha}": "/", "{images}": "/nodes", "{snapshots}": "/vms",
               "{backups}": "/vms"}
"""Placeholders of needs only some specs have (a privileged container, HA, images,
snapshots, backups): the path they stand for when the spec has them; the mode's recipe
leaves them out."""
OPTIONAL_AREAS = frozenset({"backup_storage"})
"""Placeholders of objects only some specs have: without such a spec (the recipe, or a
spec without backups) the need is left out rather than granted on the whole area."""

AREAS: Mapping[str, str] = {
    "vmid": "/vms", "node": "/nodes", "storage": "/storage", "template_storage": "/storage",
    "backup_storage": "/storage", "bridge": "/sdn/zones/localnetwork",
}
"""Where a placeholder's ACL path is granted for all its objects at once."""


def split_need(need: str) -> tuple[tuple[str, ...], str]:
    """`A|B@/path/{x}` -> (("A", "B"), "/path/{x}")."""
    privileges, _, path = need.partition("@")
    return tuple(privileges.split("|")), path


def calls_for(mode: Mode) -> list[Call]:
    return [call for call in CALLS if call.mode <= mode]


def privileges(mode: Mode) -> list[str]:
    """The privileges a role for `mode` holds (of each `A|B`, the first): the recipe's."""
    found = {split_need(need)[0][0] for call in calls_for(mode) for need in call.needs
             if not _conditional(need)}
    return sorted(found)


def _conditional(need: str) -> bool:
    return any(mark in need for mark in CONDITIONAL) or any(
        f"{{{key}}}" in need for key in OPTIONAL_AREAS)


def acl_paths(mode: Mode) -> list[str]:
    """Where a role for `mode` is granted (each placeholder's area; `/` only without
    propagation: it is checked for itself only)."""
    paths = set()
    for call in calls_for(mode):
        for need in call.needs:
            path = split_need(need)[1]
            if not _conditional(path):
                paths.add(_area(path))
    return sorted(paths)


def _area(path: str) -> str:
    head, sep, _ = path.partition("/{")
    if not sep:
        return path
    key = path[len(head) + 2:].split("}", 1)[0]
    return AREAS.get(key, head)


# -- a spec's requirements --------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One privilege (or any of several) on one ACL path, the first mode that needs it and
    why: the union of the calls that need it."""

    privileges: tuple[str, ...]
    path: str
    mode: Mode
    why: str

    @property
    def privilege(self) -> str:
        return "|".join(self.privileges)


@dataclass(frozen=True)
class SpecFacts:
    """What of a spec decides ACL paths: storages it allocates on, where its templates
    are (None: a shorthand, found on any storage), bridges, privileged containers."""

    storages: Mapping[str, tuple[str, ...]]  # storage -> "rootfs of web", ...
    template_storages: Mapping[str | None, tuple[str, ...]]
    bridges: Mapping[str, tuple[str, ...]]
    privileged: tuple[str, ...]
    ha: tuple[str, ...] = ()  # containers with `ha:` (and "ha_rules" when it has rules)
    images: tuple[str, ...] = ()  # containers made from OCI images
    snapshots: tuple[str, ...] = ()  # containers with `lifecycle.snapshot`
    backups: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    """backup storage -> the containers backed up there (`lifecycle.backup_before_destroy`)"""


def spec_facts(stack: Any) -> SpecFacts:
    """The facts of a validated `Stack` (duck-typed: this layer does not import the spec
    model's internals)."""
    storages: dict[str, list[str]] = {}
    templates: dict[str | None, list[str]] = {}
    bridges: dict[str, list[str]] = {}
    privileged: list[str] = []
    ha: list[str] = ["ha_rules"] if getattr(stack, "ha_rules", None) is not None else []
    images: list[str] = []
    snapshots: list[str] = []
    backups: dict[str, list[str]] = {}
    for name, ct in sorted(stack.containers.items()):
        lifecycle = getattr(ct, "lifecycle", None)
        if getattr(lifecycle, "snapshot", None):
            snapshots.append(name)
        backup = getattr(lifecycle, "backup_before_destroy", None)
        if backup:
            backups.setdefault(backup, []).append(name)
        if getattr(ct, "ha", None) is not None:
            ha.append(name)
        if getattr(ct, "image", None):
            images.append(name)
            templates.setdefault(None, []).append(name)  # pulled to a template storage
        storages.setdefault(ct.storage, []).append(f"rootfs of {name}")
        for slot, mount in sorted(ct.mounts.items()):
            if mount.is_new_volume:
                storages.setdefault(mount.volume.split(":", 1)[0], []).append(f"{slot} of {name}")
        template = getattr(ct, "template", None)
        if template:
            where = template.split(":", 1)[0] if ":" in template else None
            templates.setdefault(where, []).append(name)
        for slot, net in sorted(ct.networks.items()):
            if net.bridge:
                bridges.setdefault(net.bridge, []).append(f"{slot} of {name}")
        if not ct.unprivileged:
            privileged.append(name)
    return SpecFacts({k: tuple(v) for k, v in storages.items()},
                     {k: tuple(v) for k, v in templates.items()},
                     {k: tuple(v) for k, v in bridges.items()}, tuple(privileged),
                     tuple(ha), tuple(images), tuple(snapshots),
                     {k: tuple(v) for k, v in backups.items()})


def requirements(facts: SpecFacts | None = None) -> list[Requirement]:
    """Every (privilege, ACL path) the token needs, per mode, for the spec of `facts`
    (None: for any spec, on each area)."""
    merged: dict[tuple[tuple[str, ...], str], tuple[Mode, list[str], list[str]]] = {}
    for call in CALLS:
        for need in call.needs:
            privs, template = split_need(need)
            for path, uses in _expand(template, facts):
                mode, whys, used = merged.get((privs, path), (call.mode, [], []))
                whys += [] if call.why in whys else [call.why]
                used += [u for u in uses if u not in used]
                merged[(privs, path)] = (min(mode, call.mode), whys, used)
    return sorted((Requirement(privs, path, mode, ", ".join(whys)
                               + (f": {', '.join(used)}" if used else ""))
                   for (privs, path), (mode, whys, used) in merged.items()),
                  key=lambda r: (r.mode, r.path, r.privilege))


def _expand(template: str, facts: SpecFacts | None) -> list[tuple[str, tuple[str, ...]]]:
    """(ACL path, what of the spec needs it) for each object a placeholder stands for."""
    for mark, path in CONDITIONAL.items():
        if mark in template:
            users = {"{privileged}": facts.privileged, "{ha}": facts.ha,
                     "{images}": facts.images, "{snapshots}": facts.snapshots,
                     "{backups}": tuple(n for names in facts.backups.values() for n in names),
                     }[mark] if facts is not None else ()
            if not users:
                return []
            label = {"{privileged}": "privileged ", "{ha}": "HA ", "{images}": "image of ",
                     "{snapshots}": "snapshots of ", "{backups}": "backup of "}
            return [(path, tuple(f"{label[mark]}{name}" for name in users))]
    if "{" not in template:
        return [(template, ())]
    head, _, rest = template.partition("/{")
    key = rest.split("}", 1)[0]
    area = AREAS.get(key, head)
    chosen: Mapping[Any, tuple[str, ...]] | None = None
    if facts is not None:
        by_key: dict[str, Mapping[Any, tuple[str, ...]]] = {
            "storage": facts.storages, "bridge": facts.bridges,
            "template_storage": facts.template_storages, "backup_storage": facts.backups}
        chosen = by_key.get(key)
    if not chosen:
        return [] if key in OPTIONAL_AREAS else [(area, ())]
    out = []
    for value, uses in sorted(chosen.items(), key=lambda item: str(item[0])):
        what = {"template_storage": tuple(f"template of {n}" for n in uses),
                "backup_storage": tuple(f"backup of {n}" for n in uses)}.get(key, uses)
        out.append((f"{area}/{value}" if value is not None else area, what))
    return out


# -- checking a token ---------------------------------------------------------------------


@dataclass(frozen=True)
class PrivilegeCheck:
    """One requirement checked: `yes` when the token holds (one of) the privilege(s) on the
    path, else `no`."""

    privilege: str
    path: str
    mode: str
    purpose: str
    status: str


def check_requirements(needed: Iterable[Requirement],
                       held_at: Callable[[str], Mapping[str, Any]]) -> list[PrivilegeCheck]:
    """Check each requirement against `held_at(path)`: the token's effective privileges on
    a path (`GET /access/permissions?path=P` answers `{P: {privilege: 1}}`), asked once
    per path."""
    cache: dict[str, Mapping[str, Any]] = {}
    checks = []
    for need in needed:
        if need.path not in cache:
            answer = held_at(need.path)
            privs = answer.get(need.path, {}) if isinstance(answer, Mapping) else {}
            cache[need.path] = privs if isinstance(privs, Mapping) else {}
        held = any(cache[need.path].get(p) for p in need.privileges)
        checks.append(PrivilegeCheck(privilege=need.privilege, path=need.path,
                                     mode=need.mode.label, purpose=need.why,
                                     status="yes" if held else "no"))
    return checks
