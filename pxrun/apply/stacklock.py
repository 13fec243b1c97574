"""The stack lock, kept in the cluster itself: a resource pool named `pxrun-lock-<stack>`.

pxrun has no state file, so there is no file to lock; two applies of one stack (two CI jobs,
a colleague's laptop) must still never interleave. Proxmox offers one cluster-wide atomic
test-and-set that an API token may use: creating a pool fails when it exists. The pool's
comment records who holds the lock, since when and until when (JSON), so a lock left by a
crashed run expires and the next run takes it over with a warning.

Taking over an expired lock must itself be atomic, or two runs could both take it over.
The taker first creates a second pool named after the expired holder's id
(`pxrun-lock-<stack>.<id>`): only one run can create it; that run rewrites the lock's
comment and removes the claim pool. A long apply renews its expiry in the background.
`pxrun force-unlock` removes the lock (and any claim pools) whoever holds it. `plan` never
takes the lock: it changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pxrun.errors import AlreadyExistsError, ApiError, NotFoundError, PxrunError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pxrun.connect.client import ProxmoxClient

PREFIX = "pxrun-lock-"
DEFAULT_TTL = 900.0  # seconds; renewed every third of it while the apply runs


class LockHeldError(PxrunError):
    """Another run holds the stack lock."""

    hint = ("wait for the other apply to finish (or use --lock-timeout to wait); if no apply "
            "is running, release the lock with `pxrun force-unlock`")


def pool_id(stack: str) -> str:
    return f"{PREFIX}{stack}"


@dataclass(frozen=True)
class LockInfo:
    """What the lock pool's comment says."""

    id: str
    owner: str
    since: float
    expires: float

    def to_comment(self) -> str:
        return json.dumps({"id": self.id, "owner": self.owner, "since": _iso(self.since),
                           "expires": _iso(self.expires)}, sort_keys=True)

    @classmethod
    def from_comment(cls, text: str) -> LockInfo | None:
        try:
            data = json.loads(text)
            return cls(id=str(data["id"]), owner=str(data["owner"]),
                       since=_epoch(data["since"]), expires=_epoch(data["expires"]))
        except (ValueError, KeyError, TypeError):
            return None

    def describe(self) -> str:
        return f"held by {self.owner} since {_iso(self.since)} (expires {_iso(self.expires)})"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: Any) -> float:
    """The inverse of `_iso`; ValueError for anything else. Not `strptime`: its first use
    imports `_strptime` and compiles its patterns (about 5 ms of every apply)."""
    value = str(text)
    if len(value) != 20 or value[10] != "T" or value[19] != "Z":
        raise ValueError(f"not a UTC time: {value!r}")
    return datetime.fromisoformat(value[:19]).replace(tzinfo=UTC).timestamp()


def default_owner() -> str:
    """Who holds the lock, for the message another run shows: user@host pid."""
    return f"{_user()}@{socket.gethostname()} pid {os.getpid()}"


def _user() -> str:
    """The login name: the environment (LOGNAME, USER, ...), else the password database, so
    a CI job or a container without $USER still names a user (`root`, not `unknown`)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no such variable and no passwd entry for the uid
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def read_lock(client: ProxmoxClient, stack: str) -> LockInfo | bool | None:
    """The lock's info; True when the pool exists with an unreadable comment; None when
    nobody holds the lock."""
    try:
        pools = client.get("pools", poolid=pool_id(stack))
    except NotFoundError:
        return None
    item = pools[0] if isinstance(pools, list) and pools else {}
    info = LockInfo.from_comment(str(item.get("comment") or ""))
    return info if info is not None else True


class StackLock:
    """Hold the stack lock for the duration of a `with` block (or acquire/release)."""

    def __init__(self, client: ProxmoxClient, stack: str, *, owner: str | None = None,
                 ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.time,
                 on_warning: Callable[[str], None] | None = None,
                 background: bool = True) -> None:
        self.client = client
        self.background = background  # renew from a thread; else the caller calls renew()
        self.stack = stack
        self.ttl = ttl
        self.clock = clock
        self.info = LockInfo(id=secrets.token_hex(6), owner=owner or default_owner(),
                             since=0.0, expires=0.0)
        self.on_warning = on_warning or (lambda message: None)
        self.held = False
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> StackLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self, timeout: float = 0.0) -> None:
        """Take the lock, waiting up to `timeout` seconds for another holder to let go."""
        deadline = time.monotonic() + max(timeout, 0.0)
        delay = 0.5
        while True:
            holder = self._try_once()
            if holder is None:
                self.held = True
                self._start_renewing()
                return
            if time.monotonic() + delay > deadline:
                where = holder.describe() if isinstance(holder, LockInfo) else \
                    "held (its owner record is unreadable)"
                raise LockHeldError(f"stack {self.stack!r} is locked: {where}")
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)

    def _fresh(self) -> LockInfo:
        now = self.clock()
        self.info = LockInfo(id=self.info.id, owner=self.info.owner, since=now,
                             expires=now + self.ttl)
        return self.info

    def _try_once(self) -> LockInfo | bool | None:
        """None when we took the lock; else who holds it."""
        name = pool_id(self.stack)
        for attempt in range(5):
            try:
                self.client.post("pools", poolid=name, comment=self._fresh().to_comment())
                return None
            except AlreadyExistsError:
                break
            except ApiError as exc:
                if not exc.transient or attempt == 4:
                    raise
                time.sleep(0.2 * 2 ** attempt)
        holder = read_lock(self.client, self.stack)
        if holder is None:
            return self._try_once()  # released between our create and our read
        if isinstance(holder, LockInfo) and holder.id == self.info.id:
            return None  # our own create got through before its answer was lost
        if isinstance(holder, LockInfo) and holder.expires < self.clock() and (
                self._take_over(holder)):
            self.on_warning(f"took over the expired lock of stack {self.stack!r} "
                            f"({holder.describe()})")
            return None
        return holder

    def _take_over(self, stale: LockInfo) -> bool:
        claim = f"{pool_id(self.stack)}.{stale.id}"
        try:
            self.client.post("pools", poolid=claim, comment=self.info.owner)
        except AlreadyExistsError:
            return False  # another run is taking it over
        try:
            current = read_lock(self.client, self.stack)
            if not isinstance(current, LockInfo) or current.id != stale.id:
                return False  # released or changed meanwhile: try again normally
            self.client.put("pools", poolid=pool_id(self.stack),
                            comment=self._fresh().to_comment())
            return True
        finally:
            _delete_pool(self.client, claim)

    def _start_renewing(self) -> None:
        if not self.background:
            return
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, daemon=True,
                                         name=f"stack-lock-{self.stack}")
        self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if not self.renew():
                    self.on_warning(f"the lock of stack {self.stack!r} was taken away "
                                    "(force-unlock?); finishing the running work")
                    return
            except ApiError as exc:
                self.on_warning(f"could not renew the stack lock: {exc.message}")

    def renew(self) -> bool:
        """Push the expiry out by `ttl` if the lock is still ours; False (and no longer
        held) when someone else holds it now. A long-lived holder such as `pxrun watch`
        calls this at every cycle; API errors propagate."""
        current = read_lock(self.client, self.stack)
        if not isinstance(current, LockInfo) or current.id != self.info.id:
            self.held = False
            return False
        self.client.put("pools", poolid=pool_id(self.stack), comment=self._fresh().to_comment())
        return True

    def release(self) -> None:
        """Give the lock back, only if it is still ours."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
            self._renewer = None
        if not self.held:
            return
        self.held = False
        try:
            current = read_lock(self.client, self.stack)
            if isinstance(current, LockInfo) and current.id == self.info.id:
                _delete_pool(self.client, pool_id(self.stack))
        except ApiError as exc:
            self.on_warning(f"could not release the stack lock: {exc.message}; it expires "
                            f"by itself, or run `pxrun force-unlock`")


def force_unlock(client: ProxmoxClient, stack: str) -> LockInfo | bool | None:
    """Remove the stack lock and any take-over claims, whoever holds them; return what the
    lock said (None when there was none)."""
    holder = read_lock(client, stack)
    pools = client.get("pools")
    for item in pools if isinstance(pools, list) else []:
        poolid = str(item.get("poolid", ""))
        if poolid.startswith(f"{pool_id(stack)}."):
            _delete_pool(client, poolid)
    if holder is not None:
        _delete_pool(client, pool_id(stack))
    return holder


def _delete_pool(client: ProxmoxClient, poolid: str) -> None:
    with contextlib.suppress(NotFoundError):
        client.delete("pools", poolid=poolid, idempotent=True)
