"""Small builders so a planner case file stays short.

- `build_stack(fragment)`: a spec fragment (`stack`, `defaults`, `containers`, `count`)
  -> a resolved `Stack`; every container gets `template: debian-12` and a net0 on vmbr0
  unless it says otherwise.
- `build_observed(fragment, stack)`: a compact cluster -> `Observed`. Nodes, storages,
  templates and bridges have sensible defaults (one node `pve1`); `ha_rules` (rule id ->
  HaRuleInfo fields) and `pve_version` as given; managed containers are,
  by default, exactly what the spec asks for (converged) and a case writes only how the
  cluster differs (`set:` deep-merged over the spec, `future:` for pending values).
  A container may say which lost copy it `recreates` ({vmid, node, at}); `stale:` lists
  old copies of containers (name, vmid, node, status, extra `volids`, `protection`).
- `observed_from(stack)`: the Observed a converged cluster would show for `stack`.
"""

from __future__ import annotations

from typing import Any

from pxrun.observe.model import (
    BridgeInfo,
    CatalogEntry,
    GuestRef,
    HaRuleInfo,
    NodeInfo,
    Observed,
    ObservedContainer,
    Problem,
    Recreated,
    StorageInfo,
    TemplateInfo,
)
from pxrun.plan.options import PlanOptions
from pxrun.plan.provision import Provisioning
from pxrun.plan.templates import resolve_template
from pxrun.pve.config import canonical
from pxrun.spec.merge import deep_merge
from pxrun.spec.model import Container, Stack
from pxrun.spec.steps import encode_fingerprints

GIB = 1024**3
MIB = 1024**2
DEBIAN = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
CONTAINER_DEFAULTS: dict[str, Any] = {
    "template": "debian-12",
    "networks": {"net0": {"bridge": "vmbr0", "ip": "dhcp"}},
}


def build_stack(fragment: dict[str, Any] | None) -> Stack:
    fragment = fragment or {}
    defaults = deep_merge(CONTAINER_DEFAULTS, fragment.get("defaults") or {})
    containers: dict[str, Any] = {}
    groups: dict[str, list[str]] = {}
    for name, raw in (fragment.get("containers") or {}).items():
        entry = dict(raw or {})
        count = entry.pop("count", None)
        names = [f"{name}-{i}" for i in range(1, count + 1)] if count else [name]
        if count:
            groups[name] = names
        for each in names:
            containers[each] = {**deep_merge(defaults, entry), "name": each}
    return Stack.model_validate({"stack": fragment.get("stack", "homelab"),
                                 "containers": containers, "groups": groups,
                                 "ha_rules": fragment.get("ha_rules")})


def _nodes(fragment: dict[str, Any]) -> dict[str, NodeInfo]:
    spec = fragment.get("nodes") or {"pve1": {}}
    nodes = {}
    for name, given in spec.items():
        info = given or {}
        total = int(info.get("mem_total_mib", 65536)) * MIB
        free = int(info.get("mem_free_mib", total // MIB)) * MIB
        nodes[name] = NodeInfo(name=name, status=info.get("status", "online"),
                               mem_total=total, mem_used=total - free,
                               containers=int(info.get("containers", 0)))
    return nodes


def _per_node(items: list[dict[str, Any]] | None, default: list[dict[str, Any]],
              nodes: list[str]) -> list[dict[str, Any]]:
    """Items without a `node` are on every node."""
    out = []
    for item in default if items is None else items:
        for node in [item["node"]] if "node" in item else nodes:
            out.append({**item, "node": node})
    return out


_STORAGES = [
    {"storage": "local-lvm", "content": ["rootdir", "images"], "avail_gib": 1000},
    {"storage": "local", "content": ["vztmpl", "iso", "backup"], "avail_gib": 100},
]


def _cluster(fragment: dict[str, Any]) -> dict[str, Any]:
    nodes = _nodes(fragment)
    names = sorted(nodes)
    storages = tuple(
        StorageInfo(node=s["node"], storage=s["storage"], type=s.get("type", "lvmthin"),
                    content=frozenset(s.get("content", ["rootdir"])),
                    shared=bool(s.get("shared", False)),
                    avail=int(s.get("avail_gib", 1000)) * GIB,
                    total=int(s.get("avail_gib", 1000)) * GIB)
        for s in _per_node(fragment.get("storages"), _STORAGES, names))
    templates = tuple(TemplateInfo(node=t["node"], storage=t["volid"].split(":")[0],
                                   volid=t["volid"])
                      for t in _per_node(_dicts(fragment.get("templates"), "volid"),
                                         [{"volid": DEBIAN}], names))
    catalog = tuple(CatalogEntry(node=c["node"], template=c["template"])
                    for c in _per_node(_dicts(fragment.get("catalog"), "template"), [], names))
    bridges = tuple(BridgeInfo(node=b["node"], iface=b["iface"])
                    for b in _per_node(_dicts(fragment.get("bridges"), "iface"),
                                       [{"iface": "vmbr0"}], names))
    return {"nodes": nodes, "storages": storages, "templates": templates, "catalog": catalog,
            "bridges": bridges}


def _dicts(items: list[Any] | None, key: str) -> list[dict[str, Any]] | None:
    """Allow plain strings in a list of records: `[vmbr0]` == `[{iface: vmbr0}]`."""
    if items is None:
        return None
    return [item if isinstance(item, dict) else {key: item} for item in items]


def as_observed(want: Container, *, node: str, vmid: int, template: str | None) -> Container:
    """What observe would read back from a container made from `want`: identity from the
    cluster, nothing the API cannot show, Proxmox-filled values (MACs, arch) present."""
    nets = {slot: net if net.hwaddr else net.model_copy(
                update={"hwaddr": f"BC:24:11:00:{vmid % 256:02X}:{i:02X}"})
            for i, (slot, net) in enumerate(want.networks.items())}
    return canonical(want.model_copy(update={
        "node": node, "vmid": vmid, "template": template, "networks": nets,
        "password": None, "ssh_keys": [], "provision": None, "depends_on": [],
        "lifecycle": type(want.lifecycle)(), "arch": want.arch or "amd64",
        "ostype": want.ostype or "debian"}))


def _first_node(want: Container, nodes: list[str]) -> str:
    if isinstance(want.node, list):
        return want.node[0]
    return nodes[0] if want.node == "auto" else want.node


def recorded(want: Container, stack: Stack, sources: dict[str, bytes] | None = None,
             secrets: dict[str, str] | None = None,
             made: dict[tuple[Any, ...], Provisioning] | None = None) -> str | None:
    """The fingerprint record of a container provisioned exactly as `want` says. `made`:
    the Provisioning of each (sources, secrets) already made (one per stack would walk the
    whole stack again for every container of a 10,000-container benchmark)."""
    key = (tuple(sorted((sources or {}).items())), tuple(sorted((secrets or {}).items())))
    provisioning = made.get(key) if made is not None else None
    if provisioning is None:
        options = PlanOptions(file_sources=sources or {}, secrets=secrets or {})
        provisioning = Provisioning(stack, options)
        if made is not None:
            made[key] = provisioning
    return encode_fingerprints(provisioning.wanted(want).fingerprints) or None


def build_observed(fragment: dict[str, Any] | None, stack: Stack,
                   sources: dict[str, bytes] | None = None,
                   secrets: dict[str, str] | None = None) -> Observed:
    """`sources`/`secrets`: what the containers were provisioned with (an entry's own
    `sources:` and `secrets:` win), so a converged container records the fingerprints
    the plan wants."""
    fragment = fragment or {}
    cluster = _cluster(fragment)
    partial = Observed(stack=stack.stack, **cluster)
    names = sorted(cluster["nodes"])
    containers: dict[str, ObservedContainer] = {}
    strays: list[ObservedContainer] = []
    guests: dict[int, GuestRef] = {}
    made: dict[tuple[Any, ...], Provisioning] = {}
    for index, (name, given) in enumerate((fragment.get("containers") or {}).items()):
        entry = given or {}
        desired = stack.containers.get(name)
        base = desired.model_dump() if desired is not None else {}
        spec = deep_merge(deep_merge(base, entry.get("spec") or {}), entry.get("set") or {})
        want = Container.model_validate({**spec, "name": name})
        node = entry.get("node") or _first_node(want, names)
        vmid = int(entry.get("vmid") or want.vmid or 100 + index)
        template = entry.get("template")
        if template is None and want.template is not None:
            found = resolve_template(want.template, node, partial, want.arch)
            template = found.volid if found else want.template
        status = entry.get("status", want.state)
        current = as_observed(want, node=node, vmid=vmid, template=template)
        current = current.model_copy(update={"state": "running" if status == "running"
                                             else "stopped"})
        future = current
        if entry.get("future"):
            future = canonical(Container.model_validate(
                deep_merge(current.model_dump(), entry["future"])))
        future = future.model_copy(update={"state": current.state})
        own = {k: v.encode() for k, v in (entry.get("sources") or {}).items()}
        fingerprint = entry.get("fingerprint", recorded(want, stack, own or sources,
                                                        entry.get("secrets", secrets), made))
        marked, tagged = bool(entry.get("marked", True)), bool(entry.get("tagged", True))
        key = name if marked else f"ct{vmid}"  # observe names a stray ct<vmid>
        if not marked:  # and there is no fingerprint to read
            fingerprint = None
            current = current.model_copy(update={"name": key})
            future = future.model_copy(update={"name": key})
        item = ObservedContainer(
            name=key, vmid=vmid, node=node, status=status,
            digest=entry.get("digest", f"digest-{vmid}"), current=current, future=future,
            pending=frozenset(entry.get("pending") or ([] if future == current else ["*"])),
            volids={"rootfs": f"{want.storage}:vm-{vmid}-disk-0",
                    **{slot: f"{m.storage}:vm-{vmid}-disk-{i + 1}"
                       for i, (slot, m) in enumerate(want.mounts.items()) if m.kind == "new"},
                    **{slot: m.volume for slot, m in want.mounts.items()
                       if m.kind == "volume" and m.volume}},
            fingerprint=fingerprint, tainted=bool(entry.get("tainted", False)),
            taint_step=entry.get("taint_step", ""), taint_log=entry.get("taint_log", ""),
            tailnet=entry.get("tailnet"), marked=marked, tagged=tagged,
            image_digest=entry.get("image_digest"),
            recreates=Recreated(**entry["recreates"]) if entry.get("recreates") else None)
        if marked:
            containers[name] = item
        else:
            strays.append(item)
        guests[vmid] = GuestRef(vmid=vmid, node=node, type="lxc", name=want.hostname,
                                stack=stack.stack if tagged else None)
    for vmid, guest in (fragment.get("guests") or {}).items():
        guests[int(vmid)] = GuestRef(vmid=int(vmid), node=guest.get("node", names[0]),
                                     type=guest.get("type", "lxc"), name=guest.get("name", ""),
                                     stack=guest.get("stack"))
    problems = tuple(Problem(vmid=p["vmid"], node=p.get("node", names[0]),
                             name=p.get("name"), message=p.get("message", "unreadable"))
                     for p in fragment.get("problems") or [])
    unknown = tuple(GuestRef(vmid=u["vmid"], node=u["node"], type="lxc",
                             name=u.get("name", ""), stack=stack.stack)
                    for u in fragment.get("unknown") or [])
    stale = tuple(_stale_copy(item, stack, guests) for item in fragment.get("stale") or [])
    ha = {c.vmid: c.current.ha for c in [*containers.values(), *strays]
          if c.current.ha is not None}
    rules = {rid: HaRuleInfo(rule=rid, **{**r, "vmids": tuple(r.get("vmids", ()))})
             for rid, r in (fragment.get("ha_rules") or {}).items()}
    return partial.model_copy(update={"containers": containers, "guests": guests,
                                      "unknown": unknown, "strays": tuple(strays),
                                      "problems": problems, "stale": stale,
                                      "ha_resources": None if "ha_resources_unreadable"
                                      in fragment else ha,
                                      "ha_problem": fragment.get("ha_resources_unreadable"),
                                      "ha_rules": rules if "ha_rules" in fragment else None,
                                      "pve_version": fragment.get("pve_version")})


def _stale_copy(item: dict[str, Any], stack: Stack,
                guests: dict[int, GuestRef]) -> ObservedContainer:
    """An old copy of a spec entry, as the spec asked for it (before it was recreated)."""
    want = stack.containers[item["name"]]
    vmid, node = int(item["vmid"]), item["node"]
    status = item.get("status", "running")
    current = as_observed(want, node=node, vmid=vmid, template=DEBIAN).model_copy(
        update={"state": status, "protection": item.get("protection")})
    guests[vmid] = GuestRef(vmid=vmid, node=node, type="lxc", name=want.hostname,
                            stack=stack.stack)
    return ObservedContainer(
        name=want.name, vmid=vmid, node=node, status=status, digest=f"digest-{vmid}",
        current=current, future=current,
        volids={"rootfs": f"{want.storage}:vm-{vmid}-disk-0", **(item.get("volids") or {})},
        unused=tuple(item.get("unused") or ()))


def observed_from(stack: Stack, nodes: dict[str, Any] | None = None) -> Observed:
    """The Observed that a cluster converged to `stack` would show."""
    fragment: dict[str, Any] = {"containers": {name: {} for name in stack.containers}}
    if nodes:
        fragment["nodes"] = nodes
    return build_observed(fragment, stack)
