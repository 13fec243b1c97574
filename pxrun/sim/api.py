"""The simulator's handler contract: routes, requests and Proxmox-shaped errors.

Every endpoint is a plain function registered with `@route(METHOD, TEMPLATE)`. The server
(`server.py`) matches the path, merges query/body/path parameters, validates them against
the simulator's own parameter table (`validate.py`), then calls the handler with a
`Request` whose `params` are typed (ints, floats, 0/1 booleans, strings; property strings
stay strings, parse them with `propstr`). A handler returns the value of `data`, or a
`WithTotal` when Proxmox also sends `total`. It raises `ApiError` to answer as Proxmox
does: the HTTP reason phrase is the first line of the message.

Locking: the server never holds `sim.lock` around a handler; a handler takes `sim.lock` itself
for as long as it reads or changes the model (and never while sleeping), so injected latency and
slow clients do not serialise the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pxrun.sim.auth import Credentials
    from pxrun.sim.state import Simulator


class ApiError(Exception):
    """An error answer: HTTP `status`, full `message`, and for 400s the per-parameter map."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors

    @property
    def reason(self) -> str:
        """The HTTP reason phrase: the message's first line, as pve-http-server sends it."""
        return self.message.split("\n", 1)[0].strip()


def param_error(errors: dict[str, str]) -> ApiError:
    """400 `Parameter verification failed.` with Proxmox's per-parameter texts."""
    return ApiError(400, "Parameter verification failed.", errors)


def fail(message: str) -> ApiError:
    """500 with a handler's `die` text (locked, already running, digest mismatch, ...)."""
    return ApiError(500, message)


def permission_denied(what: str) -> ApiError:
    """403 `Permission check failed (<what>)`, or without parentheses when nothing is named
    (RPCEnvironment's raise_perm_exc)."""
    return ApiError(403, f"Permission check failed ({what})" if what else
                    "Permission check failed")


@dataclass(frozen=True)
class Auth:
    """Who is calling. A token of root@pam is *not* root@pam for root-only checks."""

    userid: str
    tokenid: str | None = None

    @property
    def authid(self) -> str:
        return f"{self.userid}!{self.tokenid}" if self.tokenid else self.userid

    @property
    def is_root(self) -> bool:
        return self.userid == "root@pam" and self.tokenid is None


@dataclass
class Request:
    """One validated API call as a handler sees it."""

    method: str
    path: str  # after /api2/json, e.g. /nodes/pve1/lxc/101/config
    template: str  # the matched route template, e.g. /nodes/{node}/lxc/{vmid}/config
    params: dict[str, Any]
    auth: Auth = field(default_factory=lambda: Auth("root@pam"))
    credentials: Credentials | None = None  # set by the server; used by the /access endpoints
    upload: bytes | None = None  # the file of a multipart upload (`tmpfilename` names it)


@dataclass(frozen=True)
class WithTotal:
    """A result that Proxmox sends with a `total` member next to `data`."""

    data: Any
    total: int


Handler = Callable[["Simulator", Request], Any]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    pattern: re.Pattern[str]


ROUTES: list[Route] = []
_PARAM = re.compile(r"\{(\w+)\}")


def _compile(template: str) -> re.Pattern[str]:
    parts = _PARAM.split(template)
    regex = "".join(
        re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    """Register a handler for `METHOD /template/{param}` (path relative to /api2/json)."""

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, template, handler, _compile(template)))
        return handler

    return register


# Routes by (method, number of `/`): a path parameter never holds a `/` (%2F stays encoded),
# so only routes of the path's depth can match. Rebuilt when routes were added.
_BY_SHAPE: dict[tuple[str, int], list[Route]] = {}
_INDEXED: list[tuple[int, int]] = [(0, 0)]


def _candidates(method: str, depth: int) -> list[Route]:
    if _INDEXED[0] != (id(ROUTES), len(ROUTES)):
        _BY_SHAPE.clear()
        for item in ROUTES:
            _BY_SHAPE.setdefault((item.method, item.template.count("/")), []).append(item)
        _INDEXED[0] = (id(ROUTES), len(ROUTES))
    return _BY_SHAPE.get((method, depth), [])


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """Find the route for a call, or raise 501 exactly as pve-http-server does."""
    for candidate in _candidates(method, path.count("/")):
        found = candidate.pattern.match(path)
        if found:
            return candidate, found.groupdict()
    raise ApiError(501, f"Method '{method} {path}' not implemented")
