"""Users, their API tokens and passwords (`/access/users`, `/access/password`).

As pve-access-control: users of the `pam` and `pve` realms, `groups` replacing or (with
`append`) adding to a user's groups, token secrets shown once when a token is created
(`value`), `privsep` defaulting to 1, `expire` 0 meaning never, a token's expiry defaulting
to its user's. Deleting a user deletes its tokens and ACL entries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim.acl import Access
from pxrun.sim.api import Request, fail, route
from pxrun.sim.formats import split_list
from pxrun.sim.handlers.access_admin import _check_groups, _creds

if TYPE_CHECKING:
    from pxrun.sim.auth import Credentials
    from pxrun.sim.state import Simulator

USER_KEYS = ("comment", "email", "enable", "expire", "firstname", "lastname", "keys")


# -- users ------------------------------------------------------------------------------------


def _user_json(creds: Credentials, userid: str, *, full: bool = False) -> dict[str, Any]:
    user = creds.user(userid) or {}
    item: dict[str, Any] = {"userid": userid, "enable": 1 if user.get("enable", True) else 0,
                            "expire": int(user.get("expire", 0))}
    for key in ("comment", "email", "firstname", "lastname", "keys"):
        if user.get(key):
            item[key] = user[key]
    if user.get("groups"):
        item["groups"] = ",".join(user["groups"])
    item["realm-type"] = userid.rsplit("@", 1)[1]
    if full:
        item["tokens"] = [_token_json(creds, f"{userid}!{name}") for name in
                          sorted(creds.tokens_of(userid))]
    return item


@route("GET", "/access/users")
def list_users(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    access = Access(creds, sim)
    audit = access.has(req.auth, "/access", ["Sys.Audit", "User.Modify"], any_=True)
    out = []
    for userid in sorted(creds.section("users")):
        if not audit and userid != req.auth.userid:
            continue
        item = _user_json(creds, userid, full=bool(req.params.get("full")))
        if req.params.get("enabled") is not None and item["enable"] != int(
                req.params["enabled"]):
            continue
        out.append(item)
    return out


@route("POST", "/access/users")
def create_user(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    p = req.params
    userid = str(p["userid"])
    realm = userid.rsplit("@", 1)[1]
    if realm not in ("pam", "pve"):
        raise fail(f"authentication domain '{realm}' does not exist")
    groups = split_list(str(p.get("groups") or ""))
    with creds.changing() as data:
        if userid in data["users"]:
            raise fail(f"user '{userid}' already exists")
        _check_groups(creds, groups)
        user: dict[str, Any] = {"enable": bool(p.get("enable", 1)), "groups": groups}
        for key in USER_KEYS:
            if key in p and key != "enable":
                user[key] = p[key]
        data["users"][userid] = user
    if p.get("password") and realm == "pve":
        creds.set_password(userid, str(p["password"]))
    return None


def _user(creds: Credentials, userid: str) -> dict[str, Any]:
    user = creds.user(userid)
    if user is None:
        raise fail(f"no such user ('{userid}')")
    return user


@route("GET", "/access/users/{userid}")
def read_user(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    userid = str(req.params["userid"])
    _user(creds, userid)
    item = _user_json(creds, userid)
    item.pop("userid")
    item["groups"] = list(creds.user(userid).get("groups", []))  # type: ignore[union-attr]
    item["tokens"] = {name: {k: v for k, v in _token_json(creds, f"{userid}!{name}").items()
                             if k != "tokenid"} for name in creds.tokens_of(userid)}
    return item


@route("PUT", "/access/users/{userid}")
def update_user(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    p = req.params
    userid = str(p["userid"])
    with creds.changing():
        user = _user(creds, userid)
        if p.get("groups") is not None:
            groups = split_list(str(p["groups"]))
            _check_groups(creds, groups)
            user["groups"] = sorted(set(user.get("groups", [])) | set(groups)) \
                if p.get("append") else groups
        for key in USER_KEYS:
            if key in p:
                user[key] = bool(p[key]) if key == "enable" else p[key]
    return None


@route("DELETE", "/access/users/{userid}")
def delete_user(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    userid = str(req.params["userid"])
    if userid == "root@pam":
        raise fail("can't remove user root@pam")  # the simulator needs its administrator
    with creds.changing() as data:
        _user(creds, userid)
        del data["users"][userid]
        for tokenid in [t for t in data["tokens"] if t.startswith(userid + "!")]:
            del data["tokens"][tokenid]
        data["acl"] = [e for e in creds.section("acl")
                       if not (e["type"] in ("user", "token") and
                               e["ugid"].split("!")[0] == userid)]
    return None


@route("PUT", "/access/password")
def change_password(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    userid = str(req.params["userid"])
    _user(creds, userid)
    if not userid.endswith("@pve") and userid != "root@pam":
        raise fail("changing the password is only supported for the 'pve' realm here")
    creds.set_password(userid, str(req.params["password"]))
    return None


# -- tokens -----------------------------------------------------------------------------------


def _token_json(creds: Credentials, tokenid: str) -> dict[str, Any]:
    token = creds.token(tokenid) or {}
    item: dict[str, Any] = {"tokenid": tokenid.split("!", 1)[1],
                            "privsep": int(token.get("privsep", 1)),
                            "expire": int(token.get("expire", 0))}
    if token.get("comment"):
        item["comment"] = token["comment"]
    return item


def _token(creds: Credentials, userid: str, name: str) -> dict[str, Any]:
    _user(creds, userid)
    token = creds.token(f"{userid}!{name}")
    if token is None:
        raise fail(f"no such token '{name}' for user '{userid}'")
    return token


@route("GET", "/access/users/{userid}/token")
def list_tokens(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    userid = str(req.params["userid"])
    _user(creds, userid)
    return [_token_json(creds, f"{userid}!{n}") for n in sorted(creds.tokens_of(userid))]


@route("GET", "/access/users/{userid}/token/{tokenid}")
def read_token(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    _token(creds, str(req.params["userid"]), str(req.params["tokenid"]))
    item = _token_json(creds, f"{req.params['userid']}!{req.params['tokenid']}")
    item.pop("tokenid")
    return item


@route("POST", "/access/users/{userid}/token/{tokenid}")
def create_token(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    p = req.params
    userid, name = str(p["userid"]), str(p["tokenid"])
    user = _user(creds, userid)
    tokenid = f"{userid}!{name}"
    if creds.token(tokenid) is not None:
        raise fail("Token already exists.")
    expire = int(p.get("expire", user.get("expire", 0)))
    secret = creds.add_token(userid, name, privsep=bool(p.get("privsep", 1)),
                             comment=p.get("comment"), expire=expire)
    info = _token_json(creds, tokenid)
    info.pop("tokenid")
    return {"full-tokenid": tokenid, "info": info, "value": secret}


@route("PUT", "/access/users/{userid}/token/{tokenid}")
def update_token(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    p = req.params
    with creds.changing():
        token = _token(creds, str(p["userid"]), str(p["tokenid"]))
        for key in split_list(str(p.get("delete") or "")):
            token.pop(key, None)
        for key in ("comment", "expire", "privsep"):
            if key in p:
                token[key] = p[key]
    info = _token_json(creds, f"{p['userid']}!{p['tokenid']}")
    info.pop("tokenid")
    return info


@route("DELETE", "/access/users/{userid}/token/{tokenid}")
def delete_token(sim: Simulator, req: Request) -> Any:
    creds = _creds(req)
    p = req.params
    tokenid = f"{p['userid']}!{p['tokenid']}"
    with creds.changing() as data:
        _token(creds, str(p["userid"]), str(p["tokenid"]))
        del data["tokens"][tokenid]
        data["acl"] = [e for e in creds.section("acl")
                       if not (e["type"] == "token" and e["ugid"] == tokenid)]
    return None


