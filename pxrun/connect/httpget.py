"""GETs over the standard library: a small keep-alive pool of TLS connections.

Why not requests (specs/0121): observing 500 containers is 500 GETs, and through requests
and urllib3 each costs about 1 ms of CPU, ten times the exchange itself, while importing
requests, urllib3 and proxmoxer costs ~150 ms at every start of a read-only command. Writes
still go through proxmoxer (`client.py`), built on the first write. The HTTP/1.1 framing is
`http11.py`.

The trust is the client's, decided once (`tls.py`: `effective_verify`) and held in one
`ssl.SSLContext` made as urllib3 makes its own (`tls_context`), so both paths trust the
same certificates: TLS 1.2 or newer, chain and host name verified by default, the CA file
when one is given, nothing only when the settings turn verification off. A pinned
fingerprint is compared with the server's certificate right after the handshake, before a
byte of the request (and so the token) is written — the check urllib3's
`assert_fingerprint` makes, with its message.

A kept-alive connection the server has closed meanwhile is noticed before it is used (it
reads as ready), as urllib3 does; if one turns out closed only when the request goes out
(no answer byte came back), the request is sent once more on a new connection: a GET is
safe to repeat. Failures leave as typed `ApiError`s (`errormap.from_socket_error`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import select
import socket
import ssl
import sys
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from pxrun.connect.errormap import from_socket_error
from pxrun.connect.http11 import Answer, Dropped, Exchange

_SAFE = "!#$%&'()*+,/:;=?@[]~"  # what requests' requote_uri leaves unquoted


def tls_context(verify: bool | str, *, pinned: bool = False) -> ssl.SSLContext:
    """The one context of a client: `verify` True (certifi's bundle, as requests uses), a
    CA file or folder, or False (no verification). Options as urllib3's own context.
    `pinned`: the fingerprint stands in for the host name (a chain is still verified when
    `verify` asks for one), as urllib3 does with `assert_fingerprint`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_SSLv2 | ssl.OP_NO_SSLv3 | ssl.OP_NO_COMPRESSION | \
        ssl.OP_NO_TICKET
    if sys.version_info >= (3, 13):
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    context.post_handshake_auth = True
    context.hostname_checks_common_name = False
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        import certifi

        where = certifi.where()
    else:
        where = verify
    if os.path.isdir(where):
        context.load_verify_locations(capath=where)
    else:
        context.load_verify_locations(cafile=where)
    if pinned:
        context.check_hostname = False
    return context


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
        except ValueError:  # UnicodeDecodeError is one
            return False, None
        return (True, doc["data"]) if isinstance(doc, dict) and "data" in doc else (False, None)

    def errors(self) -> Any:
        """Proxmox's per-parameter `errors`, read as proxmoxer reads them."""
        try:
            doc = json.loads(self.body.decode("utf-8"))
        except ValueError:
            return {"errors": self.body}
        return doc.get("errors") if isinstance(doc, dict) else None


class FingerprintMismatch(ssl.SSLError):
    """The server's certificate is not the pinned one (urllib3's words)."""


class _Conn:
    """One TLS connection and its exchange; `reused`: it carried an answer before."""

    __slots__ = ("exchange", "reused", "sock")

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock = sock
        self.exchange = Exchange(sock)
        self.reused = False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class GetPool:
    """Keep-alive HTTPS connections to one endpoint for up to `size` concurrent GETs
    (thread-safe). More callers than `size` get a connection of their own, closed after
    use, instead of waiting: the same as urllib3's non-blocking pool."""

    def __init__(self, host: str, port: int, *, base_path: str, headers: dict[str, str],
                 context: ssl.SSLContext, fingerprint: str | None, timeout: float | None,
                 size: int, endpoint: str) -> None:
        self._host, self._port = host, port
        self._prefix = base_path.rstrip("/")
        self._head = "".join(f"{k}: {v}\r\n" for k, v in {
            "Host": _host_header(host, port), "Accept-Encoding": "identity", **headers}.items()
        ) + "\r\n"
        self._context = context
        self._pin = bytes.fromhex(fingerprint.replace(":", "")) if fingerprint else None
        self._timeout = timeout
        self._size = max(1, size)
        self._endpoint = endpoint
        self._idle: list[_Conn] = []
        self._lock = threading.Lock()
        self._closed = False
        self.connections = 0  # made so far (for tests and -v)

    def __repr__(self) -> str:  # never the headers: they hold the token
        return f"GetPool({self._endpoint}, size={self._size})"

    def fetch(self, path: str, params: dict[str, Any]) -> Reply:
        """The answer to `GET path?params`, whatever its status. Transport failures raise
        typed `ApiError`s (TLS, timeouts, refused or dropped connections)."""
        target = f"{self._prefix}/{path}" + (f"?{urlencode(params)}" if params else "")
        request = (f"GET {quote(target, safe=_SAFE)} HTTP/1.1\r\n{self._head}").encode(
            "iso-8859-1")
        conn = self._take(path)
        try:
            answer = conn.exchange.get(request)
        except OSError as exc:
            conn.close()
            if not (conn.reused and isinstance(exc, Dropped)):
                raise from_socket_error(exc, connected=True, method="GET", path=path,
                                        endpoint=self._endpoint) from exc
            conn = self._take(path, fresh=True)  # closed while idle: send it once more
            try:
                answer = conn.exchange.get(request)
            except OSError as again:
                conn.close()
                raise from_socket_error(again, connected=True, method="GET", path=path,
                                        endpoint=self._endpoint) from again
            except BaseException:
                conn.close()
                raise
        except BaseException:  # interrupted mid-answer: the connection is not reusable
            conn.close()
            raise
        self._give(conn, answer)
        return Reply(status=answer.status, reason=answer.reason, body=answer.body)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _take(self, path: str, *, fresh: bool = False) -> _Conn:
        while not fresh:
            with self._lock:
                if not self._idle:
                    break
                conn = self._idle.pop()
            if _still_open(conn):
                conn.reused = True
                return conn
            conn.close()  # the server closed it while it was idle
        raw: socket.socket | None = None
        try:
            raw = socket.create_connection((self._host, self._port), timeout=self._timeout)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(self._context.wrap_socket(raw, server_hostname=self._host))
        except OSError as exc:
            if raw is not None:
                raw.close()
            raise from_socket_error(exc, connected=False, method="GET", path=path,
                                    endpoint=self._endpoint) from exc
        try:
            if self._pin is not None:
                self._check_pin(conn)
        except OSError as exc:
            conn.close()
            raise from_socket_error(exc, connected=False, method="GET", path=path,
                                    endpoint=self._endpoint) from exc
        with self._lock:
            self.connections += 1
        return conn

    def _check_pin(self, conn: _Conn) -> None:
        assert self._pin is not None
        der = conn.sock.getpeercert(binary_form=True)
        if der is None:
            raise FingerprintMismatch("No certificate for the peer.")
        digest = hashlib.sha256(der).digest()
        if not hmac.compare_digest(digest, self._pin):
            raise FingerprintMismatch(f'Fingerprints did not match. Expected '
                                      f'"{self._pin.hex()}", got "{digest.hex()}"')

    def _give(self, conn: _Conn, answer: Answer) -> None:
        if answer.will_close or not conn.exchange.clean:
            conn.close()
            return
        with self._lock:
            if not self._closed and len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()


def _still_open(conn: _Conn) -> bool:
    """False when an idle connection has something to read: the server closed it (EOF or
    a TLS close_notify) or sent what no request asked for; either way it is not reusable."""
    sock = conn.sock
    try:
        if sock.pending():
            return False
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


def _host_header(host: str, port: int) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port == 443 else f"{name}:{port}"
