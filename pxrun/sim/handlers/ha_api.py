"""`/cluster/ha`: HA resources, PVE 9 rules, migrate/relocate requests and the HA status.

As pve-ha-manager's API: a resource id is `ct:<vmid>` (a bare vmid is accepted), `enabled`
is an alias of `started`, the config has a `digest`, and an HA-managed container is started,
stopped and migrated through the HA manager (ha.py, handlers/hareq.py). PVE 9 replaced groups
with rules: `node-affinity` (nodes with optional `:priority`, `strict`) and
`resource-affinity` (`positive` keeps resources together, `negative` apart). Groups are not
modelled: `group` on a resource is refused with a pointer to rules.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from pxrun.sim import ha
from pxrun.sim.api import ApiError, Request, fail, param_error, route
from pxrun.sim.formats import split_list
from pxrun.sim.handlers.hareq import ha_request

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

RESOURCE_KEYS = ("comment", "failback", "max_relocate", "max_restart", "state")
RULE_KEYS = ("affinity", "comment", "disable", "nodes", "resources", "strict")


def _digest(section: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(section, sort_keys=True).encode()).hexdigest()


@route("GET", "/cluster/ha")
def ha_index(sim: Simulator, req: Request) -> Any:
    return [{"id": "status"}, {"id": "resources"}, {"id": "rules"}]


def _resource_json(sim: Simulator, sid: str, item: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"sid": sid, "type": "ct",
                            "digest": _digest(ha.data(sim)["resources"])}
    for key in RESOURCE_KEYS:
        if key in item:
            data[key] = item[key]
    return data


@route("GET", "/cluster/ha/resources")
def list_resources(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        if req.params.get("type") == "vm":
            return []
        return [_resource_json(sim, sid, item)
                for sid, item in sorted(ha.data(sim)["resources"].items())]


def _sid(sim: Simulator, value: str) -> str:
    found = ha.SID_RE.match(value)
    if not found:
        raise param_error({"sid": f"unable to parse service id '{value}'"})
    kind, vmid = found.group(1), int(found.group(2))
    if kind == "vm" or vmid not in sim.containers:
        raise fail(f"{'VM' if kind == 'vm' else 'CT'} {vmid} does not exist")
    return f"ct:{vmid}"


@route("POST", "/cluster/ha/resources")
def create_resource(sim: Simulator, req: Request) -> Any:
    p = req.params
    if p.get("group"):
        raise param_error({"group": "HA groups were replaced by HA rules in Proxmox VE 9: use "
                                    "a node-affinity rule (/cluster/ha/rules)"})
    with sim.lock:
        sid = _sid(sim, str(p["sid"]))
        resources = ha.data(sim)["resources"]
        if sid in resources:
            raise fail(f"resource ID '{sid}' already defined")
        item = dict(ha.RESOURCE_DEFAULTS)
        item.update({k: p[k] for k in RESOURCE_KEYS if k in p})
        resources[sid] = item
        ct = sim.containers[ha.vmid_of(sid)]
        if ha.state_of(item) == "started" and not ct.running:
            from pxrun.sim.handlers.hareq import lrm

            lrm(sim, ct, "hastart", None)
        sim.commit()
    return None


def _resource(sim: Simulator, value: str) -> tuple[str, dict[str, Any]]:
    sid = ha.sid_of(value)
    item = ha.data(sim)["resources"].get(sid)
    if item is None:
        raise fail(f"no such resource '{sid}'")
    return sid, item


@route("GET", "/cluster/ha/resources/{sid}")
def read_resource(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        sid, item = _resource(sim, str(req.params["sid"]))
        return _resource_json(sim, sid, item)


@route("PUT", "/cluster/ha/resources/{sid}")
def update_resource(sim: Simulator, req: Request) -> Any:
    p = req.params
    if p.get("group"):
        raise param_error({"group": "HA groups were replaced by HA rules in Proxmox VE 9"})
    with sim.lock:
        sid, item = _resource(sim, str(p["sid"]))
        if p.get("digest") and p["digest"] != _digest(ha.data(sim)["resources"]):
            raise fail("detected modified configuration - file changed by other user? "
                       "Try again.")
        for key in split_list(str(p.get("delete") or "")):
            item.pop(key, None)
        item.update({k: p[k] for k in RESOURCE_KEYS if k in p})
        ct = sim.containers.get(ha.vmid_of(sid))
        if ct is not None and "state" in p:
            from pxrun.sim.handlers.hareq import lrm

            state = ha.state_of(item)
            lrm(sim, ct, "hastart" if state == "started" else "hastop", None)
        sim.commit()
    return None


@route("DELETE", "/cluster/ha/resources/{sid}")
def delete_resource(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        sid, _item = _resource(sim, str(req.params["sid"]))
        if req.params.get("purge", 1):
            ha.remove_references(sim, ha.vmid_of(sid))
        else:
            del ha.data(sim)["resources"][sid]
        sim.commit()
    return None


def _move(sim: Simulator, req: Request, what: str) -> Any:
    node = str(req.params["node"])
    with sim.lock:
        sid, _item = _resource(sim, str(req.params["sid"]))
        if node not in sim.nodes:
            raise fail(f"no such cluster node '{node}'")
        ct = sim.containers[ha.vmid_of(sid)]
        if ct.node == node:
            raise fail(f"service '{sid}' already on node '{node}'")
        ha_request(sim, req, ct, "hamigrate", what, node)
        return {"sid": sid, "requested-node": node, "comigrated-resources": [],
                "blocking-resources": []}


@route("POST", "/cluster/ha/resources/{sid}/migrate")
def migrate_resource(sim: Simulator, req: Request) -> Any:
    return _move(sim, req, "migration")


@route("POST", "/cluster/ha/resources/{sid}/relocate")
def relocate_resource(sim: Simulator, req: Request) -> Any:
    return _move(sim, req, "relocation")


# -- rules ------------------------------------------------------------------------------------


def _pve9_only(sim: Simulator, req: Request) -> None:
    """HA rules came with Proxmox VE 9 (groups before them): 501 in 8.4 mode."""
    if not sim.pve9:
        raise ApiError(501, f"Method '{req.method} {req.path}' not implemented")


def _rule_json(sim: Simulator, name: str, rule: dict[str, Any], order: int) -> dict[str, Any]:
    data: dict[str, Any] = {"rule": name, "type": rule["type"], "order": order,
                            "digest": _digest(ha.data(sim)["rules"])}
    for key in RULE_KEYS:
        if key in rule:
            data[key] = rule[key]
    return data


def _check_rule(sim: Simulator, rule: dict[str, Any]) -> None:
    resources = [ha.sid_of(s) for s in split_list(str(rule.get("resources", "")))]
    if not resources:
        raise param_error({"resources": "property is missing and it is not optional"})
    rule["resources"] = ",".join(resources)
    if rule["type"] == "node-affinity":
        if not rule.get("nodes"):
            raise param_error({"nodes": "property is missing and it is not optional"})
        for node in ha.parse_nodes(str(rule["nodes"])):
            if node not in sim.nodes:
                raise param_error({"nodes": f"node '{node}' does not exist"})
        rule.pop("affinity", None)
    else:
        if not rule.get("affinity"):
            raise param_error({"affinity": "property is missing and it is not optional"})
        if len(resources) < 2:
            raise param_error({"resources": "rule must define at least two resources"})
        rule.pop("nodes", None)


@route("GET", "/cluster/ha/rules")
def list_rules(sim: Simulator, req: Request) -> Any:
    _pve9_only(sim, req)
    wanted_type, resource = req.params.get("type"), req.params.get("resource")
    with sim.lock:
        rules = ha.data(sim)["rules"]
        return [_rule_json(sim, name, rule, i + 1)
                for i, (name, rule) in enumerate(rules.items())
                if (not wanted_type or rule["type"] == wanted_type)
                and (not resource or ha.sid_of(str(resource)) in
                     split_list(str(rule.get("resources", ""))))]


@route("POST", "/cluster/ha/rules")
def create_rule(sim: Simulator, req: Request) -> Any:
    _pve9_only(sim, req)
    p = req.params
    with sim.lock:
        rules = ha.data(sim)["rules"]
        name = str(p["rule"])
        if name in rules:
            raise fail(f"rule ID '{name}' already defined")
        rule = {"type": p["type"], **{k: p[k] for k in RULE_KEYS if k in p}}
        _check_rule(sim, rule)
        rules[name] = rule
        sim.commit()
    return None


def _rule(sim: Simulator, name: str) -> dict[str, Any]:
    rule: dict[str, Any] | None = ha.data(sim)["rules"].get(name)
    if rule is None:
        raise fail(f"no such ha rule '{name}'")
    return rule


@route("GET", "/cluster/ha/rules/{rule}")
def read_rule(sim: Simulator, req: Request) -> Any:
    _pve9_only(sim, req)
    with sim.lock:
        name = str(req.params["rule"])
        rule = _rule(sim, name)
        return _rule_json(sim, name, rule, list(ha.data(sim)["rules"]).index(name) + 1)


@route("PUT", "/cluster/ha/rules/{rule}")
def update_rule(sim: Simulator, req: Request) -> Any:
    _pve9_only(sim, req)
    p = req.params
    with sim.lock:
        rule = dict(_rule(sim, str(p["rule"])))
        if rule["type"] != p["type"]:
            raise param_error({"type": "rule type cannot be changed"})
        if p.get("digest") and p["digest"] != _digest(ha.data(sim)["rules"]):
            raise fail("detected modified configuration - file changed by other user? "
                       "Try again.")
        for key in split_list(str(p.get("delete") or "")):
            rule.pop(key, None)
        rule.update({k: p[k] for k in RULE_KEYS if k in p})
        _check_rule(sim, rule)
        ha.data(sim)["rules"][str(p["rule"])] = rule
        sim.commit()
    return None


@route("DELETE", "/cluster/ha/rules/{rule}")
def delete_rule(sim: Simulator, req: Request) -> Any:
    _pve9_only(sim, req)
    with sim.lock:
        _rule(sim, str(req.params["rule"]))
        del ha.data(sim)["rules"][str(req.params["rule"])]
        sim.commit()
    return None


# -- status -----------------------------------------------------------------------------------


@route("GET", "/cluster/ha/status")
def status_index(sim: Simulator, req: Request) -> Any:
    return [{"name": "current"}, {"name": "manager_status"}]


@route("GET", "/cluster/ha/status/current")
def status_current(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        online = [n for n in sim.nodes if sim.node_online(n)]
        master = online[0] if online else next(iter(sim.nodes))
        quorate = len(online) * 2 > len(sim.nodes)
        out: list[dict[str, Any]] = [
            {"id": "quorum", "type": "quorum", "node": master, "quorate": 1 if quorate else 0,
             "status": "OK" if quorate else "No quorum on node"},
            {"id": "master", "type": "master", "node": master,
             "status": f"{master} (active, {_stamp()})"}]
        for node in sim.nodes:
            state = "active" if sim.node_online(node) else "old timestamp - dead?"
            out.append({"id": f"lrm:{node}", "type": "lrm", "node": node,
                        "status": f"{node} ({state}, {_stamp()})"})
        for sid, item in sorted(ha.data(sim)["resources"].items()):
            ct = sim.containers.get(ha.vmid_of(sid))
            if ct is None:
                continue
            crm = item.get("crm_state") or (
                "started" if ct.running else "stopped")
            out.append({"id": f"service:{sid}", "type": "service", "sid": sid,
                        "node": ct.node, "state": ha.state_of(item), "crm_state": crm,
                        "request_state": ha.state_of(item),
                        "status": f"{sid} ({ct.node}, {crm})",
                        "max_restart": item.get("max_restart", 1),
                        "max_relocate": item.get("max_relocate", 1),
                        "failback": item.get("failback", 1)})
        return out


@route("GET", "/cluster/ha/status/manager_status")
def manager_status(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        online = [n for n in sim.nodes if sim.node_online(n)]
        services = {sid: {"node": ct.node, "state": ha.state_of(item)}
                    for sid, item in ha.data(sim)["resources"].items()
                    if (ct := sim.containers.get(ha.vmid_of(sid))) is not None}
        return {"manager_status": {
            "master_node": online[0] if online else None,
            "node_status": {n: "online" if sim.node_online(n) else "fence" for n in sim.nodes},
            "service_status": services}, "quorum": {"quorate": "1"}}


def _stamp() -> str:
    import time

    return time.strftime("%a %b %d %H:%M:%S %Y")
