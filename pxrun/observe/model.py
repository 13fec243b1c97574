"""What `observe_cluster` returns: the live cluster, in plain frozen models.

The planner imports these types, so this module imports nothing that does I/O (no client,
no network library). Containers appear as the spec's own `Container` (current and future
views); everything else here is cluster facts the planner needs for placement and
validation (nodes, storages, templates, bridges, every guest for vmid conflicts).

Power states: `running` / `stopped` from the node's live list; `unknown` when the node does
not answer — such a container is neither present nor absent, and nothing may be planned
that assumes either (DESIGN §10).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from pxrun.spec.model import Container, HaSettings

PowerState = Literal["running", "stopped", "unknown"]
NodeStatus = Literal["online", "offline", "unknown"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NodeInfo(_Frozen):
    """A cluster node: status and capacity (bytes), and how many guests it holds."""

    name: str
    status: NodeStatus
    cpu: float = 0.0  # utilisation, 0..1
    maxcpu: int = 0
    mem_total: int = 0
    mem_used: int = 0
    containers: int = 0  # LXC guests on the node (cluster/resources)
    guests: int = 0  # all guests, VMs included

    @property
    def mem_free(self) -> int:
        return max(self.mem_total - self.mem_used, 0)

    @property
    def online(self) -> bool:
        return self.status == "online"


class StorageInfo(_Frozen):
    """A storage as one node sees it (shared storages appear once per node)."""

    node: str
    storage: str
    type: str
    content: frozenset[str]
    shared: bool = False
    active: bool = True
    enabled: bool = True
    total: int = 0
    used: int = 0
    avail: int = 0

    @property
    def rootdir(self) -> bool:
        """Whether container volumes may live here."""
        return "rootdir" in self.content


class TemplateInfo(_Frozen):
    """An OS template present on a node's storage."""

    node: str
    storage: str
    volid: str  # local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    size: int = 0

    @property
    def filename(self) -> str:
        return self.volid.split("/", 1)[-1]


class BridgeInfo(_Frozen):
    """A bridge on a node that container interfaces can attach to."""

    node: str
    iface: str
    vlan_aware: bool = False
    active: bool = True


class CatalogEntry(_Frozen):
    """A template a node can download (`GET /nodes/{node}/aplinfo`), by file name."""

    node: str
    template: str  # debian-12-standard_12.7-1_amd64.tar.zst
    section: str = "system"


class GuestRef(_Frozen):
    """Any guest of the cluster (LXC or QEMU, managed or not), from /cluster/resources."""

    vmid: int
    node: str
    type: Literal["lxc", "qemu"]
    name: str = ""
    status: str = "unknown"  # as /cluster/resources says (may lag ~10 s behind)
    tags: tuple[str, ...] = ()
    template: bool = False
    lock: str | None = None
    pool: str | None = None
    maxcpu: float = 0.0
    maxmem: int = 0
    maxdisk: int = 0
    stack: str | None = None  # from a pxrun-<stack> tag: claimed, not yet verified by marker
    hastate: str | None = None  # HA manages it (started, stopped, ...): HA moves it, not pxrun


class Recreated(_Frozen):
    """What the marker of a container `pxrun watch` recreated after its node was lost says
    (`on_node_lost: recreate`): the copy it stands in for, and when it was made. When the
    lost node answers again, that copy is a stale generation of the same container."""

    vmid: int
    node: str
    at: str  # ISO 8601, UTC


class ObservedContainer(_Frozen):
    """A container of the stack, as it is now and as it will be.

    Normally the stack's marker claims it (`marked`) and it carries the stack's tag
    (`tagged`). People break either in the Proxmox GUI: editing Notes replaces the marker,
    tags get removed. Observe still reports such a container, the planner recognises it
    and restores what is missing (specs/0081): a *stray* (`marked` False) is one no marker
    names, found by the stack's tag or as a container to adopt (`pxrun import`).

    `current` is the active config; `future` has the pending changes applied (equal to
    `current` when nothing is pending). `pending` names the keys that differ, non-empty
    meaning a restart is due. `digest` goes with every write so Proxmox itself refuses a
    change made against a config someone else changed meanwhile.
    """

    name: str
    vmid: int
    node: str
    status: PowerState
    digest: str | None
    current: Container
    future: Container
    pending: frozenset[str] = frozenset()
    volids: dict[str, str] = {}  # rootfs / mpN -> allocated volid (current view)
    unused: tuple[str, ...] = ()
    unused_slots: dict[str, str] = {}  # unusedN -> volid (data kept from a detach)
    lock: str | None = None
    fingerprint: str | None = None  # provisioning fingerprint from the marker
    tainted: bool = False
    taint_step: str = ""  # the provisioning step that failed, when that is what tainted it
    taint_log: str = ""
    tailnet: str | None = None  # joined a tailnet under this hostname (the marker says)
    tagged: bool = True  # carries the stack's tag (False: found by hostname, or to adopt)
    marked: bool = True  # our marker names it (False: a stray, `name` is ct<vmid>)
    image_digest: str | None = None  # the digest of the OCI image it was created from
    recreates: Recreated | None = None  # from the marker: the lost copy this one replaced

    @property
    def needs_restart(self) -> bool:
        return bool(self.pending)


class Problem(_Frozen):
    """Something observe could not make sense of; the planner must not act on it blindly."""

    vmid: int
    node: str
    message: str
    name: str | None = None  # the spec name its marker claims, when that much was readable


class HaRuleInfo(_Frozen):
    """A PVE 9 HA rule as `GET /cluster/ha/rules` lists it; containers by vmid."""

    rule: str
    type: str  # node-affinity | resource-affinity
    vmids: tuple[int, ...] = ()  # the `ct:` resources, in the rule's order
    others: tuple[str, ...] = ()  # resources that are not containers (vm:100)
    nodes: dict[str, int] | None = None
    strict: bool = False
    affinity: str | None = None
    disable: bool = False
    comment: str | None = None


class Observed(_Frozen):
    """The cluster as seen by one `observe_cluster` call for one stack."""

    stack: str
    nodes: dict[str, NodeInfo] = {}
    storages: tuple[StorageInfo, ...] = ()
    templates: tuple[TemplateInfo, ...] = ()
    bridges: tuple[BridgeInfo, ...] = ()
    guests: dict[int, GuestRef] = {}  # every guest, for vmid and hostname conflicts
    containers: dict[str, ObservedContainer] = {}  # managed by this stack, by spec name
    strays: tuple[ObservedContainer, ...] = ()  # ours by tag (or to adopt), no marker names
    unknown: tuple[GuestRef, ...] = ()  # tagged for this stack, on a node that did not answer
    problems: tuple[Problem, ...] = ()  # tagged but unreadable, unclaimed or duplicated
    # Older copies of a container recreated after their node was lost: the marker of a
    # newer copy of the same name names them (`recreates`). Named as the container.
    stale: tuple[ObservedContainer, ...] = ()
    catalog: tuple[CatalogEntry, ...] = ()  # downloadable templates (aplinfo), per node
    requests: int = 0  # API requests the observation cost (when the client counts them)
    ha_resources: dict[int, HaSettings] | None = None  # by vmid; None: not read
    ha_rules: dict[str, HaRuleInfo] | None = None  # every rule, by id; None: not read
    ha_problem: str | None = None  # why HA resources or rules could not be read
    pve_version: str | None = None  # `GET /version` (read when the stack uses PVE 9 fields)

    def storages_on(self, node: str) -> tuple[StorageInfo, ...]:
        return tuple(s for s in self.storages if s.node == node)

    def templates_on(self, node: str) -> tuple[TemplateInfo, ...]:
        return tuple(t for t in self.templates if t.node == node)

    def bridges_on(self, node: str) -> tuple[str, ...]:
        return tuple(b.iface for b in self.bridges if b.node == node)
