"""Choose the one exception class for a Proxmox error answer or a transport failure.

Why one function: Proxmox signals most failures as HTTP 500 with a `die` text (a missing
config, a lock, a digest mismatch), so the status alone says little. `classify` looks at the
status, the reason phrase (the first line of Proxmox's message) and the `errors` map, in a
fixed order, and every caller gets the same answer for the same response (as kopf does).
Transport errors from requests/urllib3 go through `from_transport_error`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pxrun import errors

# AnyEvent::HTTP statuses pveproxy uses when it cannot reach the node it proxies to.
UNREACHABLE_STATUSES = frozenset({595, 596, 597})
_LOCKED = re.compile(r"\b(?:CT|VM) is locked \((?P<lock>[^)]*)\)")
_LOCK_TIMEOUT = re.compile(r"can't lock file .*got timeout|got timeout")
_NO_WORKER = "got no worker upid"
_DIGEST = re.compile(r"detected modified configuration|digest", re.IGNORECASE)
_NOT_FOUND = re.compile(
    r"does not exist|no such (?!task)|not found|unable to find|hostname lookup '[^']*' failed",
    re.IGNORECASE)
_EXISTS = re.compile(r"already exists", re.IGNORECASE)
_ROOT_ONLY = re.compile(r"only allowed for root@pam", re.IGNORECASE)
_UNREACHABLE_TEXT = re.compile(
    r"no route to host|connection refused|connection timed out|node .* (?:is )?(?:offline|"
    r"unreachable)|unable to connect", re.IGNORECASE)


def classify(status: int, reason: str, errors_map: Mapping[str, Any] | None = None, *,
             method: str = "", path: str = "") -> errors.ApiError:
    """The exception for one error answer. The order of the checks is the contract:

    401 auth -> 403 permission -> 400 parameters -> unreachable (595/596/597 or its text) ->
    lock timeout / no worker (transient) -> locked -> digest -> already exists -> not found
    (also 404/501) -> other 5xx (502/503/504 transient) -> generic.
    """
    reason = (reason or "").strip()
    field_errors = {str(k): str(v).strip() for k, v in (errors_map or {}).items()
                    if not isinstance(v, bytes | bytearray)}
    where = f"{method} /{path.lstrip('/')}" if method else ""
    kw: dict[str, Any] = {"status": status, "reason": reason, "errors": field_errors,
                          "method": method, "path": path}
    text = reason or f"HTTP {status}"
    if status == 401:
        return errors.AuthenticationError(f"authentication failed: {text}", **kw)
    if status == 403:
        if _ROOT_ONLY.search(reason):
            return errors.PermissionDeniedError(
                text, **kw, hint="only root@pam may set this, and an API token never counts as "
                                 "root@pam (even root@pam!token): leave the option out, or set "
                                 "it by hand as root on the node")
        return errors.PermissionDeniedError(text, **kw)
    if status == 400:
        details = "; ".join(f"{k}: {v}" for k, v in sorted(field_errors.items()))
        if any("no such task" in v for v in field_errors.values()):
            return errors.NotFoundError(f"{text} ({details})", **kw)
        return errors.ParameterError(f"{text} ({details})" if details else text, **kw)
    if status in UNREACHABLE_STATUSES or (status >= 500 and _UNREACHABLE_TEXT.search(reason)):
        return errors.UnreachableError(f"{where + ': ' if where else ''}{text}", transient=True,
                                       **kw)
    if _NO_WORKER in reason:
        return errors.ApiError(text, transient=True, **kw,
                               hint="Proxmox could not start the task in time; retrying may help")
    if _LOCK_TIMEOUT.search(reason):
        return errors.LockedError(text, transient=True, **kw,
                                  hint="another operation held the config lock; retry later or "
                                       "lower --parallelism")
    locked = _LOCKED.search(reason)
    if locked:
        return errors.LockedError(text, lock=locked.group("lock"), **kw)
    if _DIGEST.search(reason):
        return errors.DigestMismatchError(text, **kw)
    if _EXISTS.search(reason):
        return errors.AlreadyExistsError(text, **kw)
    if status in (404, 501) or _NOT_FOUND.search(reason):
        if status == 501:
            return errors.NotFoundError(
                text, **kw, hint="this Proxmox VE version has no such API path; pxrun needs PVE "
                                 "8.x or 9.x")
        return errors.NotFoundError(text, **kw)
    if status in (502, 503, 504):
        return errors.ApiError(text, transient=True, **kw,
                               hint="Proxmox was busy or restarting; retrying may help")
    return errors.ApiError(text, **kw)


def from_transport_error(exc: BaseException, *, method: str = "", path: str = "",
                         endpoint: str = "") -> errors.ApiError | None:
    """An `ApiError` for a requests/urllib3 failure, or None if `exc` is not one.

    TLS failures are not transient (the same certificate will fail again); connection
    failures and timeouts are, but a timed-out write may have been carried out, so only
    requests safe to repeat are retried (the retry policy decides that, not this function).
    """
    import requests

    kw: dict[str, Any] = {"method": method, "path": path}
    where = endpoint or "the Proxmox API"
    if isinstance(exc, requests.exceptions.SSLError):
        return _tls_error(where, _innermost(exc), kw)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return _no_answer(where, kw)
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return errors.UnreachableError(f"cannot connect to {where}: {_innermost(exc)}",
                                       transient=True, **kw)
    return None


def _innermost(exc: BaseException) -> str:
    """The most specific message in a requests -> urllib3 -> ssl exception chain."""
    seen: BaseException | None = exc
    message = str(exc)
    for _ in range(10):  # chains are short; the bound only guards against cycles
        if seen is None:
            break
        args = getattr(seen, "args", ())
        for arg in args:
            if isinstance(arg, BaseException):
                seen = arg
                break
        else:
            reason = getattr(seen, "reason", None)
            seen = reason if isinstance(reason, BaseException) else seen.__cause__
        if seen is not None and str(seen):
            message = str(seen)
    return re.sub(r"\s+", " ", message).strip()


def from_socket_error(exc: BaseException, *, connected: bool, method: str = "", path: str = "",
                      endpoint: str = "") -> errors.ApiError:
    """An `ApiError` for a failure of the standard-library GET path (`httpget.py`), with
    the classes and words `from_transport_error` gives for requests' failures of the same
    kind. `connected`: whether the connection stood (a timeout then means no answer)."""
    import ssl

    kw: dict[str, Any] = {"method": method, "path": path}
    where = endpoint or "the Proxmox API"
    detail = re.sub(r"\s+", " ", str(exc)).strip() or exc.__class__.__name__
    if isinstance(exc, ssl.SSLError | ssl.CertificateError) and not isinstance(
            exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return _tls_error(where, detail, kw)
    if isinstance(exc, TimeoutError) and connected:
        return _no_answer(where, kw)
    return errors.UnreachableError(f"cannot connect to {where}: {detail}", transient=True, **kw)


def _tls_error(where: str, detail: str, kw: dict[str, Any]) -> errors.ApiError:
    """A certificate that failed verification or its pinned fingerprint (both paths)."""
    if "fingerprint" in detail.lower():
        return errors.TlsError(f"the certificate of {where} does not match the pinned "
                               f"fingerprint ({detail})", **kw,
                               hint="the server's certificate changed or someone is in "
                                    "between; check it, then update the fingerprint")
    return errors.TlsError(f"TLS verification of {where} failed: {detail}", **kw)


def _no_answer(where: str, kw: dict[str, Any]) -> errors.ApiError:
    """A connection that stood but gave no answer in time (both paths)."""
    return errors.UnreachableError(f"{where} did not answer {kw['method']} /{kw['path']} in "
                                   "time", transient=True, **kw,
                                   hint="the cluster is slow or overloaded; raise the "
                                        "timeout (--timeout) or try again")
