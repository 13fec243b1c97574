"""The Plan: what `plan()` decided, as a frozen, JSON-able value.

The vocabulary is Terraform's (STYLE.md): an `Action` per container, a `ResourceChange`
holding before/after views, the field diffs as kopf-style (op, path, old, new) items, and a
reason that is for humans only. Apply never branches on the reason, nor on the action: it
executes `ResourceChange.operations` in order, each by the route the plan chose, and nothing
else. The public JSON plan is `pxrun.render.jsonplan`'s document (versioned there, with a
schema), built from this model; renderers own every word shown.

No secret value is ever stored here. An operation that writes a secret holds a reference to
it (`SecretRef`: its name in `secrets` or `env`), which apply resolves through a secret
source at the moment of the call; before/after views show secrets as `SENSITIVE` (display
only, never sent anywhere); fingerprints and the spec hash hold them only through a slow,
salted key derivation.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from pxrun.observe.model import Recreated

M = TypeVar("M", bound=BaseModel)
SENSITIVE = "(sensitive)"
"""What a secret value reads as in before/after views and field diffs."""

Json = Any
"""A JSON value (None, bool, int, float, str, list, dict): what views and diffs hold."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Action(StrEnum):
    """What happens to one container. Serialised as Terraform's action lists."""

    NO_OP = "no-op"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    DELETE_THEN_CREATE = "delete-then-create"
    CREATE_THEN_DELETE = "create-then-delete"
    READ = "read"  # refresh-only mode: drift observed, nothing will be done

    def as_list(self) -> list[str]:
        """["no-op"], ["create"], ["delete","create"], ... as in Terraform's JSON plan."""
        return self.value.split("-then-") if "-then-" in self.value else [self.value]

    @classmethod
    def from_list(cls, items: list[str]) -> Action:
        return cls("-then-".join(items))

    @property
    def is_replace(self) -> bool:
        return self in (Action.DELETE_THEN_CREATE, Action.CREATE_THEN_DELETE)


RestartPolicy = Literal["auto", "never", "ask"]
Mode = Literal["normal", "destroy", "refresh-only"]


class FieldDiff(_Frozen):
    """One field-level difference, kopf style: (op, path, old, new).

    `path` is dotted like `lifecycle.ignore_changes` entries (`resources.memory`,
    `networks.net1`, `mounts.mp0.size`). In `changes`, old is the cluster's value and new the
    spec's; in refresh-only `drift`, old is the spec's and new the cluster's (what moved).
    `add`: old is None; `remove`: new is None (a slot that disappears).
    """

    op: Literal["add", "change", "remove"]
    path: str
    old: Json = None
    new: Json = None


def replaced(model: M, changes: dict[str, Any]) -> M:
    """`model.model_copy(update=changes)` for frozen, closed models without private
    attributes (the plan's and the spec's), without pydantic's generic copying: the
    planner makes one per replica and per converged container, and `model_copy` was the
    bulk of that. `changes` must be valid values of their fields (they are not validated):
    the callers copy values made by validated models. The copy shares the set of fields
    set when `changes` adds none to it: frozen models never change it, and 10,000 copies
    would otherwise leave 10,000 more sets for Python's cycle collector to scan."""
    new = model.__class__.__new__(model.__class__)
    set_attribute = object.__setattr__
    set_attribute(new, "__dict__", {**model.__dict__, **changes})
    fields = model.__pydantic_fields_set__
    set_attribute(new, "__pydantic_fields_set__",
                  fields if fields.issuperset(changes) else fields | changes.keys())
    set_attribute(new, "__pydantic_extra__", None)
    set_attribute(new, "__pydantic_private__", None)
    return new


# --- values with secrets, and routes ------------------------------------------------------


class SecretRef(_Frozen):
    """A secret by name: `secrets.<path>` (a value of the sops file) or `env.<NAME>`."""

    ref: str


class SecretText(_Frozen):
    """A value to write that contains secrets: literal text and references, in order.
    Apply joins them, each reference resolved by its secret source, at the moment of the
    call; the plan itself never holds the value."""

    parts: tuple[str | SecretRef, ...]

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(p.ref for p in self.parts if isinstance(p, SecretRef))


ConfigValue = str | SecretText
"""A Proxmox config value as the plan carries it: canonical text, or text with secrets."""

Route = Literal["api", "node"]
"""How a config write reaches Proxmox: the API with the token, or `pct set` run as root on
the node over SSH (options only root@pam may set, reference A6). The plan decides."""


# --- operations: the only thing apply executes --------------------------------------------


class ConfigUpdate(_Frozen):
    """One config write: `PUT /nodes/{node}/lxc/{vmid}/config` with the observed digest
    (route `api`), or `pct set` on the node (route `node`).

    `set` maps Proxmox config keys to the canonical values to write (what Proxmox itself
    stores). `description` holds the user's notes only: apply appends the ownership marker.
    `delete` lists keys to remove. `pending` names the keys of this update that Proxmox will
    hold pending on a running container (they apply at the next start). Never empty: a
    change without keys is not planned (peers.md #9, "no options specified"). A change may
    hold two: the API write first, then the root@pam-only keys through the node.
    """

    op: Literal["config"] = "config"
    route: Route = "api"
    set: dict[str, ConfigValue] = {}
    delete: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()


class AttachMount(_Frozen):
    """Hot-add a mount point (a new key is applied live): `PUT config mpN=<value>`, or
    `pct set --mpN` for a bind mount (route `node`)."""

    op: Literal["attach_mount"] = "attach_mount"
    route: Route = "api"
    slot: str
    value: ConfigValue
    storage: str | None = None  # where a new volume is allocated (for per-storage limits)


class DetachMount(_Frozen):
    """Remove a mount point. Its volume stays as an `unusedN` disk unless `keep_volume` is
    false. On a running container the removal is pending until the next start."""

    op: Literal["detach_mount"] = "detach_mount"
    slot: str
    volid: str | None = None
    keep_volume: bool = True


class ResizeVolume(_Frozen):
    """Grow a volume online: `PUT resize disk=<disk> size=<size_gib>G` (absolute)."""

    op: Literal["resize"] = "resize"
    disk: str  # rootfs | mpN
    size_gib: int


class MoveVolume(_Frozen):
    """Move a volume to another storage (`POST move_volume`); needs a stopped container,
    so the plan brackets it with power operations when the container runs."""

    op: Literal["move_volume"] = "move_volume"
    volume: str  # rootfs | mpN
    storage: str


class ReassignVolume(_Frozen):
    """Hand a data volume of the old container to the new one this change made: `POST
    /nodes/{node}/lxc/{source_vmid}/move_volume` with `target-vmid` (Proxmox renames the
    volume for its new owner). Both are on `node`; the old one is stopped by then.
    `options`: the mount point's options (without the volume) to write once it arrived,
    when the spec changes them; None keeps what the old container had."""

    op: Literal["reassign"] = "reassign"
    node: str
    source_vmid: int
    volume: str  # mpN | unusedN of the old container
    target_slot: str  # mpN | unusedN of the new container
    size_gib: int | None = None  # what the plan shows (how much data is kept)
    options: str | None = None


class DeleteSnapshots(_Frozen):
    """Delete every snapshot of the old container of a replace before its data volumes are
    handed over: Proxmox refuses to reassign a volume a snapshot uses, and the snapshots
    would be deleted with the container anyway."""

    op: Literal["delete_snapshots"] = "delete_snapshots"
    node: str
    vmid: int


class Snapshot(_Frozen):
    """A safety net before a risky change (restart, migrate, volume move): `POST snapshot`
    named `pxrun-<UTC time of the apply>`, then the oldest `pxrun-` snapshots beyond `keep`
    are deleted. `rollback`: when a later operation of this change fails, roll back to it
    (`--rollback-on-failure`); otherwise the failure names `pxrun rollback`."""

    op: Literal["snapshot"] = "snapshot"
    keep: int = 3
    rollback: bool = False


class Backup(_Frozen):
    """`vzdump` of a container before it is deleted, to `storage`, with notes naming the
    stack and container so `pxrun restore` finds it again."""

    op: Literal["backup"] = "backup"
    node: str
    vmid: int
    storage: str


class Migrate(_Frozen):
    """Move the container to another node (`POST migrate`, restart mode when running)."""

    op: Literal["migrate"] = "migrate"
    source: str
    target: str
    restart: bool


class SetPool(_Frozen):
    """Change resource pool membership (`PUT /pools`); pool is not a config key."""

    op: Literal["pool"] = "pool"
    before: str | None
    after: str | None


class Power(_Frozen):
    """A power transition. `policy` says whether apply must do it (`required`: state or a
    volume move demand it) or decides by the restart policy (`auto` do it, `ask` prompt,
    `never` leave the pending changes pending)."""

    op: Literal["power"] = "power"
    action: Literal["start", "stop", "restart"]
    policy: Literal["required", "auto", "never", "ask"] = "required"
    await_address: Literal["no", "wait", "require"] = "no"
    """After a start or restart: `wait` (bounded by the `ip` timeout; a warning when none
    comes) or `require` (the change fails without one: a rolling replace stops there) an
    IPv4 address. `no` for a container the spec gives no IPv4 address (no network, or
    `ip: manual`), which would never get one."""
    vmid: int | None = None  # another container: the old one of a replace (None: this one)
    node: str | None = None


class Reprovision(_Frozen):
    """Run provisioning steps inside the container (it runs by then), in order, then record
    what ran in its marker.

    `steps` are the readable labels of the steps to run (`files[/etc/motd]`, `run[enable
    nginx]`; the network wait first when anything runs). `fingerprints` maps the label of
    every step the spec has to its fingerprint: what apply records for the steps it does
    not run; a step that ran is recorded as it ran. The steps themselves (with their
    secret values) come from the spec at apply time, through apply's provisioner; the plan
    holds no secret (specs/0062).
    """

    op: Literal["provision"] = "provision"
    steps: tuple[str, ...]
    fingerprints: dict[str, str] = {}


class LeaveTailnet(_Frozen):
    """Remove the deleted container's node from its tailnet through the Tailscale API: the
    device whose hostname, or MagicDNS name, is `hostname` (the marker recorded it when the
    Tailscale step ran)."""

    op: Literal["leave_tailnet"] = "leave_tailnet"
    hostname: str


class TemplateDownload(_Frozen):
    """Download a catalog template first (`POST /nodes/{node}/aplinfo`)."""

    storage: str
    template: str  # the catalog file name


class ImagePull(_Frozen):
    """Pull an OCI image into the node's template storage first (`oci-registry-pull`,
    Proxmox VE 9.1), once per node (or shared storage) and image in one apply; the pull's
    digest is recorded in the marker of each container made from it."""

    storage: str
    reference: str  # docker.io/library/nginx:1.27
    filename: str  # docker.io-library-nginx_1.27.tar: the archive's name on the storage


class RawConfig(_Frozen):
    """Set the raw `lxc.*` lines of the container's config file. No API call can: over
    node SSH, as root, the file under `/etc/pve/lxc/` is read, its main section's raw
    lines replaced, written beside it and renamed over it, unless it changed meanwhile.
    `subuid`/`subgid`: lines root needs in the node's `/etc/subuid`/`/etc/subgid` for the
    idmap (appended when missing). `pending`: the container runs, so the lines apply at
    its next start."""

    op: Literal["raw_lxc"] = "raw_lxc"
    route: Literal["node"] = "node"
    lines: tuple[str, ...] = ()
    subuid: tuple[str, ...] = ()
    subgid: tuple[str, ...] = ()
    pending: bool = False


class HaResource(_Frozen):
    """Add or change the container's HA resource (`ct:<vmid>`, `/cluster/ha/resources`):
    `set` holds Proxmox's values (`state`, `max_restart`, ...), `delete` settings to reset."""

    op: Literal["ha"] = "ha"
    action: Literal["add", "update"]
    set: dict[str, str] = {}
    delete: tuple[str, ...] = ()


class HaRuleWrite(_Frozen):
    """Write or delete a PVE 9 HA rule (`/cluster/ha/rules/{rule}`). `set`: the rule
    complete (apply creates it, or updates it when it exists: a member's replace may have
    removed it meanwhile); `resources`: its containers in order, a vmid where the plan
    knows it, else the address of a container this apply creates (its vmid then)."""

    op: Literal["ha_rule"] = "ha_rule"
    action: Literal["set", "delete"]
    rule: str
    type: str
    set: dict[str, str] = {}
    resources: tuple[int | str, ...] = ()


class CreateContainer(_Frozen):
    """`POST /nodes/{node}/lxc` (always the API). `vmid` None: apply allocates one (safely,
    one at a time). `params` are the canonical create parameters (secrets by reference),
    without the description marker (apply adds it, with `marker_template` recorded in it)
    and without the options only root@pam may set: a `ConfigUpdate` with route `node`
    follows the create for those."""

    op: Literal["create"] = "create"
    node: str
    vmid: int | None
    template: str  # the resolved volid
    download: TemplateDownload | None = None
    pull: ImagePull | None = None  # an application container: its image pulled first
    storage: str
    params: dict[str, ConfigValue] = {}
    marker_template: str  # what the marker records so the next plan can compare it
    recreates: Recreated | None = None  # the lost copy it stands in for (marker records it)


class DeleteContainer(_Frozen):
    """`DELETE /nodes/{node}/lxc/{vmid}` with purge; a running container is stopped first.

    Apply deletes only a container the stack's marker claims; `hostname` is set when the
    plan recognised one without a marker (its Notes replaced, or named by vmid for a
    by-hand delete, specs/0081): then it must carry no marker and still have that hostname.
    """

    op: Literal["delete"] = "delete"
    node: str
    vmid: int
    stop_first: bool
    hostname: str | None = None


Operation = Annotated[
    ConfigUpdate | AttachMount | DetachMount | ResizeVolume | MoveVolume | Migrate | SetPool
    | Power | Reprovision | CreateContainer | DeleteContainer | LeaveTailnet | ReassignVolume
    | DeleteSnapshots | Snapshot | Backup | RawConfig | HaResource | HaRuleWrite,
    Field(discriminator="op"),
]


# --- the change of one container ----------------------------------------------------------


class DataVolume(_Frozen):
    """A data volume (a volume mount point, or an unused disk kept from one) that a change
    destroys: named in the plan in words (`# data destroyed: mp0 (3 GiB)`)."""

    slot: str  # mpN | unusedN
    volid: str | None = None
    size_gib: int | None = None


class Taint(_Frozen):
    """Why a container is tainted: the provisioning step that failed and its log ("" for
    a failure outside provisioning, or a taint an older pxrun wrote)."""

    step: str = ""
    log: str = ""


class ResourceChange(_Frozen):
    """What happens to one container, and why.

    before / after are JSON views of the container's *essence* (the spec's own fields,
    secrets shown as SENSITIVE for display; a new container's `provision` lists the names
    of the steps it runs, an update's steps are its `provision` diff):
    - create: before None; after the desired container, node and template resolved.
    - update: before what the cluster has, restricted to what the spec manages (fields
      the spec leaves unset are null on both sides); after the spec.
    - no-op: both None (the container matches the spec; a 10,000-container plan stays
      small and fast).
    - delete: before the container as observed; after None.
    - replace (delete-then-create, create-then-delete): before as observed (restricted),
      after the new container as create would make it.
    - read (refresh-only drift): before the spec, after what the cluster shows.

    `operations` is the complete, ordered recipe apply runs; `reason` only explains.
    `replace_paths` are the fields that forced a replace (empty for a forced `--replace`
    or a taint). `prune`: a managed container no longer in the spec is being deleted.
    `taint`: the container is tainted (a change of it failed); the plan finishes it.
    `pending`: config keys Proxmox holds pending since an earlier change (a restart applies
    them). `data_destroyed`: the data volumes this change destroys (a delete, or a replace
    with `data: discard`). `roll_after`: replicas of the same group whose replacement must be
    up (running, with an address) before this one starts (a rolling replace).
    """

    address: str
    action: Action
    node: str | None = None
    vmid: int | None = None
    digest: str | None = None  # observed config digest; apply sends it with every write
    before: dict[str, Json] | None = None
    after: dict[str, Json] | None = None
    diffs: tuple[FieldDiff, ...] = ()
    reason: str = ""
    replace_paths: tuple[str, ...] = ()
    restart_required: bool = False
    restart_policy: RestartPolicy = "auto"
    operations: tuple[Operation, ...] = ()
    prune: bool = False
    depends_on: tuple[str, ...] = ()
    taint: Taint | None = None
    pending: tuple[str, ...] = ()
    data_destroyed: tuple[DataVolume, ...] = ()
    roll_after: tuple[str, ...] = ()

    @field_serializer("action")
    def _action_as_list(self, action: Action) -> list[str]:
        return action.as_list()

    @field_validator("action", mode="before")
    @classmethod
    def _action_from_list(cls, value: Any) -> Any:
        return Action.from_list(value) if isinstance(value, list) else value


class PlanDiagnostic(_Frozen):
    """A problem found while planning. Any `error` makes the plan unappliable. `path`:
    the field of the container's spec entry to change (the CLI shows its file:line)."""

    severity: Literal["error", "warning"]
    address: str | None = None
    message: str
    hint: str = ""
    path: str | None = None


class UnknownContainer(_Frozen):
    """A container tagged for this stack on a node that did not answer: never created or
    deleted because of it (DESIGN §10), only reported."""

    vmid: int
    node: str
    name: str = ""


class Summary(_Frozen):
    """Counts as Terraform prints them; a replace counts once, under `replace`."""

    add: int = 0
    change: int = 0
    replace: int = 0
    destroy: int = 0
    drifted: int = 0


class Plan(_Frozen):
    """The outcome of `plan()`: one ResourceChange per container in scope, with everything
    apply and the renderers need. Frozen; the public JSON plan (`render.jsonplan`) is made
    from it and read back into it, and carries the format version."""

    mode: Mode = "normal"
    stack: str
    spec_hash: str  # sha256 of the resolved stack, secrets by name plus a MAC of their values
    restart_policy: RestartPolicy = "auto"
    changes: tuple[ResourceChange, ...] = ()
    drift: tuple[ResourceChange, ...] = ()
    diagnostics: tuple[PlanDiagnostic, ...] = ()
    observed_digests: dict[str, str | None] = {}
    unknown: tuple[UnknownContainer, ...] = ()
    summary: Summary = Summary()

    @property
    def errors(self) -> tuple[PlanDiagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def has_changes(self) -> bool:
        """Whether applying would do anything (the --detailed-exitcode question)."""
        return any(c.action not in (Action.NO_OP, Action.READ) for c in self.changes) or bool(
            self.drift)

    def change(self, address: str) -> ResourceChange | None:
        return next((c for c in self.changes if c.address == address), None)
