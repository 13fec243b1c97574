"""`/access/ticket` and `/access/permissions`: log-in tickets and effective permissions.

These endpoints belong with the transport because they answer from the server's credentials
(`auth.json`), not from the cluster model. `POST /access/ticket` follows pve-access-control's
`create_ticket`: a password or a still-valid ticket of the same user as `password`, one answer
for every failure (401 `authentication failure`, no user enumeration), `cap` with the computed
capabilities. Privileges: root@pam and admin users hold every privilege on `/`; a token without
privilege separation inherits its user's. Root-only checks (`Auth.is_root`) stay separate: a
token of root@pam is not root@pam.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pxrun.sim.acl import Access, normalize_path
from pxrun.sim.api import ApiError, Request, param_error, permission_denied, route
from pxrun.sim.auth import AuthFailure, Credentials

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

# The ACL paths a full administrator's permission dump lists.
_ADMIN_PATHS = ("/", "/access", "/access/groups", "/mapping", "/nodes", "/pool", "/sdn",
                "/storage", "/vms")  # fmt: skip
# Which privileges the GUI's `cap` groups show (pve-access-control `compute_api_permission`).
_CAP_GROUPS: dict[str, tuple[str, ...]] = {
    "vms": ("VM.", "Permissions.Modify"),
    "storage": ("Datastore.", "Permissions.Modify"),
    "access": ("User.Modify", "Group.Allocate", "Permissions.Modify", "Realm."),
    "nodes": ("Sys.", "Permissions.Modify"),
    "sdn": ("SDN.", "Permissions.Modify"),
    "dc": ("Sys.Audit", "Sys.Modify", "SDN.", "Mapping."),
    "mapping": ("Mapping.", "Permissions.Modify"),
}
_USERID = re.compile(r"^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+(?:![A-Za-z][A-Za-z0-9.\-_]+)?$")


def _creds(req: Request) -> Credentials:
    if req.credentials is None:  # only a server builds Requests for real calls
        raise ApiError(500, "no credentials store configured")
    return req.credentials


def _privs_of(sim: Simulator, creds: Credentials, authid: str, path: str = "/") -> set[str]:
    """Effective privileges of `authid` (user or `user!token`) on `path`."""
    userid, _, token = authid.partition("!")
    if creds.user(userid) is None:
        raise ApiError(500, f"no such user ('{userid}')")
    if token and creds.token(authid) is None:
        raise ApiError(500, f"no such token '{token}' for user '{userid}'")
    return Access(creds, sim).privileges(authid, path)


def capabilities(sim: Simulator, creds: Credentials, userid: str) -> dict[str, dict[str, int]]:
    """The `cap` member of a ticket answer."""
    access = Access(creds, sim)
    out: dict[str, dict[str, int]] = {}
    for group, prefixes in _CAP_GROUPS.items():
        paths = {"vms": "/vms", "storage": "/storage", "access": "/access", "nodes": "/nodes",
                 "sdn": "/sdn", "dc": "/", "mapping": "/mapping"}
        privs = access.privileges(userid, paths[group]) | access.privileges(userid, "/")
        out[group] = {p: 1 for p in sorted(privs) if p.startswith(prefixes)}
    return out


@route("GET", "/access/ticket")
def get_ticket(sim: Simulator, req: Request) -> Any:
    """A dummy for login pages, as in Proxmox."""
    return None


@route("POST", "/access/ticket")
def create_ticket(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    params = req.params
    missing = {
        key: "property is missing and it is not optional"
        for key in ("username", "password")
        if params.get(key) is None
    }
    if missing:
        raise param_error(missing)
    username, password = str(params["username"]), str(params["password"])
    realm = params.get("realm")
    if realm and "@" not in username:
        username = f"{username}@{realm}"
    if not _login_ok(creds, username, password):
        raise ApiError(401, "authentication failure")
    path, privs = params.get("path"), params.get("privs")
    if path and privs:  # "verify ticket" mode: check privileges, hand out nothing new
        held = _privs_of(sim, creds, username, str(path))
        wanted = [p for p in re.split(r"[,;\s\0]+", str(privs)) if p]
        if not all(p in held for p in wanted):
            raise ApiError(401, "authentication failure")
        return {"username": username}
    result: dict[str, Any] = {
        "username": username,
        "ticket": creds.issue_ticket(username),
        "CSRFPreventionToken": creds.csrf_token(username),
        "cap": capabilities(sim, creds, username),
    }
    cluster = getattr(sim, "cluster_name", None)
    if cluster:
        result["clustername"] = cluster
    return result


def _login_ok(creds: Credentials, username: str, password: str) -> bool:
    if password.startswith("PVE:"):  # renewing: a valid ticket of the same user
        try:
            ticket_user, _age = creds.verify_ticket(password)
        except AuthFailure:
            return False
        return ticket_user == username
    return creds.check_password(username, password)


@route("GET", "/access/permissions")
def permissions(sim: Simulator, req: Request) -> Any:
    """The caller's (or, with Sys.Audit, another user's) privileges: on `path`, or on every
    path the ACLs name plus the standard ones (PVE's `get_effective_permissions`)."""
    creds = _creds(req)
    caller = req.auth.authid
    target = str(req.params.get("userid") or caller)
    if not _USERID.match(target):
        raise param_error({"userid": "value does not match the regex pattern"})
    own = target == caller or target.startswith(req.auth.userid + "!")
    access = Access(creds, sim)
    if not own and not access.has(req.auth, "/access", ["Sys.Audit"]):
        raise permission_denied("/access, Sys.Audit")
    _privs_of(sim, creds, target)  # unknown user or token: Proxmox's 500
    path = req.params.get("path")
    if path:
        normalized = normalize_path(str(path))
        return {normalized: dict.fromkeys(sorted(access.privileges(target, normalized)), 1)}
    paths = set(_ADMIN_PATHS) | {e["path"] for e in creds.section("acl")}
    out = {}
    for item in sorted(paths):
        held = access.privileges(target, item)
        if held:
            out[item] = dict.fromkeys(sorted(held), 1)
    return out
