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
    ConfigUpdate,
    CreateContainer,
    DeleteContainer,
    FieldDiff,
    LeaveTailnet,
    Migrate,
    MoveVolume,
    Plan,
    PlanDiagnostic,
    Power,
    Reprovision,
    ResizeVolume,
    ResourceChange,
    Summary,
    Taint,
    UnknownContainer,
)

HASH = "sha256:" + "ab" * 32
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


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
    diffs = (FieldDiff(op="change", path="template", old="debian-11", new="debian-12"),
             FieldDiff(op="change", path="resources.memory", old=512, new=1024))
    return _plan(ResourceChange(
        address="db", action=Action.DELETE_THEN_CREATE, node="pve1", vmid=103, digest="f" * 40,
        before=_view(vmid=103, template="debian-11"), after=_view(vmid=103), diffs=diffs,
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


SAMPLES = {f.__name__: f for f in (create, update, update_restart_never, update_provision,
                                    replace,
                                    replace_create_first, delete, prune, drift, no_drift,
                                    no_changes, unknown, errored)}
