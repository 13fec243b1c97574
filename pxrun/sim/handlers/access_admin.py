"""Groups, roles, ACLs and realms: the `/access` tree beyond tickets and users.

As pve-access-control's API: texts of its `die`s, `special: 1` on built-in roles (which cannot
be changed), the realms `pam` and `pve` (`/access/domains`). Entries live in auth.json through
`Credentials` (the simulator's user.cfg). The endpoints' own permission checks run in the
dispatcher (table_perms.py); the lists are filtered as Proxmox filters them. Users and tokens:
access_users.py.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pxrun.sim.acl import Access, normalize_path
from pxrun.sim.api import ApiError, Request, fail, param_error, route
from pxrun.sim.formats import split_list

if TYPE_CHECKING:
    from pxrun.sim.auth import Credentials
    from pxrun.sim.state import Simulator

REALMS = [{"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
          {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server"}]


def _creds(req: Request) -> Credentials:
    if req.credentials is None:
        raise ApiError(500, "no credentials store configured")
    return req.credentials


@route("GET", "/access")
def access_index(sim: Simulator, req: Request) -> Any:
    return [{"subdir": s} for s in ("users", "groups", "roles", "acl", "domains", "openid",
                                    "tfa", "ticket", "password", "permissions")]


@route("GET", "/access/domains")
def domains(sim: Simulator, req: Request) -> Any:
    return REALMS


def _check_groups(creds: Credentials, groups: list[str]) -> None:
    for group in groups:
        if group not in creds.section("groups"):
            raise fail(f"no such group '{group}'")


# -- groups -----------------------------------------------------------------------------------


@route("GET", "/access/groups")
def list_groups(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    users = creds.section("users")
    out = []
    for groupid, group in sorted(creds.section("groups").items()):
        members = sorted(u for u, info in users.items() if groupid in info.get("groups", []))
        item: dict[str, Any] = {"groupid": groupid, "users": ",".join(members)}
        if group.get("comment"):
            item["comment"] = group["comment"]
        out.append(item)
    return out


@route("POST", "/access/groups")
def create_group(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    groupid = str(req.params["groupid"])
    with creds.changing():
        groups = creds.section("groups")
        if groupid in groups:
            raise fail(f"group '{groupid}' already exists")
        groups[groupid] = {"comment": req.params.get("comment") or ""}
    return None


def _group(creds: Credentials, groupid: str) -> dict[str, Any]:
    group: dict[str, Any] | None = creds.section("groups").get(groupid)
    if group is None:
        raise fail(f"group '{groupid}' does not exist")
    return group


@route("GET", "/access/groups/{groupid}")
def read_group(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    groupid = str(req.params["groupid"])
    group = _group(creds, groupid)
    members = sorted(u for u, info in creds.section("users").items()
                     if groupid in info.get("groups", []))
    item: dict[str, Any] = {"members": members}
    if group.get("comment"):
        item["comment"] = group["comment"]
    return item


@route("PUT", "/access/groups/{groupid}")
def update_group(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    with creds.changing():
        group = _group(creds, str(req.params["groupid"]))
        if req.params.get("comment") is not None:
            group["comment"] = req.params["comment"]
    return None


@route("DELETE", "/access/groups/{groupid}")
def delete_group(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    groupid = str(req.params["groupid"])
    with creds.changing() as data:
        _group(creds, groupid)
        del creds.section("groups")[groupid]
        for user in data["users"].values():
            if groupid in user.get("groups", []):
                user["groups"].remove(groupid)
        data["acl"] = [e for e in creds.section("acl")
                       if not (e["type"] == "group" and e["ugid"] == groupid)]
    return None


# -- roles ------------------------------------------------------------------------------------


@route("GET", "/access/roles")
def list_roles(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    access = Access(creds, sim)
    custom = creds.section("roles")
    out = []
    for roleid, privs in sorted(access.roles().items()):
        item: dict[str, Any] = {"roleid": roleid, "privs": ",".join(sorted(privs))}
        if roleid not in custom:
            item["special"] = 1
        out.append(item)
    return out


@route("POST", "/access/roles")
def create_role(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    roleid = str(req.params["roleid"])
    if roleid in Access(creds, sim).roles():
        raise fail(f"role '{roleid}' already exists")
    with creds.changing():
        creds.section("roles")[roleid] = sorted(set(split_list(
            str(req.params.get("privs") or ""))))
    return None


def _custom_role(sim: Simulator, creds: Credentials, roleid: str) -> list[str]:
    roles = creds.section("roles")
    if roleid not in roles:
        if roleid in Access(creds, sim).roles():
            raise fail(f"cannot modify special role '{roleid}'")
        raise fail(f"role '{roleid}' does not exist")
    found: list[str] = roles[roleid]
    return found


@route("GET", "/access/roles/{roleid}")
def read_role(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    roleid = str(req.params["roleid"])
    roles = Access(creds, sim).roles()
    if roleid not in roles:
        raise fail(f"role '{roleid}' does not exist")
    return dict.fromkeys(sorted(roles[roleid]), 1)


@route("PUT", "/access/roles/{roleid}")
def update_role(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    roleid = str(req.params["roleid"])
    with creds.changing():
        current = _custom_role(sim, creds, roleid)
        fresh = set(split_list(str(req.params.get("privs") or "")))
        if req.params.get("append"):
            fresh |= set(current)
        creds.section("roles")[roleid] = sorted(fresh)
    return None


@route("DELETE", "/access/roles/{roleid}")
def delete_role(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    roleid = str(req.params["roleid"])
    with creds.changing() as data:
        _custom_role(sim, creds, roleid)
        del creds.section("roles")[roleid]
        data["acl"] = [e for e in creds.section("acl") if e["roleid"] != roleid]
    return None


# -- ACLs -------------------------------------------------------------------------------------


@route("GET", "/access/acl")
def read_acl(sim: Simulator, req: Request) -> Any:
    """Every entry the caller may see: with Sys.Audit or Permissions.Modify on the path."""
    creds = _creds(req)
    access = Access(creds, sim)
    out = []
    for entry in creds.section("acl"):
        if not access.has(req.auth, entry["path"], ["Sys.Audit", "Permissions.Modify"],
                          any_=True):
            continue
        out.append({"path": entry["path"], "type": entry["type"], "ugid": entry["ugid"],
                    "roleid": entry["roleid"], "propagate": int(entry.get("propagate", 1))})
    return sorted(out, key=lambda e: (e["path"], e["type"], e["ugid"], e["roleid"]))


_ACL_PATH = re.compile(r"^/(?:(?:access|vms|storage|pool|nodes|sdn|mapping)(?:/.*)?)?$")


@route("PUT", "/access/acl")
def update_acl(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    p = req.params
    path = normalize_path(str(p["path"]))
    if not _ACL_PATH.match(path):
        raise param_error({"path": f"invalid ACL path '{p['path']}'"})
    roles = split_list(str(p["roles"]))
    subjects = ([("user", u) for u in split_list(str(p.get("users") or ""))]
                + [("group", g) for g in split_list(str(p.get("groups") or ""))]
                + [("token", t) for t in split_list(str(p.get("tokens") or ""))])
    if not subjects:
        raise param_error({"users": "either 'users', 'groups' or 'tokens' is required"})
    known = Access(creds, sim).roles()
    with creds.changing() as data:
        for role in roles:
            if role not in known:
                raise fail(f"role '{role}' does not exist")
        for kind, ugid in subjects:
            if kind == "user" and creds.user(ugid) is None:
                raise fail(f"user '{ugid}' does not exist")
            if kind == "group" and ugid not in creds.section("groups"):
                raise fail(f"group '{ugid}' does not exist")
            if kind == "token" and creds.token(ugid) is None:
                raise fail(f"no such token '{ugid}'")
        acl = [e for e in creds.section("acl")
               if not (e["path"] == path and (e["type"], e["ugid"]) in subjects
                       and e["roleid"] in roles)]
        if not p.get("delete"):
            propagate = int(p.get("propagate", 1))
            acl += [{"path": path, "type": kind, "ugid": ugid, "roleid": role,
                     "propagate": propagate} for kind, ugid in subjects for role in roles]
        data["acl"] = acl
    return None
