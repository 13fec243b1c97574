"""GETs straight over the session's own urllib3 connection pool.

Why: observing 500 containers is 500 GETs, and going through proxmoxer and requests'
Session machinery (settings and cookie merging, hooks, request preparation) costs about
as much CPU again as the HTTP exchange itself — most of a `pxrun watch` cycle. This path
sends the same request (the URL and headers requests prepares, with the token header
proxmoxer adds) over the same pool, with the same TLS verification and certificate
pinning (the adapter builds the pool), and hands back the answer.

What it does not decide: the client turns the answer into data or into the same typed
error as ever (`errormap.classify`, from the status, reason and `errors`, as proxmoxer
passes them). A timeout is raised as requests' own timeout error, so the client maps it as
always. Any other transport failure (refused, TLS) returns None before anything was
answered, and the client sends the request the ordinary way, which then fails with its
usual message. Through a proxy the ordinary way is always taken.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

if TYPE_CHECKING:
    import requests
    from urllib3.connectionpool import HTTPConnectionPool


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, reason phrase and body."""

    status: int
    reason: str
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status <= 299

    def data(self) -> tuple[bool, Any]:
        """(True, the JSON answer's `data`) for a well-formed success, else (False, None)."""
        try:
            doc = json.loads(self.body.decode("utf-8"))
            return (True, doc["data"]) if isinstance(doc, dict) and "data" in doc else (
                False, None)
        except ValueError:  # UnicodeDecodeError is one
            return False, None

    def errors(self) -> Any:
        """Proxmox's per-parameter `errors`, read as proxmoxer reads them."""
        try:
            doc = json.loads(self.body.decode("utf-8"))
        except ValueError:
            return {"errors": self.body}
        return doc.get("errors") if isinstance(doc, dict) else None


class FastGet:
    """The GETs of one client (thread-safe, as urllib3's pool is)."""

    def __init__(self, session: requests.Session, base_url: str, *, verify: Any,
                 timeout: float | None) -> None:
        self._session, self._base = session, base_url.rstrip("/")
        self._prefix = urlsplit(self._base).path  # /api2/json: where request targets start
        self._verify, self._timeout = verify, timeout
        self._lock = threading.Lock()
        self._pool: HTTPConnectionPool | None = None
        self._headers: dict[str, str] = {}
        self._timeouts: Any = None  # urllib3's Timeout, made with the pool
        self._usable = True

    def _ready(self) -> HTTPConnectionPool | None:
        """The pool and headers, built once from a request prepared as requests would."""
        if self._pool is not None or not self._usable:
            return self._pool
        with self._lock:
            if self._pool is None and self._usable:
                import requests
                from requests.utils import select_proxy

                probe = self._session.prepare_request(
                    requests.Request("GET", f"{self._base}/version"))
                url = str(probe.url)
                adapter = self._session.get_adapter(url)
                if select_proxy(url, self._session.proxies) or not hasattr(
                        adapter, "get_connection_with_tls_context"):
                    self._usable = False
                    return None
                from urllib3.util import Timeout

                self._headers = {**probe.headers, "Accept": "application/json"}
                self._timeouts = Timeout(connect=self._timeout, read=self._timeout)
                self._pool = adapter.get_connection_with_tls_context(
                    probe, self._verify, proxies={}, cert=None)
        return self._pool

    def fetch(self, path: str, params: dict[str, Any]) -> Reply | None:
        """The answer to `GET path?params`; None when nothing was answered (not sent, or a
        failure other than a timeout): then send it the ordinary way. Timeouts raise
        requests' ConnectTimeout / ReadTimeout."""
        pool = self._ready()
        if pool is None:
            return None
        from requests.exceptions import ConnectTimeout, ReadTimeout
        from requests.utils import requote_uri
        from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError

        target = f"{self._prefix}/{path}" + (f"?{urlencode(params)}" if params else "")
        try:
            answer = pool.urlopen(
                "GET", requote_uri(target), headers=self._headers, retries=False,
                redirect=False, assert_same_host=False, preload_content=True,
                timeout=self._timeouts)
        except ConnectTimeoutError as exc:
            raise ConnectTimeout(exc) from exc
        except ReadTimeoutError as exc:
            raise ReadTimeout(exc) from exc
        except Exception:  # refused, reset, TLS: the ordinary way fails with its own words
            return None
        return Reply(status=answer.status, reason=str(answer.reason or ""), body=answer.data)
