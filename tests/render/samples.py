"""Small, hand-built plans: one per action and per section of the human plan.

Built with the planner's own model (not by running the planner), so the renderer's golden
files change only when rendering changes. Each entry is (name, Plan); the golden file is
tests/render/golden/<name>.txt.
"""

from __future__ import annotations

from typing import Any

from pxrun.plan.model import (
    SENSITIVE,
    Action,
    Backup,
    ConfigUpdate,
    CreateContainer,
    DataVolume,
    DeleteContainer,
    FieldDiff,
    LeaveTailnet,
    Migrate,
    MoveVolume,
    Plan,
    PlanDiagnostic,
    Power,
    ReassignVolume,
    Reprovision,
    ResizeVolume,
    ResourceChange,
    Snapshot,
    Summary,
    Taint,
    UnknownContainer,
)

HASH = "sha256:" + "ab" * 32
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
OLD_TEMPLATE = "local:vztmpl/debian-11-standard_11.7-1_amd64.tar.zst"


def _view(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "hostname": "web-1", "vmid": None, "node": "pve1", "template": TEMPLATE,
        "storage": "local-lvm",
        "resources": {"cores": 1, "cpulimit": None, "memory": 512, "swap": 256, "disk": 4},
        "networks": {"net0": {"name": "eth0", "bridge": "vmbr0", "ip": "dhcp", "gw": None}},
        "mounts": {}, "features": None, "unprivileged": True, "state": "running",
        "tags": ["web"], "env": None, "provision": ["packages", "files[/etc/motd]"],
    }
    return {**base, **over}


def _plan(*changes: ResourceChange, **kw: Any) -> Plan:
    summary = kw.pop("summary", None) or Summary(
        add=sum(c.action in (Action.CREATE,) for c in changes),
        change=sum(c.action is Action.UPDATE for c in changes),
        replace=sum(c.action.is_replace for c in changes),
        destroy=sum(c.action is Action.DELETE for c in changes),
        drifted=len(kw.get("drift", ())))
    digests = {c.address: c.digest for c in changes if c.vmid is not None}
    return Plan(stack="demo", spec_hash=HASH, changes=changes, summary=summary,
                observed_digests=digests, **kw)


def create() -> Plan:
    after = _view(env={"API_KEY": SENSITIVE, "MODE": "prod"})
    return _plan(ResourceChange(
        address="web-1", action=Action.CREATE, node="pve1", after=after, reason="missing",
        operations=(CreateContainer(node="pve1", vmid=None, template=TEMPLATE,
                                    storage="local-lvm", params={"hostname": "web-1"},
                                    marker_template="debian-12"),
                    Power(action="start"))))


def update() -> Plan:
    before = _view(vmid=102, node="pve1", resources={"cores": 1, "memory": 512, "swap": 256,
                                                     "disk": 4})
    after = _view(vmid=102, node="pve2", resources={"cores": 2, "memory": 1024, "swap": 256,
                                                    "disk": 8})
    diffs = (
        FieldDiff(op="change", path="node", old="pve1", new="pve2"),
        FieldDiff(op="change", path="resources.cores", old=1, new=2),
        FieldDiff(op="change", path="resources.memory", old=512, new=1024),
        FieldDiff(op="change", path="resources.disk", old=4, new=8),
        FieldDiff(op="change", path="storage", old="local-lvm", new="fast"),
        FieldDiff(op="add", path="features", old=None, new={"nesting": True}),
        FieldDiff(op="add", path="networks.net1", old=None,
                  new={"name": "eth1", "bridge": "vmbr1", "ip": "10.0.0.5/24", "gw": None}),
        FieldDiff(op="change", path="env.API_KEY", old=SENSITIVE, new=SENSITIVE),
        FieldDiff(op="remove", path="tags", old=["web", "old"], new=None),
    )
    ops = (
        ConfigUpdate(set={"cores": "2", "memory": "1024", "features": "nesting=1",
                          "net1": "name=eth1,bridge=vmbr1,ip=10.0.0.5/24"},
                     delete=("tags",), pending=("features", "env")),
        ResizeVolume(disk="rootfs", size_gib=8),
        Power(action="stop"), MoveVolume(volume="rootfs", storage="fast"), Power(action="start"),
        Migrate(source="pve1", target="pve2", restart=True),
        Power(action="restart", policy="auto"),
    )
    return _plan(ResourceChange(
        address="web-2", action=Action.UPDATE, node="pve1", vmid=102, digest="d" * 40,
        before=before, after=after, diffs=diffs, restart_required=True, operations=ops))


def update_restart_never() -> Plan:
    diffs = (FieldDiff(op="change", path="timezone", old="UTC", new="Europe/Berlin"),
             FieldDiff(op="change", path="description", old="old notes", new="new notes"))
    return _plan(ResourceChange(
        address="db", action=Action.UPDATE, node="pve3", vmid=120, digest="e" * 40,
        before=_view(vmid=120, timezone="UTC"), after=_view(vmid=120, timezone="Europe/Berlin"),
        diffs=diffs, restart_required=True, restart_policy="never",
        operations=(ConfigUpdate(set={"timezone": "Europe/Berlin", "description": "new notes"},
                                 pending=("timezone",)),
                    Power(action="restart", policy="never"))), restart_policy="never")


def replace() -> Plan:
    # Both sides of a template change are what the containers are made from (resolved
    # volids), never a volid against the spec's shorthand (issue 11).
    diffs = (FieldDiff(op="change", path="template", old=OLD_TEMPLATE, new=TEMPLATE),
             FieldDiff(op="change", path="resources.memory", old=512, new=1024))
    return _plan(ResourceChange(
        address="db", action=Action.DELETE_THEN_CREATE, node="pve1", vmid=103, digest="f" * 40,
        before=_view(vmid=103, template=OLD_TEMPLATE), after=_view(vmid=103), diffs=diffs,
        reason="cannot_update", replace_paths=("template",),
        operations=(DeleteContainer(node="pve1", vmid=103, stop_first=True),
                    CreateContainer(node="pve1", vmid=103, template=TEMPLATE,
                                    storage="local-lvm", marker_template="debian-12"),
                    Power(action="start"))))


def replace_create_first() -> Plan:
    return _plan(ResourceChange(
        address="cache", action=Action.CREATE_THEN_DELETE, node="pve2", vmid=105,
        digest="a" * 40, before=_view(vmid=105, unprivileged=False),
        after=_view(vmid=None), reason="replace_requested",
        operations=(CreateContainer(node="pve2", vmid=None, template=TEMPLATE,
                                    storage="local-lvm", marker_template="debian-12"),
                    DeleteContainer(node="pve2", vmid=105, stop_first=True))))


def delete() -> Plan:
    return _plan(ResourceChange(
        address="old-1", action=Action.DELETE, node="pve1", vmid=104, digest="b" * 40,
        before=_view(vmid=104), reason="destroy_mode",
        operations=(DeleteContainer(node="pve1", vmid=104, stop_first=True),
                    LeaveTailnet(hostname="old-1.home.lan"))), mode="destroy")


def update_provision() -> Plan:
    """A tainted container: the step that failed runs again, with the steps after it."""
    steps = ("network", "files[/etc/nginx/nginx.conf]", "run[enable nginx]")
    return _plan(ResourceChange(
        address="web-1", action=Action.UPDATE, node="pve1", vmid=101, digest="c" * 40,
        before=_view(vmid=101), after=_view(vmid=101),
        diffs=(FieldDiff(op="change", path="resources.memory", old=512, new=1024),
               FieldDiff(op="change", path="provision", new=list(steps[1:]))),
        reason="changed: resources.memory; tainted by a failed apply; provision: "
               "files[/etc/nginx/nginx.conf], run[enable nginx]",
        taint=Taint(step="files[/etc/nginx/nginx.conf]",
                    log=".pxrun/logs/20250101T120000Z-42/web-1.log"),
        operations=(ConfigUpdate(set={"memory": "1024"}),
                    Reprovision(steps=steps, fingerprints={
                        "files[/etc/nginx/nginx.conf]": "h0123456789ab",
                        "run[enable nginx]": "h0123456789ab"}))))


def prune() -> Plan:
    return _plan(
        ResourceChange(address="web-1", action=Action.NO_OP, node="pve1", vmid=101,
                       digest="c" * 40, before=_view(vmid=101), after=_view(vmid=101)),
        ResourceChange(address="web-3", action=Action.DELETE, node="pve2", vmid=107,
                       digest="9" * 40, before=_view(vmid=107), reason="not_in_spec",
                       prune=True,
                       operations=(DeleteContainer(node="pve2", vmid=107, stop_first=True),)))


def drift() -> Plan:
    read = ResourceChange(
        address="web-1", action=Action.READ, node="pve1", vmid=101, digest="c" * 40,
        before=_view(vmid=101), after=_view(vmid=101, resources={"memory": 2048}),
        diffs=(FieldDiff(op="change", path="resources.memory", old=512, new=2048),
               FieldDiff(op="add", path="mounts.mp0", old=None,
                         new={"volume": "local-lvm:8", "path": "/srv"})),
        reason="drift")
    missing = ResourceChange(address="db", action=Action.READ, before=_view(),
                             reason="in the spec, not in the cluster")
    unexpected = ResourceChange(address="web-9", action=Action.READ, node="pve2", vmid=109,
                                digest="8" * 40, after=_view(vmid=109),
                                reason="managed by this stack, not in the spec")
    return _plan(mode="refresh-only", drift=(missing, read, unexpected),
                 summary=Summary(drifted=3))


def no_drift() -> Plan:
    return _plan(mode="refresh-only")


def no_changes() -> Plan:
    return _plan(ResourceChange(address="web-1", action=Action.NO_OP, node="pve1", vmid=101,
                                digest="c" * 40, before=_view(vmid=101),
                                after=_view(vmid=101)))


def unknown() -> Plan:
    return _plan(unknown=(UnknownContainer(vmid=130, node="pve3", name="web-4"),),
                 diagnostics=(PlanDiagnostic(severity="warning", address="web-4",
                                             message="node pve3 did not answer"),))


def errored() -> Plan:
    return _plan(diagnostics=(
        PlanDiagnostic(severity="error", address="db",
                       message="prevent_destroy is set, but the plan must replace it "
                               "(template changed)",
                       hint="remove lifecycle.prevent_destroy, or keep the template"),
        PlanDiagnostic(severity="error", address="web-2",
                       message="no node has room: asked 4096 MiB; pve1 has 1024 MiB free"),
    ))


def _mount(volume: str, path: str = "/srv/data") -> dict[str, Any]:
    return {"path": path, "volume": volume}


def update_mounts() -> Plan:
    """A mount point that grows says `# resize`; one that moves says the stop."""
    diffs = (FieldDiff(op="change", path="mounts.mp0.volume", old="local-lvm:32",
                       new="local-lvm:64"),
             FieldDiff(op="change", path="mounts.mp1.volume", old="local-lvm:8", new="tank:8"),
             FieldDiff(op="change", path="mounts.mp2.volume", old="local-lvm:4", new="tank:6"))
    mounts = {"mp0": _mount("local-lvm:32"), "mp1": _mount("local-lvm:8", "/logs"),
              "mp2": _mount("local-lvm:4", "/cache")}
    after = {"mp0": _mount("local-lvm:64"), "mp1": _mount("tank:8", "/logs"),
             "mp2": _mount("tank:6", "/cache")}
    return _plan(ResourceChange(
        address="files", action=Action.UPDATE, node="pve1", vmid=110, digest="1" * 40,
        before=_view(vmid=110, mounts=mounts), after=_view(vmid=110, mounts=after),
        diffs=diffs, operations=(
            ResizeVolume(disk="mp0", size_gib=64), ResizeVolume(disk="mp2", size_gib=6),
            Power(action="stop"), MoveVolume(volume="mp1", storage="tank"),
            MoveVolume(volume="mp2", storage="tank"), Power(action="start"))))


def update_pending_only() -> Plan:
    """Nothing changes in the spec, but an earlier change is still pending: the plan says
    which keys, and that the restart applies them."""
    return _plan(ResourceChange(
        address="db", action=Action.UPDATE, node="pve3", vmid=120, digest="e" * 40,
        before=_view(vmid=120), after=_view(vmid=120), restart_required=True,
        pending=("features", "timezone"),
        operations=(Power(action="restart", policy="auto", await_address="wait"),)))


def update_tainted_snapshot() -> Plan:
    """A tainted container is completed in place, and a snapshot comes first."""
    diffs = (FieldDiff(op="change", path="timezone", old="UTC", new="Europe/Berlin"),
             FieldDiff(op="change", path="provision.packages", old=None,
                       new="0123456789abcdef"))
    return _plan(ResourceChange(
        address="app", action=Action.UPDATE, node="pve2", vmid=130, digest="3" * 40,
        before=_view(vmid=130), after=_view(vmid=130), diffs=diffs, restart_required=True,
        taint=Taint(), operations=(
            Snapshot(keep=3, rollback=True),
            ConfigUpdate(set={"timezone": "Europe/Berlin"}, pending=("timezone",)),
            Power(action="restart", policy="auto"))))


def replace_keeps_data() -> Plan:
    """A replace forced by the root disk hands the data volumes to the new container."""
    mounts = {"mp0": _mount("local-lvm:3"), "mp1": _mount("local-lvm:1", "/logs")}
    diffs = (FieldDiff(op="change", path="resources.disk", old=6, new=5),)
    return _plan(ResourceChange(
        address="db", action=Action.DELETE_THEN_CREATE, node="pve1", vmid=140,
        digest="4" * 40, before=_view(vmid=140, mounts=mounts),
        after=_view(vmid=None, mounts=mounts), diffs=diffs, replace_paths=("resources.disk",),
        reason="resources.disk cannot change in place", operations=(
            Backup(node="pve1", vmid=140, storage="backups"),
            Power(action="stop"),
            CreateContainer(node="pve1", vmid=None, template=TEMPLATE, storage="local-lvm",
                            marker_template=TEMPLATE),
            ReassignVolume(node="pve1", source_vmid=140, volume="mp0", target_slot="mp0",
                           size_gib=3),
            ReassignVolume(node="pve1", source_vmid=140, volume="unused0",
                           target_slot="unused0", size_gib=2),
            DeleteContainer(node="pve1", vmid=140, stop_first=False),
            Power(action="start", await_address="wait"))))


def replace_discards_data_rolling() -> Plan:
    """A replica replaced after another one (rolling), its data discarded: said loudly."""
    return _plan(ResourceChange(
        address="web-2", action=Action.DELETE_THEN_CREATE, node="pve2", vmid=151,
        digest="5" * 40, before=_view(vmid=151), after=_view(vmid=151),
        diffs=(FieldDiff(op="change", path="unprivileged", old=False, new=True),),
        replace_paths=("unprivileged",), reason="unprivileged cannot change in place",
        roll_after=("web-1",), data_destroyed=(
            DataVolume(slot="mp0", volid="local-lvm:vm-151-disk-1", size_gib=3),),
        operations=(DeleteContainer(node="pve2", vmid=151, stop_first=True),
                    CreateContainer(node="pve2", vmid=151, template=TEMPLATE,
                                    storage="local-lvm", marker_template=TEMPLATE),
                    Power(action="start", await_address="require"))))


def delete_data() -> Plan:
    """A prune destroys the data volumes with the container: the plan names them."""
    return _plan(ResourceChange(
        address="old-2", action=Action.DELETE, node="pve1", vmid=160, digest="6" * 40,
        before=_view(vmid=160), reason="no longer in the spec: pruned", prune=True,
        data_destroyed=(DataVolume(slot="mp0", volid="local-lvm:vm-160-disk-1", size_gib=3),
                        DataVolume(slot="unused0", volid="local-lvm:vm-160-disk-2")),
        operations=(DeleteContainer(node="pve1", vmid=160, stop_first=True),)))


def errored_with_changes() -> Plan:
    """A plan with an error still shows every change (the error says what blocks it)."""
    base = update()
    diag = PlanDiagnostic(severity="error", address="web-2",
                          message="mp0: Proxmox refuses to add, change or remove a mount "
                                  "point of a protected container; set protection: false "
                                  "first (it can be set back afterwards)")
    return base.model_copy(update={"diagnostics": (diag,)})


SAMPLES = {f.__name__: f for f in (create, update, update_restart_never, update_provision,
                                    replace,
                                    replace_create_first, delete, prune, drift, no_drift,
                                    no_changes, unknown, errored, update_mounts,
                                    update_pending_only, update_tainted_snapshot,
                                    replace_keeps_data, replace_discards_data_rolling,
                                    delete_data, errored_with_changes)}
