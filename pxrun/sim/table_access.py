"""Parameter table: users, groups, roles, ACLs, API tokens and realms under /access."""

from __future__ import annotations

from pxrun.sim.table_param import B, Endpoint, I, Param, S

USERID = S(optional=False, format="pve-userid", max_length=64)
GROUPID = S(optional=False, format="pve-groupid")
ROLEID = S(optional=False, format="pve-roleid")
TOKENID = S(optional=False, pattern=r"(?:[A-Za-z][A-Za-z0-9\.\-_]+)")
USER_FIELDS: dict[str, Param] = {
    "comment": S(max_length=2048),
    "email": S(format="email-opt", max_length=254),
    "enable": B(default=1),
    "expire": I(minimum=0),
    "firstname": S(max_length=1024),
    "groups": S(format="pve-groupid-list"),
    "keys": S(pattern=r"[0-9a-zA-Z!=]{0,4096}"),
    "lastname": S(max_length=1024),
}
TOKEN_FIELDS: dict[str, Param] = {
    "comment": S(),
    "expire": I(minimum=0),
    "privsep": B(default=1),
    "tokenid": TOKENID,
    "userid": USERID,
}
USER_PATH = "/access/users/{userid}"
TOKEN_PATH = f"{USER_PATH}/token/{{tokenid}}"


def _ep(method: str, template: str, params: dict[str, Param], returns: str = "") -> Endpoint:
    return Endpoint(method, template, dict(params), returns)


ENDPOINTS: list[Endpoint] = [
    _ep("GET", "/access", {}, "array"),
    _ep("GET", "/access/domains", {}, "array"),
    _ep("GET", "/access/acl", {}, "array"),
    _ep("PUT", "/access/acl", {
        "delete": B(),
        "groups": S(format="pve-groupid-list"),
        "path": S(optional=False),
        "propagate": B(default=1),
        "roles": S(optional=False, format="pve-roleid-list"),
        "tokens": S(format="pve-tokenid-list"),
        "users": S(format="pve-userid-list"),
    }, "null"),
    _ep("GET", "/access/groups", {}, "array"),
    _ep("POST", "/access/groups", {"comment": S(), "groupid": GROUPID}, "null"),
    _ep("GET", "/access/groups/{groupid}", {"groupid": GROUPID}, "object"),
    _ep("PUT", "/access/groups/{groupid}", {"comment": S(), "groupid": GROUPID}, "null"),
    _ep("DELETE", "/access/groups/{groupid}", {"groupid": GROUPID}, "null"),
    _ep("GET", "/access/roles", {}, "array"),
    _ep("POST", "/access/roles", {"privs": S(format="pve-priv-list"), "roleid": ROLEID},
        "null"),
    _ep("GET", "/access/roles/{roleid}", {"roleid": ROLEID}, "object"),
    _ep("PUT", "/access/roles/{roleid}", {
        "append": B(requires="privs"), "privs": S(format="pve-priv-list"), "roleid": ROLEID,
    }, "null"),
    _ep("DELETE", "/access/roles/{roleid}", {"roleid": ROLEID}, "null"),
    _ep("GET", "/access/users", {"enabled": B(), "full": B(default=0)}, "array"),
    _ep("POST", "/access/users", {
        **USER_FIELDS, "password": S(min_length=8, max_length=64), "userid": USERID,
    }, "null"),
    _ep("GET", USER_PATH, {"userid": USERID}, "object"),
    _ep("PUT", USER_PATH, {**USER_FIELDS, "append": B(requires="groups"), "userid": USERID},
        "null"),
    _ep("DELETE", USER_PATH, {"userid": USERID}, "null"),
    _ep("GET", f"{USER_PATH}/token", {"userid": USERID}, "array"),
    _ep("GET", TOKEN_PATH, {"tokenid": TOKENID, "userid": USERID}, "object"),
    _ep("POST", TOKEN_PATH, TOKEN_FIELDS, "object"),
    _ep("PUT", TOKEN_PATH, {**TOKEN_FIELDS, "delete": S(format="pve-configid-list")},
        "object"),
    _ep("DELETE", TOKEN_PATH, {"tokenid": TOKENID, "userid": USERID}, "null"),
    _ep("PUT", "/access/password", {
        "confirmation-password": S(min_length=5, max_length=64),
        "password": S(optional=False, min_length=8, max_length=64),
        "userid": USERID,
    }, "null"),
]
