"""One resolved container: every LXC option Proxmox offers, with a typed home.

"Resolved" means after the loader merged `defaults`, expanded `count` and rendered Jinja.
Optional Proxmox options default to None, meaning "Proxmox's default, not managed by pxrun":
the planner never changes an option the spec leaves unset. The few defaults pxrun chooses
itself (cores 2, memory 1024, swap 512, disk 10, storage local-lvm, unprivileged, running)
are what a new container gets and are then managed like any value.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from pxrun.spec.model_base import (
    DeviceSlot,
    MountSlot,
    NetSlot,
    SpecModel,
    as_list,
    empty_dict,
    empty_list,
    slot_index,
)
from pxrun.spec.model_net import Network
from pxrun.spec.model_provision import EnvName, Provision
from pxrun.spec.model_pve9 import (
    Entrypoint,
    HaSettings,
    IdMap,
    ImageRef,
    LxcLine,
    container_checks,
    pve9_defaults,
)
from pxrun.spec.model_storage import Device, Mount, RootFs
from pxrun.spec.rules import (
    MAX_GIB,
    MAX_MIB,
    NODE_RE,
    ContainerName,
    DnsName,
    FsType,
    HookScript,
    Hostname,
    Nameserver,
    NodeName,
    Password,
    PoolId,
    SshPublicKey,
    StorageId,
    Tag,
    VmId,
    between,
    fail,
    longest,
    matches,
    split_list,
)

Template = Annotated[
    str,
    matches(
        "template",
        r"[a-z][a-z0-9]*(-[0-9][0-9a-z.]*)?"
        r"|[a-z][a-z0-9\-_.]*[a-z0-9]:vztmpl/[^/,\s]+\.(tar|tar\.(gz|xz|zst|bz2))",
        "a shorthand like debian-12 or a volid like local:vztmpl/debian-12-standard_12.7-1_amd64"
        ".tar.zst",
        flags=re.I,
    ),
]
Timezone = Annotated[
    str,
    matches("timezone", r"host|[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*",
            "host, UTC or a zone like Europe/Berlin"),
]
Arch = Literal["amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"]
OsType = Literal["debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux",
                 "alpine", "gentoo", "nixos", "unmanaged"]
Placement = str | list[NodeName]


class Resources(SpecModel):
    """CPU, memory and root disk size."""

    cores: Annotated[int, between("cores", 1, 8192)] = 2
    """Number of CPU cores the container sees."""
    cpulimit: Annotated[float, between("cpulimit", 0, 8192)] | None = None
    """CPU time limit in cores (0 = unlimited)."""
    cpuunits: Annotated[int, between("cpuunits", 0, 500000)] | None = None
    """Relative CPU weight (cgroup v2 clamps to 1-10000; Proxmox default 100)."""
    memory: Annotated[int, between("memory", 16, MAX_MIB)] = 1024
    """Memory in MiB (at least 16)."""
    swap: Annotated[int, between("swap", 0, MAX_MIB)] = 512
    """Swap in MiB."""
    disk: Annotated[int, between("disk", 1, MAX_GIB)] = 10
    """Root disk size in GiB; it can grow in place, shrinking replaces the container."""


class Features(SpecModel):
    """Advanced features (Proxmox's `features`); unset ones are off."""

    nesting: bool | None = None
    """Allow nesting (needed by systemd and Docker in containers)."""
    keyctl: bool | None = None
    """Unprivileged only: allow keyctl() (needed by Docker)."""
    fuse: bool | None = None
    """Allow fuse file systems."""
    mknod: bool | None = None
    """Unprivileged only: allow mknod() of some device nodes (experimental)."""
    force_rw_sys: bool | None = None
    """Mount /sys read-write in unprivileged containers."""
    mount: Annotated[list[FsType] | None, BeforeValidator(split_list)] = None
    """File system types the container may mount, e.g. [nfs, cifs]."""


class Startup(SpecModel):
    """Boot order and delays (Proxmox's `startup`)."""

    order: Annotated[int, between("startup order", 0)] | None = None
    """Start order; shutdown runs in reverse."""
    up: Annotated[int, between("startup up", 0)] | None = None
    """Seconds to wait after starting before the next guest starts."""
    down: Annotated[int, between("startup down", 0)] | None = None
    """Seconds to wait after stopping before the next guest stops."""


class Lifecycle(SpecModel):
    """How pxrun may change this container."""

    prevent_destroy: bool = False
    """Refuse any plan that would delete or replace the container."""
    ignore_changes: list[str] = Field(default_factory=empty_list)
    """Field paths whose drift is ignored, e.g. description or resources.memory."""
    create_only: list[str] = Field(default_factory=empty_list)
    """Field paths used only when the container is created (or re-created), e.g. template,
    password, ssh_keys: on an existing container they are never compared, never force a
    replace and never re-run provisioning. `pxrun import` sets it for what Proxmox cannot
    tell back."""
    restart: Literal["auto", "never", "ask"] | None = None
    """When a change needs a restart: do it (auto), leave it pending (never), or ask."""
    create_before_destroy: bool | None = None
    """On replace, create the new container before deleting the old one."""
    data: Literal["keep", "discard"] = "keep"
    """Volume mount points hold data: on a replace, keep hands them (and unused disks) to the
    new container; discard destroys them with the old one (the plan says so)."""
    snapshot: Literal["before_change"] | None = None
    """before_change: take a pxrun-<time> snapshot before a change that restarts, migrates or
    moves a volume of the container (needs snapshot-capable storage)."""
    snapshot_keep: Annotated[int, between("snapshot_keep", 1, 100)] = 3
    """How many pxrun-<time> snapshots to keep; older ones are deleted."""
    backup_before_destroy: StorageId | None = None
    """A storage for backups: vzdump the container there before a delete or replace."""
    max_unavailable: Annotated[int, between("max_unavailable", 1, 1000)] = 1
    """Replicas of a count group replaced at once (a rolling replace): each next one starts
    when the replaced one runs again with an address."""
    on_node_lost: Literal["alert", "recreate"] = "alert"
    """What `pxrun watch` does when the container's node stops answering for longer than
    its --node-timeout: alert only (default), or recreate it on another node. recreate is
    for stateless containers: only when it has no data volumes (or only existing volumes on
    shared storage) and the old node is fenced (--fence-confirmed)."""

    @field_validator("ignore_changes", "create_only")
    @classmethod
    def _known_paths(cls, paths: list[str], info: ValidationInfo) -> list[str]:
        from pxrun.spec.introspect import path_problem

        for path in paths:
            problem = path_problem(Container, path)
            if problem:
                raise fail(f"{info.field_name}: {problem}")
        return paths


# Built at import, unlike the other spec models (`model_base`): the stack, the observed
# container and the plan all hold containers, and each reuses this schema instead of
# generating its own copy of the whole container tree.
class Container(SpecModel, defer_build=False):
    """One container as it should be."""

    name: ContainerName
    """The container's name in the stack (its key under containers)."""
    hostname: Hostname
    """DNS host name; the container's name when unset."""
    vmid: VmId | None = None
    """Fixed VM id (100-999999999); allocated by pxrun when unset."""
    node: Placement = "auto"
    """auto, a node name, or a list of allowed nodes."""
    template: Template | None = None
    """OS template: shorthand (debian-12, ubuntu-24.04, alpine) or a volid."""
    image: ImageRef | None = None
    """OCI image of an application container (Proxmox VE 9.1), e.g.
    docker.io/library/nginx:1.27; takes the place of template."""
    storage: StorageId = "local-lvm"
    """Storage of the root filesystem."""
    resources: Resources = Resources.model_construct()
    """CPU, memory and disk."""
    rootfs: RootFs | None = None
    """Root filesystem options."""
    networks: dict[NetSlot, Network] = Field(default_factory=empty_dict)
    """Network interfaces by slot, net0..net31."""
    mounts: dict[MountSlot, Mount] = Field(default_factory=empty_dict)
    """Mount points by slot, mp0..mp255."""
    devices: dict[DeviceSlot, Device] = Field(default_factory=empty_dict)
    """Device passthrough by slot, dev0..dev255."""
    features: Features | None = None
    """Advanced features (nesting, keyctl, fuse, mknod, mount)."""
    unprivileged: bool = True
    """Run as an unprivileged container (changing it replaces the container)."""
    onboot: bool | None = None
    """Start when the node boots."""
    startup: Startup | None = None
    """Boot order and delays."""
    state: Literal["running", "stopped"] = "running"
    """Desired power state."""
    tags: list[Tag] | None = None
    """Proxmox tags (pxrun adds its stack tag itself)."""
    description: Annotated[str, longest("description", 8192)] | None = None
    """Notes shown in the Proxmox GUI."""
    protection: bool | None = None
    """Protect the container from removal in Proxmox."""
    pool: PoolId | None = None
    """Resource pool to add the container to."""
    ha: HaSettings | None = None
    """Manage the container as a Proxmox HA resource."""
    nameserver: Annotated[list[Nameserver] | None, BeforeValidator(split_list)] = None
    """DNS servers; the host's when both nameserver and searchdomain are unset."""
    searchdomain: Annotated[list[DnsName] | None, BeforeValidator(split_list)] = None
    """DNS search domains."""
    timezone: Timezone | None = None
    """host, or a zone like Europe/Berlin."""
    arch: Arch | None = None
    """OS architecture (changing it replaces the container)."""
    ostype: OsType | None = None
    """OS type for Proxmox's setup scripts; detected from the template when unset."""
    console: bool | None = None
    """Attach a console device."""
    tty: Annotated[int, between("tty", 0, 6)] | None = None
    """Number of ttys, 0-6."""
    cmode: Literal["tty", "console", "shell"] | None = None
    """Console mode."""
    entrypoint: Entrypoint | None = None
    """Command run as init (Proxmox VE 9.1; an image's own entrypoint when unset)."""
    hookscript: HookScript | None = None
    """Hook script volid like local:snippets/hook.pl (root@pam only)."""
    lxc: list[LxcLine] | None = None
    """Raw lxc.* config lines (cgroup device rules, mount entries), in order; set by
    editing the config file on the node over SSH (no API token can)."""
    idmap: IdMap | None = None
    """uid/gid ranges shared with the node (unprivileged containers); also allowed in the
    node's /etc/subuid and /etc/subgid."""
    env: dict[EnvName, str] | None = None
    """Runtime environment variables of the container (PVE 9)."""
    password: Password | None = None
    """Root password (set by provisioning). Never shown."""
    ssh_keys: Annotated[list[SshPublicKey], BeforeValidator(as_list)] = Field(
        default_factory=empty_list)
    """Public keys authorized for root (set by provisioning)."""
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    """How pxrun may change this container."""
    depends_on: list[ContainerName] = Field(default_factory=empty_list)
    """Containers to create and provision before this one."""
    provision: Provision | None = None
    """Steps run inside the container after creation."""

    @model_validator(mode="before")
    @classmethod
    def _hostname_defaults_to_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("hostname") is None and "name" in data:
            data = {**data, "hostname": data["name"]}
        return pve9_defaults(data)

    @field_validator("node")
    @classmethod
    def _node(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str):
            if value != "auto" and not re.fullmatch(NODE_RE, value):
                raise fail(f"node {value!r} is not valid: auto, a node name or a list of nodes")
            return value
        if not value:
            raise fail("node list must not be empty (use auto)")
        if len(set(value)) != len(value):
            raise fail("node list has duplicates")
        return value

    @field_validator("networks")
    @classmethod
    def _default_iface_names(cls, nets: dict[str, Network]) -> dict[str, Network]:
        return {
            slot: net if net.name else net.model_copy(update={"name": f"eth{slot_index(slot)}"})
            for slot, net in nets.items()
        }

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Container:
        if self.name in self.depends_on:
            raise fail(f"container {self.name} cannot depend on itself")
        names = [net.name for net in self.networks.values()]
        if len(set(names)) != len(names):
            raise fail("two networks have the same interface name")
        paths = [m.path for m in self.mounts.values()]
        if len(set(paths)) != len(paths):
            raise fail("two mounts have the same path")
        if not (info.context or {}).get("observed"):  # observe reads what is, as it is
            container_checks(self.image, self.idmap, self.unprivileged, self.state, self.ha)
        return self

