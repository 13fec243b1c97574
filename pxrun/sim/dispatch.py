"""One API call from raw HTTP pieces to a Proxmox-shaped answer, in pveproxy's order.

Order (pve-manager `PVE::HTTPServer`): authentication (401, empty body) → parameter extraction
→ route lookup (501) → URL/body parameter conflicts (400) → API tokens on `allowtoken: 0`
calls (403) → the node in a `/nodes/{node}/...` URL (500 unknown, 595 unreachable) → injected
transient faults → parameter validation (400) → the handler. Everything the handler raises
becomes the standard error envelope; anything unexpected is a 500 carrying the exception text
(the traceback goes to stderr, never to the client).

The server does not hold `sim.lock` around a handler: handlers take it themselves, so that slow
paths (task workers, injected latency) never serialise the whole API.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import random
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pxrun.sim import httpparse
from pxrun.sim.acl import Access
from pxrun.sim.api import ApiError, Request, WithTotal, match
from pxrun.sim.auth import AuthFailure, Credentials
from pxrun.sim.settings import SimSettings
from pxrun.sim.table_perms import PERMS

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

API_PREFIX = "/api2/json"

# pve-storage mounts `{storage}/content` with `fragmentDelimiter => ''` because volume IDs
# contain '/': everything after `content/` is one fragment, the `{volume}` of the call.
_WHOLE_FRAGMENT = re.compile(r"^(/nodes/[^/]+/storage/[^/]+/content/)(.+)$")

# Calls whose schema says `allowtoken: 0`.
TOKEN_REFUSED = frozenset({("POST", "/access/ticket")})

# Transient failures a real cluster produces now and then: (status, reason, JSON body?).
TRANSIENT_FAULTS: tuple[tuple[int, str, bool], ...] = (
    (500, "got timeout", True),
    (500, "got no worker upid - command failed", True),
    (595, "Connection timed out", False),
    (596, "Connection reset by peer", False),
)

Validator = Callable[..., dict[str, Any]]


@dataclass
class Reply:
    """What to send back, plus what the request log wants to know."""

    status: int
    reason: str
    body: bytes = b""
    params: dict[str, Any] = field(default_factory=dict)
    authid: str | None = None
    delay: float = 0.0  # seconds to hold a 401 back, as pveproxy does (outside any worker slot)
    headers: dict[str, str] = field(default_factory=dict)  # besides the API's own (registry)


def _load_validator() -> Validator | None:
    """SIM-SCHEMA's `validate_params`, if that module exists in this build."""
    if importlib.util.find_spec("pxrun.sim.validate") is None:
        return None
    module = importlib.import_module("pxrun.sim.validate")
    validator: Validator = module.validate_params
    return validator


class Dispatcher:
    """Turns (method, path, query, headers, body) into a `Reply` for one simulator."""

    def __init__(self, sim: Simulator, credentials: Credentials) -> None:
        self.sim = sim
        self.credentials = credentials
        self.validator = _load_validator()
        self._fallback_settings = SimSettings()
        seed = self.settings.seed
        self.rng = random.Random(seed) if seed is not None else random.Random()

    @property
    def settings(self) -> SimSettings:
        settings: SimSettings = getattr(self.sim, "settings", self._fallback_settings)
        return settings

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        header: Callable[[str], str | None],
        body: bytes,
    ) -> Reply:
        if (path.startswith("/v2") and path.rstrip("/") == "/v2") or path.startswith("/v2/"):
            from pxrun.sim import registry  # the catalog as a registry mirror (registry.py)

            return registry.handle(self.sim, method, unquote(path))
        if not path.startswith(API_PREFIX + "/"):
            return _error(ApiError(501, f"no such file '{path}'"))
        raw_rel = path[len(API_PREFIX) :].rstrip("/") or "/"
        rel = unquote(raw_rel)
        try:
            caller = self.credentials.authenticate(
                method,
                rel,
                header("Authorization"),
                header("Cookie"),
                header("CSRFPreventionToken"),
            )
        except AuthFailure as exc:
            reason = httpparse.reason_phrase(exc.message)
            return Reply(401, reason, delay=self.settings.auth_fail_delay)
        authid = caller.auth.authid if caller.auth else None
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        try:
            params = httpparse.parse_params(method, query, header("Content-Type"), body, files)
            reply = self._call(method, raw_rel, params, caller.auth, caller.api_token, header,
                               files)
        except ApiError as exc:
            reply = _error(exc)
        except Exception as exc:
            print(f"pxrun sim: {method} {rel} failed:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            reply = _error(ApiError(500, str(exc) or type(exc).__name__))
        reply.params = params
        reply.authid = authid
        if reply.status == 401:
            reply.delay = self.settings.auth_fail_delay
        return reply

    def _call(
        self,
        method: str,
        raw_rel: str,
        params: dict[str, Any],
        auth: Any,
        api_token: bool,
        header: Callable[[str], str | None],
        files: dict[str, bytes] | None = None,
    ) -> Reply:
        # Match before decoding so an encoded `/` (%2F) stays inside its path segment.
        rel = unquote(raw_rel)
        whole = _WHOLE_FRAGMENT.match(raw_rel)
        if whole:
            raw_rel = whole.group(1) + whole.group(2).strip("/").replace("/", "%2F")
        try:
            route, raw_path_params = match(method, raw_rel)
        except ApiError:
            raise ApiError(501, f"Method '{method} {rel}' not implemented") from None
        path_params = {k: unquote(v) for k, v in raw_path_params.items()}
        conflict = httpparse.conflicting_path_params(params, path_params)
        if conflict:
            raise conflict
        if api_token and (method, route.template) in TOKEN_REFUSED:
            raise ApiError(403, f"URI '{rel}' not available with API token, need proper ticket.")
        if "node" in path_params:
            unreachable = self._check_node(path_params["node"])
            if unreachable:
                return unreachable
        fault = self._transient_fault()
        if fault:
            return fault
        self._ha_tick()
        raw = {**params, **path_params}
        rule = PERMS.get((method, route.template), "unlisted")
        if auth is not None and rule != "unlisted":
            Access(self.credentials, self.sim).check_api(auth, rule, raw)
        upload = None
        if files:
            # pveproxy spools the file to /var/tmp and names it in `tmpfilename`
            upload = next(iter(files.values()))
            raw["tmpfilename"] = f"/var/tmp/pveupload-{hashlib.md5(upload).hexdigest()}"
        json_body = "application/json" in (header("Content-Type") or "").lower()
        if self.validator is not None:
            typed = self.validator(method, route.template, raw, json_body=json_body)
        else:
            typed = raw
        request = Request(method, rel, route.template, typed)
        if auth is not None:
            request.auth = auth
        request.credentials = self.credentials
        request.upload = upload
        result = route.handler(self.sim, request)
        if isinstance(result, WithTotal):
            body = httpparse.success_body(result.data, result.total)
        else:
            body = httpparse.success_body(result)
        return Reply(200, "OK", body)

    def _check_node(self, node: str) -> Reply | None:
        """pveproxy forwards `/nodes/{node}/...` calls: unknown names and dead nodes fail."""
        nodes = getattr(self.sim, "nodes", None)
        if nodes is None:  # a bare simulator without a cluster model: nothing to check
            return None
        if node not in nodes:
            raise ApiError(
                500,
                f"hostname lookup '{node}' failed - failed to get address info for: "
                f"{node}: Name or service not known",
            )
        if node in self.settings.faults.offline_nodes or not getattr(nodes[node], "online", True):
            self.tally("offline")
            return Reply(595, "No route to host")
        return None

    def _ha_tick(self) -> None:
        """Let the HA manager notice dead nodes before a call looks at the cluster."""
        if getattr(self.sim, "extra", None) is None:
            return
        from pxrun.sim import ha

        with self.sim.lock:
            ha.tick(self.sim)

    def _transient_fault(self) -> Reply | None:
        rate = self.settings.faults.error_rate
        if rate <= 0 or self.rng.random() >= rate:
            return None
        status, reason, has_body = self.rng.choice(TRANSIENT_FAULTS)
        self.tally("error")
        if has_body:
            return _error(ApiError(status, reason))
        return Reply(status, reason)


    def tally(self, kind: str) -> None:
        tally = getattr(self.sim, "injected", None)
        if tally is not None:
            tally.add(kind)


def _error(error: ApiError) -> Reply:
    return Reply(error.status, httpparse.reason_phrase(error.message), httpparse.error_body(error))
