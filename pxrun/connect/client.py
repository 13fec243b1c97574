"""The one Proxmox API client interface pxrun uses, and its proxmoxer implementation.

Why a Protocol: `observe` and `apply` depend on four verbs and task waiting, nothing more, so
the whole of pxrun sees one small surface whose errors are our typed `ApiError`s, never
proxmoxer's or requests'. Tests run the real implementation against the simulator over
HTTPS; nothing mocks it.

Paths are relative to `/api2/json` (`nodes/pve/lxc/101/config`). Parameters are Proxmox's:
booleans become 0/1 (requests would send `True`, which Proxmox rejects), None drops the key,
and lists are refused: form-encoding would repeat the key, which Proxmox reads as an array
and rejects; each list parameter has its own separator (`delete=net1,mp0`, `tags=a;b`),
so the caller joins it.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pxrun import __version__
from pxrun.connect.errormap import classify, from_transport_error
from pxrun.connect.httpget import GetPool, Reply, tls_context
from pxrun.connect.retry import DEFAULT_RETRY, RetryPolicy, call_with_retry
from pxrun.connect.settings import ConnectionSettings
from pxrun.connect.tls import effective_verify, proxy_configured
from pxrun.errors import ApiError

if TYPE_CHECKING:
    import requests

    from pxrun.connect.tasks import PollPolicy, TaskResult

log = logging.getLogger(__name__)
DEFAULT_TASK_TIMEOUT = 600.0
DEFAULT_POOL_SIZE = 32  # observation is latency-bound: one request per container, in parallel
API_BASE = "/api2/json"
USER_AGENT = f"pxrun/{__version__}"
Scalar = str | int | float


@runtime_checkable
class ProxmoxClient(Protocol):
    """What pxrun needs from the Proxmox API. Every failure is a `pxrun.errors.ApiError`.

    `idempotent=True` on a write allows retrying it after a transient failure; say so only
    when repeating the request cannot do harm (GETs are always retried).
    """

    def get(self, path: str, /, **params: Any) -> Any: ...

    def post(self, path: str, /, *, idempotent: bool = False, **params: Any) -> Any: ...

    def put(self, path: str, /, *, idempotent: bool = False, **params: Any) -> Any: ...

    def delete(self, path: str, /, *, idempotent: bool = False, **params: Any) -> Any: ...

    def wait_task(self, upid: str, *, timeout: float = DEFAULT_TASK_TIMEOUT) -> TaskResult: ...


def encode_params(params: Mapping[str, Any]) -> dict[str, Scalar]:
    """Proxmox's form values: bool -> 0/1, None dropped, scalars as they are, lists refused."""
    out: dict[str, Scalar] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = int(value)
        elif isinstance(value, str | int | float):
            out[key] = value
        else:
            raise TypeError(f"parameter {key!r}: {type(value).__name__} cannot be sent to "
                            "Proxmox; join lists with the separator the parameter expects")
    return out


class ProxmoxerClient:
    """`ProxmoxClient` with API-token auth: GETs over the standard library, writes (and
    every request when a proxy is configured) through proxmoxer's https backend.

    Why two paths (specs/0121): a read-only command sends hundreds of GETs and nothing
    else; the standard-library pool (`httpget.py`) spends a third of the CPU per request
    that requests does and spares importing requests, urllib3 and proxmoxer at all.
    proxmoxer stays the write path, as the design says: it is built on the first write,
    with the same TLS context and trust. Threads may share the client; each path keeps
    up to `pool_size` connections alive. We add TLS pinning, typed errors, retries and task
    waiting to both.
    """

    def __init__(self, settings: ConnectionSettings, *, pool_size: int = DEFAULT_POOL_SIZE,
                 retry: RetryPolicy = DEFAULT_RETRY, poll: PollPolicy | None = None) -> None:
        self.settings = settings
        self._retry = retry
        self._poll = poll
        self._pool_size = pool_size
        self._count = 0
        self._count_lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._verify = effective_verify(settings)
        self._proxied = proxy_configured()
        self._context: ssl.SSLContext | None = None
        self._writer: _Proxmoxer | None = None
        self._gets: GetPool | None = None

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, retries included (for benchmarks and -v output)."""
        return self._count

    def get(self, path: str, /, **params: Any) -> Any:
        return self._call("GET", path, params, safe=True)

    def post(self, path: str, /, *, idempotent: bool = False, **params: Any) -> Any:
        return self._call("POST", path, params, safe=idempotent)

    def put(self, path: str, /, *, idempotent: bool = False, **params: Any) -> Any:
        return self._call("PUT", path, params, safe=idempotent)

    def delete(self, path: str, /, *, idempotent: bool = False, **params: Any) -> Any:
        return self._call("DELETE", path, params, safe=idempotent)

    def wait_task(self, upid: str, *, timeout: float = DEFAULT_TASK_TIMEOUT) -> TaskResult:
        from pxrun.connect.tasks import DEFAULT_POLL, wait_task  # (not needed to read)

        return wait_task(self.get, upid, timeout=timeout, poll=self._poll or DEFAULT_POLL)

    def close(self) -> None:
        if self._gets is not None:
            self._gets.close()
        if self._writer is not None:
            self._writer.session.close()

    def __enter__(self) -> ProxmoxerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tls(self) -> ssl.SSLContext:
        """The one TLS context both paths use (loading a CA bundle costs milliseconds)."""
        if self._context is None:
            self._context = tls_context(self._verify,
                                        pinned=self.settings.fingerprint is not None)
        return self._context

    def _get_pool(self) -> GetPool:
        if self._gets is None:
            with self._build_lock:
                if self._gets is None:
                    endpoint = self.settings.endpoint
                    self._gets = GetPool(
                        endpoint.host, endpoint.port, base_path=API_BASE,
                        headers={"Authorization": _token_header(self.settings),
                                 "Accept": "application/json", "User-Agent": USER_AGENT},
                        context=self._tls(), fingerprint=self.settings.fingerprint,
                        timeout=self.settings.timeout, size=self._pool_size,
                        endpoint=endpoint.url)
        return self._gets

    def _proxmoxer(self) -> _Proxmoxer:
        if self._writer is None:
            with self._build_lock:
                if self._writer is None:
                    self._writer = _Proxmoxer(self.settings, pool_size=self._pool_size,
                                              verify=self._verify, context=self._tls())
        return self._writer

    def _call(self, method: str, path: str, params: Mapping[str, Any], *, safe: bool) -> Any:
        path = path.strip("/")
        values = encode_params(params)
        fast = method == "GET" and bool(path) and not self._proxied

        def once() -> Any:
            with self._count_lock:
                self._count += 1
            if fast:
                reply = self._get_pool().fetch(path, values)
                if not reply.ok:  # the same error as proxmoxer's answer would give
                    raise classify(reply.status, reply.reason, _errors_of(reply),
                                   method=method, path=path)
                parsed, data = reply.data()
                if parsed:
                    return data
                # not Proxmox's {"data": ...}: let proxmoxer read it as it always has
            return self._proxmoxer().call(method, path, values)

        def note(exc: ApiError, delay: float) -> None:
            log.info("retrying %s /%s in %.2f s after: %s", method, path, delay, exc.message)

        started = time.monotonic()
        try:
            return call_with_retry(once, policy=self._retry, safe=safe, on_retry=note)
        finally:
            log.debug("%s /%s took %.3f s", method, path, time.monotonic() - started)


class _Proxmoxer:
    """proxmoxer's https backend on our pool adapter: the write path (and every request
    through a proxy). Imports proxmoxer and requests, so it is made only when needed."""

    def __init__(self, settings: ConnectionSettings, *, pool_size: int, verify: bool | str,
                 context: ssl.SSLContext) -> None:
        from proxmoxer import ProxmoxAPI, ResourceException
        from requests import RequestException, Session

        from pxrun.connect.pool import PooledAdapter

        self.settings = settings
        self.errors: tuple[type[Exception], type[Exception]] = (ResourceException,
                                                                RequestException)
        # requests reads the proxy variables from the environment on every request (every
        # variable, several times: ~1 ms of CPU each). Read them once, for this endpoint,
        # as requests itself would; `verify` has had the environment applied already.
        environ = Session().merge_environment_settings(
            f"https://{settings.endpoint.netloc}/", {}, None, verify, None)
        self.api = ProxmoxAPI(settings.endpoint.netloc, user=settings.user,
                              token_name=settings.token_name,
                              token_value=settings.token_secret.reveal(),
                              verify_ssl=verify, timeout=settings.timeout)
        self.session: requests.Session = self.api._store["session"]
        self.session.proxies.update(environ["proxies"])
        self.session.trust_env = False
        self.session.mount("https://", PooledAdapter(pool_size=pool_size, verify=verify,
                                                     context=context,
                                                     fingerprint=settings.fingerprint))

    def call(self, method: str, path: str, values: dict[str, Scalar]) -> Any:
        resource_error, transport_error = self.errors
        try:
            resource = self.api(path) if path else self.api
            return getattr(resource, method.lower())(**values)
        except resource_error as exc:
            raise classify(getattr(exc, "status_code", 0), str(getattr(exc, "content", "")),
                           _errors_of(exc), method=method, path=path) from exc
        except transport_error as exc:
            mapped = from_transport_error(exc, method=method, path=path,
                                          endpoint=self.settings.endpoint.url)
            if mapped is None:
                raise ApiError(f"{method} /{path} failed: {exc.__class__.__name__}",
                               method=method, path=path) from exc
            raise mapped from exc


def _token_header(settings: ConnectionSettings) -> str:
    """The Authorization value proxmoxer sends for an API token."""
    return (f"PVEAPIToken={settings.user}!{settings.token_name}="
            f"{settings.token_secret.reveal()}")


def _errors_of(source: Exception | Reply) -> dict[str, Any] | None:
    errors = source.errors() if isinstance(source, Reply) else getattr(source, "errors", None)
    return errors if isinstance(errors, dict) else None
