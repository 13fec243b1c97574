"""Who may do what: roles, ACLs, privilege-separated tokens and Proxmox's permission checks.

pve-access-control's model, as `Credentials` stores it (auth.json ≈ user.cfg + token.cfg):
- a role is a set of privileges; the built-in roles below are fixed (`special: 1`);
- an ACL entry grants a role to a user, a group or a token on a path, `propagate` to the
  paths below it. For a path, the roles come from the deepest level that names the subject:
  user entries override group entries at the same level (`AccessControl::roles`);
  `NoAccess` takes everything away; members of a pool also get what `/pool/<pool>` grants;
- an API token without privilege separation has its user's privileges; with it, only what
  both the user and the token's own ACLs grant;
- root@pam has every privilege everywhere, and so does a user marked `admin` (the
  simulator's shortcut for an Administrator ACL on `/`).

`check_api` evaluates the `check` expression of an endpoint's `permissions` (table_perms.py)
exactly like `RPCEnvironment::exec_api2_perm_check`; failures are 403
`Permission check failed (<path>, <privilege>)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pxrun.sim.api import Auth, permission_denied

if TYPE_CHECKING:
    from pxrun.sim.auth import Credentials
    from pxrun.sim.state import Simulator

_COMMON = (
    "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate",
    "Datastore.Audit", "Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use",
    "Permissions.Modify", "Pool.Allocate", "Pool.Audit", "Realm.Allocate", "Realm.AllocateUser",
    "SDN.Allocate", "SDN.Audit", "SDN.Use", "Sys.AccessNetwork", "Sys.Audit", "Sys.Console",
    "Sys.Incoming", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog", "User.Modify", "VM.Allocate",
    "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU",
    "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory",
    "VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.Migrate", "VM.PowerMgmt",
    "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback",
)  # fmt: skip
# PVE 9 replaced VM.Monitor with the finer VM.GuestAgent.* privileges.
PRIVILEGES: dict[str, list[str]] = {
    "9": sorted([*_COMMON, "VM.GuestAgent.Audit", "VM.GuestAgent.FileRead",
                 "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
                 "VM.GuestAgent.Unrestricted"]),
    "8": sorted([*_COMMON, "VM.Monitor"]),
}
_AUDIT = ("Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit",
          "VM.Audit")
_VM_USER = ("VM.Audit", "VM.Backup", "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console",
            "VM.PowerMgmt", "VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted")
_VM_ADMIN = ("VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM",
             "VM.Config.CPU", "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType",
             "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.Console",
             "VM.Migrate", "VM.PowerMgmt", "VM.Replicate", "VM.Snapshot",
             "VM.Snapshot.Rollback", "VM.GuestAgent.Audit", "VM.GuestAgent.FileRead",
             "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
             "VM.GuestAgent.Unrestricted", "Datastore.AllocateSpace", "Datastore.Audit",
             "Pool.Audit", "Sys.Audit", "Sys.Console")
_DATASTORE_ADMIN = ("Datastore.Allocate", "Datastore.AllocateSpace",
                    "Datastore.AllocateTemplate", "Datastore.Audit")
_SYS_ADMIN = ("Permissions.Modify", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify",
              "Sys.PowerMgmt", "Sys.Syslog", "Sys.AccessNetwork")


def builtin_roles(all_privileges: Iterable[str]) -> dict[str, frozenset[str]]:
    """pve-access-control's special roles (PVE 9 privilege names)."""
    every = frozenset(all_privileges)
    roles = {
        "Administrator": every,
        "NoAccess": frozenset(),
        "PVEAdmin": every - {"Permissions.Modify", "Realm.Allocate", "Sys.Modify"},
        "PVEAuditor": frozenset(_AUDIT),
        "PVEDatastoreAdmin": frozenset(_DATASTORE_ADMIN),
        "PVEDatastoreUser": frozenset({"Datastore.AllocateSpace", "Datastore.Audit"}),
        "PVEMappingAdmin": frozenset({"Mapping.Audit", "Mapping.Modify", "Mapping.Use"}),
        "PVEMappingUser": frozenset({"Mapping.Audit", "Mapping.Use"}),
        "PVEPoolAdmin": frozenset({"Pool.Allocate", "Pool.Audit"}),
        "PVEPoolUser": frozenset({"Pool.Audit"}),
        "PVESDNAdmin": frozenset({"SDN.Allocate", "SDN.Audit", "SDN.Use"}),
        "PVESDNUser": frozenset({"SDN.Audit", "SDN.Use"}),
        "PVESysAdmin": frozenset(_SYS_ADMIN),
        "PVETemplateUser": frozenset({"VM.Audit", "VM.Clone"}),
        "PVEUserAdmin": frozenset({"Group.Allocate", "Realm.AllocateUser", "User.Modify"}),
        "PVEVMAdmin": frozenset(_VM_ADMIN),
        "PVEVMUser": frozenset(_VM_USER),
    }
    return {name: privs & every for name, privs in roles.items()}


def normalize_path(path: str) -> str:
    return "/" + "/".join(part for part in path.split("/") if part)


def _prefixes(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


class Access:
    """Privileges of one caller, computed from one `Credentials` (and the pools of a sim)."""

    def __init__(self, creds: Credentials, sim: Simulator | None = None) -> None:
        self.creds = creds
        self.sim = sim

    # -- roles -------------------------------------------------------------------------------
    def all_privileges(self) -> list[str]:
        settings = getattr(self.sim, "settings", None)
        version = str(getattr(settings, "pve_version", "9.1"))
        return PRIVILEGES["8" if version.startswith("8") else "9"]

    def roles(self) -> dict[str, frozenset[str]]:
        out = builtin_roles(self.all_privileges())
        for name, privs in self.creds.section("roles").items():
            out[name] = frozenset(privs)
        return out

    def _roles_at(self, path: str, kind: str, ids: set[str]) -> dict[str, bool]:
        """AccessControl::roles for one subject kind: the deepest level naming it wins."""
        found: dict[str, bool] = {}
        acl = self.creds.section("acl")
        for prefix in _prefixes(path):
            final = prefix == path
            here = {e["roleid"]: bool(e.get("propagate", 1)) for e in acl
                    if e["path"] == prefix and e["type"] == kind and e["ugid"] in ids
                    and (final or e.get("propagate", 1))}
            if here:
                found = here
        return found

    def _subject_privs(self, path: str, userid: str, tokenid: str | None) -> set[str]:
        roles = self.roles()
        if tokenid is not None:
            assigned = self._roles_at(path, "token", {tokenid})
        else:
            user = self.creds.user(userid) or {}
            assigned = self._merged(path, userid, set(user.get("groups", [])))
        if "NoAccess" in assigned:
            return set()
        privs: set[str] = set()
        for role in assigned:
            privs |= roles.get(role, frozenset())
        return privs

    def _merged(self, path: str, userid: str, groups: set[str]) -> dict[str, bool]:
        acl = self.creds.section("acl")
        found: dict[str, bool] = {}
        for prefix in _prefixes(path):
            final = prefix == path

            def at(kind: str, ids: set[str], prefix: str = prefix,
                   final: bool = final) -> dict[str, bool]:
                return {e["roleid"]: bool(e.get("propagate", 1)) for e in acl
                        if e["path"] == prefix and e["type"] == kind and e["ugid"] in ids
                        and (final or e.get("propagate", 1))}

            here = at("user", {userid}) or at("group", groups)
            if here:
                found = here
        return found

    # -- privileges ---------------------------------------------------------------------------
    def privileges(self, authid: str, path: str) -> set[str]:
        path = normalize_path(path)
        userid, _, token = authid.partition("!")
        if userid == "root@pam" and not token:
            return set(self.all_privileges())
        user = self.creds.user(userid)
        if user is None or not user.get("enable", True):
            return set()
        if user.get("admin"):
            privs = set(self.all_privileges())
        else:
            privs = self._subject_privs(path, userid, None) | self._pool_privs(path, userid)
        if token:
            info = self.creds.token(authid) or {}
            if info.get("privsep"):
                privs &= self._subject_privs(path, userid, authid) | self._pool_privs(
                    path, userid, authid)
        return privs

    def _pool_privs(self, path: str, userid: str, tokenid: str | None = None) -> set[str]:
        """A pool member's path also gets what its pool grants (`/pool/<pool>`)."""
        if self.sim is None or not path.startswith("/vms/"):
            return set()
        try:
            vmid = int(path.split("/")[2])
        except (IndexError, ValueError):
            return set()
        pool = self.sim.pool_of(vmid)
        if pool is None:
            return set()
        return self._subject_privs(f"/pool/{pool}/{vmid}", userid, tokenid)

    def has(self, auth: Auth, path: str, privs: Iterable[str], *, any_: bool = False) -> bool:
        held = self.privileges(auth.authid, path)
        wanted = list(privs)
        return any(p in held for p in wanted) if any_ else all(p in held for p in wanted)

    def check(self, auth: Auth, path: str, privs: Iterable[str], *, any_: bool = False) -> None:
        """RPCEnvironment::check / check_any: 403 naming the path and the privilege(s)."""
        path = normalize_path(path)
        held = self.privileges(auth.authid, path)
        wanted = list(privs)
        if any_:
            if not any(p in held for p in wanted):
                raise permission_denied(f"{path}, {'|'.join(wanted)}")
            return
        for priv in wanted:
            if priv not in held:
                raise permission_denied(f"{path}, {priv}")

    # -- the `check` expressions of the API schema --------------------------------------------
    def check_api(self, auth: Auth, rule: Any, params: Mapping[str, Any]) -> None:
        """check_api2_permissions: `world`/`all` pass, root@pam passes, else the check."""
        if rule in ("world", "all") or auth.is_root:
            return
        if rule is None:
            raise permission_denied("user != root@pam")
        if not self._exec(auth, rule, params, noerr=False):
            raise permission_denied("")

    def _exec(self, auth: Auth, rule: Any, params: Mapping[str, Any], *, noerr: bool) -> bool:
        kind = rule[0]
        if kind == "and":
            return all(self._exec(auth, sub, params, noerr=noerr) for sub in rule[1:])
        if kind == "or":
            if any(self._exec(auth, sub, params, noerr=True) for sub in rule[1:]):
                return True
            if noerr:
                return False
            raise permission_denied("")
        if kind == "perm":
            path, privs, options = rule[1], rule[2], dict(zip(rule[3::2], rule[4::2],
                                                             strict=False))
            required = options.get("require_param")
            if required and params.get(required) is None:
                if noerr:
                    return False
                raise permission_denied("")
            return self._perm(auth, _fill(path, params), privs, bool(options.get("any")),
                              noerr=noerr)
        if kind == "perm-modify":
            path = normalize_path(_fill(rule[1], params))
            privs = ["Permissions.Modify"]
            for prefix, extra in (("/storage/", "Datastore.Allocate"), ("/vms/", "VM.Allocate"),
                                  ("/pool/", "Pool.Allocate")):
                if path.startswith(prefix):
                    privs.append(extra)
            return self._perm(auth, path, privs, True, noerr=noerr)
        if kind == "userid-param":
            target = str(params.get("userid", ""))
            if rule[1] == "self":
                ok = target == auth.userid
                if not ok and not noerr:
                    raise permission_denied("")
                return ok
            realm = target.rsplit("@", 1)[-1]
            return self._perm(auth, f"/access/realm/{realm}", [rule[1]], False, noerr=noerr)
        if kind == "userid-group":
            return self._perm(auth, "/access/groups", list(rule[1]), True, noerr=noerr)
        raise permission_denied("")

    def _perm(self, auth: Auth, path: str, privs: list[str], any_: bool, *,
              noerr: bool) -> bool:
        if noerr:
            return self.has(auth, path, privs, any_=any_)
        self.check(auth, path, privs, any_=any_)
        return True


def _fill(template: str, params: Mapping[str, Any]) -> str:
    out = template
    for key, value in params.items():
        out = out.replace("{" + key + "}", str(value))
    return out
