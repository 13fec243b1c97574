"""Parameter table: a container's firewall (options, rules, IP sets, aliases, refs, log)."""

from __future__ import annotations

from pxrun.sim.table_param import NODE, VMID, B, Endpoint, I, Param, S

FW = "/nodes/{node}/lxc/{vmid}/firewall"
NV = {"node": NODE, "vmid": VMID}
LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog")
POLICIES = ("ACCEPT", "REJECT", "DROP")
NAME = S(optional=False, pattern=r"[A-Za-z][A-Za-z0-9\-\_]+", min_length=2, max_length=64)
DIGEST = S(max_length=64)
RULE: dict[str, Param] = {
    "action": S(pattern=r"[A-Za-z][A-Za-z0-9\-\_]+", min_length=2, max_length=20),
    "comment": S(),
    "dest": S(format="pve-fw-addr-spec", max_length=512),
    "digest": DIGEST,
    "dport": S(format="pve-fw-dport-spec"),
    "enable": I(minimum=0),
    "icmp-type": S(format="pve-fw-icmp-type-spec"),
    "iface": S(format="pve-iface", min_length=2, max_length=20),
    "log": S(enum=LEVELS),
    "macro": S(max_length=128),
    "pos": I(minimum=0),
    "proto": S(format="pve-fw-protocol-spec"),
    "source": S(format="pve-fw-addr-spec", max_length=512),
    "sport": S(format="pve-fw-sport-spec"),
    "type": S(enum=("in", "out", "forward", "group")),
}


def _ep(method: str, template: str, params: dict[str, Param], returns: str = "") -> Endpoint:
    return Endpoint(method, template, {**NV, **params}, returns)


ENDPOINTS: list[Endpoint] = [
    _ep("GET", FW, {}, "array"),
    _ep("GET", f"{FW}/options", {}, "object"),
    _ep("PUT", f"{FW}/options", {
        "delete": S(format="pve-configid-list"), "dhcp": B(default=0), "digest": DIGEST,
        "enable": B(default=0), "ipfilter": B(), "log_level_in": S(enum=LEVELS),
        "log_level_out": S(enum=LEVELS), "macfilter": B(default=1), "ndp": B(default=1),
        "policy_in": S(enum=POLICIES), "policy_out": S(enum=POLICIES), "radv": B()}, "null"),
    _ep("GET", f"{FW}/rules", {}, "array"),
    _ep("POST", f"{FW}/rules", {**RULE, "action": RULE["action"].required(),
                                 "type": RULE["type"].required()}, "null"),
    _ep("GET", f"{FW}/rules/{{pos}}", {"pos": I(minimum=0)}, "object"),
    _ep("PUT", f"{FW}/rules/{{pos}}", {**RULE, "delete": S(format="pve-configid-list"),
                                        "moveto": I(minimum=0)}, "null"),
    _ep("DELETE", f"{FW}/rules/{{pos}}", {"digest": DIGEST, "pos": I(minimum=0)}, "null"),
    _ep("GET", f"{FW}/ipset", {}, "array"),
    _ep("POST", f"{FW}/ipset", {"comment": S(), "digest": DIGEST, "name": NAME,
                                "rename": NAME.but(optional=True)}, "null"),
    _ep("GET", f"{FW}/ipset/{{name}}", {"name": NAME}, "array"),
    _ep("POST", f"{FW}/ipset/{{name}}", {"cidr": S(optional=False, format="IPorCIDRorAlias"),
                                         "comment": S(), "name": NAME, "nomatch": B()},
        "null"),
    _ep("DELETE", f"{FW}/ipset/{{name}}", {"force": B(), "name": NAME}, "null"),
    _ep("GET", f"{FW}/ipset/{{name}}/{{cidr}}",
        {"cidr": S(optional=False, format="IPorCIDRorAlias"), "name": NAME}, "object"),
    _ep("PUT", f"{FW}/ipset/{{name}}/{{cidr}}",
        {"cidr": S(optional=False, format="IPorCIDRorAlias"), "comment": S(),
         "digest": DIGEST, "name": NAME, "nomatch": B()}, "null"),
    _ep("DELETE", f"{FW}/ipset/{{name}}/{{cidr}}",
        {"cidr": S(optional=False, format="IPorCIDRorAlias"), "digest": DIGEST,
         "name": NAME}, "null"),
    _ep("GET", f"{FW}/aliases", {}, "array"),
    _ep("POST", f"{FW}/aliases", {"cidr": S(optional=False, format="IPorCIDR"),
                                  "comment": S(), "name": NAME}, "null"),
    _ep("GET", f"{FW}/aliases/{{name}}", {"name": NAME}, "object"),
    _ep("PUT", f"{FW}/aliases/{{name}}", {"cidr": S(optional=False, format="IPorCIDR"),
                                          "comment": S(), "digest": DIGEST, "name": NAME,
                                          "rename": NAME.but(optional=True)}, "null"),
    _ep("DELETE", f"{FW}/aliases/{{name}}", {"digest": DIGEST, "name": NAME}, "null"),
    _ep("GET", f"{FW}/refs", {"type": S(enum=("alias", "ipset"))}, "array"),
    _ep("GET", f"{FW}/log", {"limit": I(minimum=0), "since": I(minimum=0),
                             "start": I(minimum=0), "until": I(minimum=0)}, "array"),
]
