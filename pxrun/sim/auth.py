"""Who may call the simulator: users, API tokens, tickets and CSRF tokens, as pveproxy checks them.

Credentials live in `<state_dir>/auth.json` (mode 0600): users with salted PBKDF2 password hashes,
API tokens `USER@REALM!TOKENID` with their secrets (kept readable, as Proxmox keeps them in
`/etc/pve/priv/token.cfg`, so `init_credentials` can hand the same token out again), and the
key that signs tickets and CSRF tokens. Tickets are HMAC-signed here where Proxmox uses an RSA
key: clients treat a ticket as opaque, only its `PVE:<userid>:<8 HEX time>::` shape matters.

`Credentials.authenticate` mirrors pve-manager's `PVE::HTTPServer::auth_handler`: which calls
need no authentication, token before ticket, CSRF on every non-GET ticket call, and Proxmox's
exact failure texts. A failure raises `AuthFailure`; the server answers 401 with that text as
the reason phrase and an empty body (the failure is found before any handler runs).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pxrun.sim.api import Auth

AUTH_FILE = "auth.json"
TICKET_LIFETIME = 2 * 3600  # seconds, PVE's $max_age for tickets
TICKET_MIN_AGE = -300  # tolerated clock skew, as PVE
DEFAULT_TOKEN_NAME = "pxrun"
_PBKDF2_ROUNDS = 50_000

# The calls pveproxy lets through without any authentication.
UNAUTHENTICATED = frozenset(
    {
        ("GET", "/access/domains"),
        ("GET", "/access/ticket"),
        ("POST", "/access/ticket"),
        ("POST", "/access/vncticket"),
        ("POST", "/access/openid/login"),
        ("POST", "/access/openid/auth-url"),
    }
)

_TOKENID = re.compile(r"^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$")
_TICKET = re.compile(r"^PVE:([^:\s]+@[^:\s]+):([0-9A-F]{8})::(.+)$")


class AuthFailure(Exception):
    """Authentication failed before any handler: 401 with `message` as the reason phrase."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Caller:
    """The outcome of the auth check: who (None when the call needs no auth), and whether an
    API token was presented (calls with `allowtoken: 0` refuse tokens even when unauthenticated)."""

    auth: Auth | None
    api_token: bool
    ticket: bool = False


def _hash_password(password: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PBKDF2_ROUNDS).hex()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def extract_auth_value(header: str | None, key: str) -> str | None:
    """pve-http-server's `extract_auth_value`: `KEY=value` or `KEY value`, up to `;`, unescaped."""
    if not header:
        return None
    found = re.search(r"(?:^|\s)" + re.escape(key) + r"(?:=| )([^;]*)", header)
    if not found or not found.group(1):
        return None
    return unquote(found.group(1))


class Credentials:
    """The users, tokens and signing key of one simulator; safe to share between threads."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self._data = data
        self._key = bytes.fromhex(data["key"])
        self._lock = threading.Lock()
        self.clock: Callable[[], float] = time.time  # tests move time to expire tickets

    # -- loading and changing ---------------------------------------------------------------

    @classmethod
    def load(cls, state_dir: Path) -> Credentials:
        path = state_dir / AUTH_FILE
        return cls(path, json.loads(path.read_text(encoding="utf-8")))

    def save(self) -> None:
        with self._lock:
            _write_private(self.path, json.dumps(self._data, indent=2, sort_keys=True))

    def add_user(self, userid: str, password: str, *, admin: bool = False) -> None:
        """Add (or reset) a user. `admin` grants every privilege on `/`, like root@pam has."""
        salt = secrets.token_bytes(16)
        with self._lock:
            self._data["users"][userid] = {
                "enable": True,
                "admin": admin or userid == "root@pam",
                "salt": salt.hex(),
                "hash": _hash_password(password, salt),
            }
        self.save()

    def add_token(self, userid: str, name: str, *, privsep: bool = False,
                  comment: str | None = None, expire: int = 0) -> str:
        """Create (or return the existing) API token `userid!name`; returns its secret."""
        tokenid = f"{userid}!{name}"
        with self._lock:
            if userid not in self._data["users"]:
                raise KeyError(f"no such user ('{userid}')")
            token = self._data["tokens"].get(tokenid)
            if token is None:
                token = {"secret": str(uuid.uuid4()), "privsep": int(privsep),
                         "expire": expire}
                if comment:
                    token["comment"] = comment
                self._data["tokens"][tokenid] = token
                changed = True
            else:
                changed = False
        if changed:
            self.save()
        return str(token["secret"])

    # -- the access configuration (users, groups, roles, ACLs): user.cfg -----------------------

    def section(self, name: str) -> Any:
        """A live part of the access config: `users`, `tokens` (dicts), `groups`, `roles`
        (dicts) or `acl` (a list of entries). Change it only inside `changing()`."""
        if name not in self._data:
            self._data[name] = [] if name == "acl" else {}
        return self._data[name]

    @contextlib.contextmanager
    def changing(self) -> Iterator[dict[str, Any]]:
        """Change the access config under the lock, then write auth.json."""
        with self._lock:
            yield self._data
        self.save()

    def set_password(self, userid: str, password: str) -> None:
        salt = secrets.token_bytes(16)
        with self.changing() as data:
            user = data["users"][userid]
            user["salt"], user["hash"] = salt.hex(), _hash_password(password, salt)

    # -- questions ----------------------------------------------------------------------------

    def user(self, userid: str) -> dict[str, Any] | None:
        user: dict[str, Any] | None = self._data["users"].get(userid)
        return user

    def token(self, tokenid: str) -> dict[str, Any] | None:
        token: dict[str, Any] | None = self._data["tokens"].get(tokenid)
        return token

    def tokens_of(self, userid: str) -> list[str]:
        return [t.split("!", 1)[1] for t in self._data["tokens"] if t.startswith(userid + "!")]

    def is_admin(self, userid: str) -> bool:
        user = self.user(userid)
        return bool(user and user.get("admin"))

    def check_password(self, userid: str, password: str) -> bool:
        user = self.user(userid)
        if not user or not user.get("enable", True) or "hash" not in user:
            return False
        if user.get("expire") and user["expire"] < self.clock():
            return False
        expected = _hash_password(password, bytes.fromhex(user["salt"]))
        return hmac.compare_digest(expected, user["hash"])

    # -- tickets and CSRF tokens ---------------------------------------------------------------

    def _sign(self, kind: str, text: str) -> str:
        return _b64(hmac.new(self._key, f"{kind}:{text}".encode(), hashlib.sha256).digest())

    def issue_ticket(self, userid: str) -> str:
        plain = f"PVE:{userid}:{int(self.clock()):08X}"
        return f"{plain}::{self._sign('ticket', plain)}"

    def verify_ticket(self, ticket: str) -> tuple[str, int]:
        """Return (userid, age in seconds) of a valid ticket, else fail as PVE does."""
        found = _TICKET.match(ticket)
        if found:
            userid, stamp, signature = found.groups()
            plain = f"PVE:{userid}:{stamp}"
            age = int(self.clock()) - int(stamp, 16)
            if (
                hmac.compare_digest(signature, self._sign("ticket", plain))
                and TICKET_MIN_AGE < age < TICKET_LIFETIME
                and self.user(userid) is not None
            ):
                return userid, age
        raise AuthFailure("permission denied - invalid PVE ticket")

    def csrf_token(self, userid: str) -> str:
        stamp = f"{int(self.clock()):08X}"
        return f"{stamp}:{self._sign('csrf', f'{stamp}:{userid}')}"

    def verify_csrf(self, userid: str, token: str | None) -> None:
        if token and ":" in token:
            stamp, signature = token.split(":", 1)
            if re.fullmatch(r"[0-9A-F]{8}", stamp):
                age = int(self.clock()) - int(stamp, 16)
                expected = self._sign("csrf", f"{stamp}:{userid}")
                if hmac.compare_digest(signature, expected) and TICKET_MIN_AGE < age < (
                    TICKET_LIFETIME
                ):
                    return
        raise AuthFailure("Permission denied - invalid csrf token")

    # -- API tokens ----------------------------------------------------------------------------

    def verify_token(self, api_token: str) -> Auth:
        """pve-access-control's `verify_token`, texts included."""
        if "=" not in api_token:
            raise AuthFailure("no tokenid specified")
        tokenid, value = api_token.rsplit("=", 1)
        found = _TOKENID.match(tokenid)
        if not found:
            raise AuthFailure(
                f"'{tokenid}' is not a valid token ID - not able to split into user and token parts"
            )
        userid, name = found.groups()
        user = self.user(userid)
        if user is None:
            raise AuthFailure(f"no such user ('{userid}')")
        if not user.get("enable", True):
            raise AuthFailure(f"user '{userid}' is disabled")
        token = self.token(tokenid)
        if token is None:
            raise AuthFailure(f"no such token '{name}' for user '{userid}'")
        if token.get("expire") and token["expire"] < self.clock():
            raise AuthFailure(f"token '{name}' access expired")
        if user.get("expire") and user["expire"] < self.clock():
            raise AuthFailure("account expired")
        if not hmac.compare_digest(str(token["secret"]).encode(), value.encode()):
            raise AuthFailure("invalid token value!")
        return Auth(userid, name)

    # -- the whole check -----------------------------------------------------------------------

    def authenticate(
        self,
        method: str,
        rel_path: str,
        authorization: str | None,
        cookie: str | None,
        csrf: str | None,
    ) -> Caller:
        """pveproxy's auth_handler for one request (path relative to /api2/json)."""
        api_token = None
        ticket = None
        if authorization and authorization.startswith("PVEAPIToken"):
            api_token = extract_auth_value(authorization, "PVEAPIToken")
        else:
            ticket = extract_auth_value(authorization, "PVEAuthCookie") or extract_auth_value(
                cookie, "PVEAuthCookie"
            )
        if (method, rel_path) in UNAUTHENTICATED:
            return Caller(None, api_token is not None)
        if api_token is not None:
            return Caller(self.verify_token(api_token), True)
        if not ticket:
            raise AuthFailure("No ticket")
        userid, _age = self.verify_ticket(ticket)
        if method != "GET":
            self.verify_csrf(userid, csrf)
        return Caller(Auth(userid), False, ticket=True)


def init_credentials(
    state_dir: Path, password: str | None = None, token_name: str = DEFAULT_TOKEN_NAME
) -> tuple[str, str]:
    """Create root@pam and the token `root@pam!<token_name>` unless present; idempotent.

    `password` sets (or resets) root@pam's password; without one a new root@pam gets a random
    password (use the token). Returns (token id, token secret).
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / AUTH_FILE
    if not path.is_file():
        _write_private(
            path,
            json.dumps({"key": secrets.token_hex(32), "users": {}, "tokens": {}}, indent=2),
        )
    creds = Credentials.load(state_dir)
    if creds.user("root@pam") is None or password is not None:
        creds.add_user("root@pam", password or secrets.token_urlsafe(18), admin=True)
    secret = creds.add_token("root@pam", token_name)
    return f"root@pam!{token_name}", secret


# The least-privilege identity `pxrun sim init` creates: what pxrun plans and applies with
# (pxrun/connect/rights.py lists the same needs), granted on the areas it works in, never `/`.
OPERATOR_USER = "pxrun@pve"
OPERATOR_ROLE = "PxrunOperator"
OPERATOR_PRIVILEGES = (
    "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
    "Pool.Allocate", "Pool.Audit", "SDN.Audit", "SDN.Use", "Sys.Audit", "VM.Allocate",
    "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CPU", "VM.Config.Disk",
    "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.Migrate",
    "VM.PowerMgmt", "VM.Snapshot", "VM.Snapshot.Rollback",
)  # fmt: skip
OPERATOR_PATHS = ("/nodes", "/pool", "/sdn", "/storage", "/vms")


def init_operator(state_dir: Path, token_name: str = DEFAULT_TOKEN_NAME) -> tuple[str, str]:
    """Create (idempotently) `pxrun@pve` with the PxrunOperator role on pxrun's areas and a
    privilege-separated token holding the same ACLs; returns (token id, secret)."""
    creds = Credentials.load(state_dir)
    with creds.changing() as data:
        data["users"].setdefault(OPERATOR_USER, {
            "enable": True, "comment": "least-privilege operator made by pxrun sim init"})
        creds.section("roles")[OPERATOR_ROLE] = sorted(OPERATOR_PRIVILEGES)
    tokenid = f"{OPERATOR_USER}!{token_name}"
    secret = creds.add_token(OPERATOR_USER, token_name, privsep=True,
                             comment="least privilege: containers, storages, pools")
    with creds.changing():
        acl = creds.section("acl")
        for kind, ugid in (("user", OPERATOR_USER), ("token", tokenid)):
            for path in OPERATOR_PATHS:
                entry = {"path": path, "type": kind, "ugid": ugid, "roleid": OPERATOR_ROLE,
                         "propagate": 1}
                if entry not in acl:
                    acl.append(entry)
    return tokenid, secret
