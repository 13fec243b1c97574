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
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pxrun.connect.errormap import classify, from_transport_error
from pxrun.connect.fastget import FastGet, Reply
from pxrun.connect.retry import DEFAULT_RETRY, RetryPolicy, call_with_retry
from pxrun.connect.settings import ConnectionSettings
from pxrun.connect.tasks import DEFAULT_POLL, PollPolicy, TaskResult, wait_task
from pxrun.connect.tls import requests_verify
from pxrun.errors import ApiError

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)
DEFAULT_TASK_TIMEOUT = 600.0
DEFAULT_POOL_SIZE = 32  # observation is latency-bound: one request per container, in parallel
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
    """`ProxmoxClient` over proxmoxer's https backend with API-token auth.

    One keep-alive session, pooled for `pool_size` concurrent callers (threads may share the
    client). proxmoxer supplies the token header and URL building; we add the pool, TLS
    pinning, typed errors, retries and task waiting. proxmoxer and requests are imported
    here, not at module level, so importing the Protocol costs nothing.
    """

    def __init__(self, settings: ConnectionSettings, *, pool_size: int = DEFAULT_POOL_SIZE,
                 retry: RetryPolicy = DEFAULT_RETRY, poll: PollPolicy = DEFAULT_POLL) -> None:
        self.settings = settings
        self._retry = retry
        self._poll = poll
        self._count = 0
        self._count_lock = threading.Lock()
        from proxmoxer import ProxmoxAPI, ResourceException
        from requests import RequestException, Session

        from pxrun.connect.pool import PooledAdapter

        self._api_errors: tuple[type[Exception], type[Exception]] = (ResourceException,
                                                                     RequestException)
        # requests reads the proxy and CA-bundle variables from the environment on every
        # request (every variable, several times: ~1 ms of CPU each, a third of observing
        # 500 containers). Read them once, for this endpoint, as requests itself would.
        environ = Session().merge_environment_settings(
            f"https://{settings.endpoint.netloc}/", {}, None, requests_verify(settings), None)
        self._api = ProxmoxAPI(settings.endpoint.netloc, user=settings.user,
                               token_name=settings.token_name,
                               token_value=settings.token_secret.reveal(),
                               verify_ssl=environ["verify"], timeout=settings.timeout)
        self._session: requests.Session = self._api._store["session"]
        self._session.proxies.update(environ["proxies"])
        self._session.trust_env = False
        self._session.mount("https://", PooledAdapter(pool_size=pool_size,
                                                      verify=environ["verify"],
                                                      fingerprint=settings.fingerprint))
        self._fast = FastGet(self._session, self._api._store["base_url"],
                             verify=environ["verify"], timeout=settings.timeout)

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
        return wait_task(self.get, upid, timeout=timeout, poll=self._poll)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ProxmoxerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, params: Mapping[str, Any], *, safe: bool) -> Any:
        path = path.strip("/")
        values = encode_params(params)

        resource_error, transport_error = self._api_errors

        def once() -> Any:
            with self._count_lock:
                self._count += 1
            try:
                if method == "GET" and path and (reply := self._fast.fetch(path, values)):
                    if not reply.ok:  # the same error as proxmoxer's answer would give
                        raise classify(reply.status, reply.reason, _errors_of(reply),
                                       method=method, path=path)
                    parsed, data = reply.data()
                    if parsed:
                        return data
                resource = self._api(path) if path else self._api
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

        def note(exc: ApiError, delay: float) -> None:
            log.info("retrying %s /%s in %.2f s after: %s", method, path, delay, exc.message)

        started = time.monotonic()
        try:
            return call_with_retry(once, policy=self._retry, safe=safe, on_retry=note)
        finally:
            log.debug("%s /%s took %.3f s", method, path, time.monotonic() - started)


def _errors_of(source: Exception | Reply) -> dict[str, Any] | None:
    errors = source.errors() if isinstance(source, Reply) else getattr(source, "errors", None)
    return errors if isinstance(errors, dict) else None
