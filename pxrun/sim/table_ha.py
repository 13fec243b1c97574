"""Parameter table: high availability (`/cluster/ha`: resources, PVE 9 rules, status)."""

from __future__ import annotations

from pxrun.sim.table_param import NODE, B, Endpoint, I, Param, S

SID = S(optional=False, format="pve-ha-resource-or-vm-id")
RULE = S(optional=False, format="pve-configid")
STATES = ("started", "stopped", "enabled", "disabled", "ignored")
RESOURCE: dict[str, Param] = {
    "comment": S(max_length=4096),
    "failback": B(default=1),
    "group": S(format="pve-configid"),
    "max_relocate": I(minimum=0, default=1),
    "max_restart": I(minimum=0, default=1),
    "sid": SID,
    "state": S(enum=STATES, default="started"),
}
RULE_FIELDS: dict[str, Param] = {
    "affinity": S(enum=("positive", "negative")),
    "comment": S(max_length=4096),
    "disable": B(),
    "nodes": S(format="pve-ha-node-list"),
    "resources": S(format="pve-ha-resource-id-list"),
    "rule": RULE,
    "strict": B(default=0),
    "type": S(optional=False, enum=("node-affinity", "resource-affinity")),
}
EDIT = {"delete": S(format="pve-configid-list", max_length=4096), "digest": S(max_length=64)}


def _ep(method: str, template: str, params: dict[str, Param], returns: str = "") -> Endpoint:
    return Endpoint(method, template, dict(params), returns)


ENDPOINTS: list[Endpoint] = [
    _ep("GET", "/cluster/ha", {}, "array"),
    _ep("GET", "/cluster/ha/resources", {"type": S(enum=("ct", "vm"))}, "array"),
    _ep("POST", "/cluster/ha/resources", {**RESOURCE, "type": S(enum=("ct", "vm"))}, "null"),
    _ep("GET", "/cluster/ha/resources/{sid}", {"sid": SID}, "object"),
    _ep("PUT", "/cluster/ha/resources/{sid}", {**RESOURCE, **EDIT}, "null"),
    _ep("DELETE", "/cluster/ha/resources/{sid}", {"purge": B(default=1), "sid": SID}, "null"),
    _ep("POST", "/cluster/ha/resources/{sid}/migrate", {"node": NODE, "sid": SID}, "object"),
    _ep("POST", "/cluster/ha/resources/{sid}/relocate", {"node": NODE, "sid": SID}, "object"),
    _ep("GET", "/cluster/ha/rules",
        {"resource": S(), "type": S(enum=("node-affinity", "resource-affinity"))}, "array"),
    _ep("POST", "/cluster/ha/rules",
        {**RULE_FIELDS, "resources": RULE_FIELDS["resources"].required()}, "null"),
    _ep("GET", "/cluster/ha/rules/{rule}", {"rule": RULE}, "object"),
    _ep("PUT", "/cluster/ha/rules/{rule}", {**RULE_FIELDS, **EDIT}, "null"),
    _ep("DELETE", "/cluster/ha/rules/{rule}", {"rule": RULE}, "null"),
    _ep("GET", "/cluster/ha/status", {}, "array"),
    _ep("GET", "/cluster/ha/status/current", {}, "array"),
    _ep("GET", "/cluster/ha/status/manager_status", {}, "object"),
]
