"""The simulator's HTTPS API server: `https://127.0.0.1:PORT/api2/json/...`.

Public interface (the runtime, the CLI and tests rely on it):

    server = SimServer(sim, state_dir, host="127.0.0.1", port=0, request_log=None)
    server.start()            # listening on return; serves from daemon threads
    server.port, server.endpoint ("https://127.0.0.1:PORT"), server.host_port ("127.0.0.1:PORT")
    server.ca_file            # <state_dir>/ca.pem: give it to clients as `verify=`
    server.fingerprint        # SHA-256 of the server certificate, AA:BB:...
    server.credentials        # the auth.Credentials it checks against (from <state_dir>/auth.json)
    server.stats              # connections, requests, in_flight, max_in_flight
    server.stop()             # closes the listener and every open connection
    with SimServer(...) as server: ...

Why threads and blocking sockets: one thread per connection is the simplest server that gets
HTTP/1.1 keep-alive right, and the simulator's work is tiny. The TLS handshake happens in the
connection's thread so a stalled client cannot block `accept`. Every response carries
Content-Length and is written with one `sendall`, headers as pveproxy sends them.

`sim.settings` is read on every request, so tests may change `concurrency` and `faults` while
the server runs. The concurrency limit counts requests being handled (connections idling between
requests do not hold a slot); injected latency is spent while holding a slot, like a busy
pveproxy worker; the 401 delay is spent without one. With `node_workers`, each node also has
its own small pool (a request for `/nodes/{node}/...` holds one of that node's workers for
`server_time_ms`; other requests are the first node's), as pveproxy/pvedaemon's 3 workers per
node are on a real cluster. A lost answer (`faults.lost_answers`) is a write carried out
whose connection is then closed without a reply.
"""

from __future__ import annotations

import contextlib
import email.utils
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pxrun.sim.auth import Credentials
from pxrun.sim.dispatch import Dispatcher, Reply
from pxrun.sim.httpparse import JSON_CONTENT_TYPE
from pxrun.sim.reqlog import RequestLog
from pxrun.sim.tls import ensure_tls

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

MAX_BODY = 64 * 1024  # pveproxy's limit for POST/PUT bodies
# pveproxy streams file uploads (`.../storage/{storage}/upload`) to a temp file instead;
# the simulator keeps them in memory, so it caps them.
MAX_UPLOAD = 256 * 1024 * 1024
IDLE_TIMEOUT = 30.0  # seconds a keep-alive connection may sit idle
HANDSHAKE_TIMEOUT = 10.0
MAX_HEADERS = 100
MAX_HEADER_LINE = 65536


def _register_routes() -> None:
    """Import every handler module so their `@route`s exist before the first request."""
    import pxrun.sim.handlers
    import pxrun.sim.handlers.access  # noqa: F401  (also listed by the package; ours)


@dataclass
class Stats:
    """Counters the tests and benchmarks read: observed by the server itself."""

    connections: int = 0
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


class _Limiter:
    """At most `limit()` requests handled at once; the limit is re-read live."""

    def __init__(self, limit: Callable[[], int], stats: Stats) -> None:
        self._limit = limit
        self._stats = stats
        self._cond = threading.Condition()

    def acquire(self) -> None:
        with self._cond:
            while 0 < self._limit() <= self._stats.in_flight:
                self._cond.wait()
            self._stats.in_flight += 1
            self._stats.requests += 1
            self._stats.max_in_flight = max(self._stats.max_in_flight, self._stats.in_flight)

    def release(self) -> None:
        with self._cond:
            self._stats.in_flight -= 1
            self._cond.notify_all()


class _NodeWorkers:
    """Per-node worker pools: at most `limit` requests of one node are handled at once."""

    def __init__(self) -> None:
        self._busy: dict[str, int] = {}
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def slot(self, node: str, limit: int, seconds: float) -> Iterator[None]:
        if limit <= 0:
            if seconds > 0:
                time.sleep(seconds)
            yield
            return
        with self._cond:
            while self._busy.get(node, 0) >= limit:
                self._cond.wait()
            self._busy[node] = self._busy.get(node, 0) + 1
        try:
            if seconds > 0:
                time.sleep(seconds)
            yield
        finally:
            with self._cond:
                self._busy[node] -= 1
                self._cond.notify_all()


class _DateCache:
    """`Date`/`Expires` values, formatted once per second instead of once per request."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._text = email.utils.formatdate(second, usegmt=True)
            self._second = second
        return self._text


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    disable_nagle_algorithm = True
    server: Any  # the SimServer
    raw_requestline: bytes
    body = b""
    fields: dict[str, str] = {}  # replaced per request

    def do_GET(self) -> None:
        self.server.serve_one(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def parse_request(self) -> bool:
        """A lean replacement for http.server's parser (which runs the e-mail parser on every
        header block, a third of a request's cost): request line, headers into a plain dict,
        keep-alive rules of HTTP/1.0 and 1.1, and `Expect: 100-continue`."""
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = line
        parts = line.split()
        if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
            self.request_version = "HTTP/1.1"
            self.close_connection = True
            self.send_error(400, "Bad request syntax")
            return False
        self.command, self.path, self.request_version = parts
        fields: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            raw = self.rfile.readline(MAX_HEADER_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            if len(raw) > MAX_HEADER_LINE or len(fields) >= MAX_HEADERS:
                self.close_connection = True
                self.send_error(431, "Request Header Fields Too Large")
                return False
            name, _, value = raw.decode("iso-8859-1").partition(":")
            key = name.strip().lower()
            value = value.strip()
            fields[key] = f"{fields[key]}, {value}" if key in fields else value
        self.fields = fields
        connection = fields.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        if fields.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        return self.fields.get(name.lower())

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's per-request stderr line; `--request-log` is the log."""

    def read_body(self, limit: int = 0) -> bytes | None:
        """The request body (Content-Length or chunked); None when it is too large."""
        max_body = limit or MAX_BODY
        if "chunked" in (self.header("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            size = 0
            while True:
                length = int(self.rfile.readline(100).split(b";", 1)[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline(1000).strip():  # trailers
                        pass
                    return b"".join(chunks)
                size += length
                if size > max_body:
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline(10)
        length = int(self.header("Content-Length") or 0)
        if length > max_body:
            # Read what was sent (within reason) so the client sees our 413, not a reset.
            remaining = min(length, 16 * MAX_BODY)
            while remaining > 0:
                remaining -= len(self.rfile.read(min(remaining, MAX_BODY))) or remaining
            return None
        return self.rfile.read(length) if length > 0 else b""


class SimServer:
    """A Proxmox VE API over HTTPS for one `Simulator`, with its own CA and credentials."""

    def __init__(
        self,
        sim: Simulator,
        state_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        request_log: Path | None = None,
        request_scrub: Callable[[str], str] | None = None,
    ) -> None:
        _register_routes()
        self.sim = sim
        self.state_dir = state_dir
        self.tls = ensure_tls(state_dir)
        self.credentials = Credentials.load(state_dir)
        self.dispatcher = Dispatcher(sim, self.credentials)
        self.stats = Stats()
        self._limiter = _Limiter(lambda: self.dispatcher.settings.concurrency, self.stats)
        self._node_workers = _NodeWorkers()
        self._dates = _DateCache()
        self._log = RequestLog(request_log, request_scrub) if request_log else None
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl.minimum_version = ssl.TLSVersion.TLSv1_2
        self._ssl.load_cert_chain(self.tls.cert_file, self.tls.key_file)
        self._host = host
        self._port = port
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    # -- public ----------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def host_port(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{self._port}"

    @property
    def endpoint(self) -> str:
        return f"https://{self.host_port}"

    @property
    def ca_file(self) -> Path:
        return self.tls.ca_file

    @property
    def fingerprint(self) -> str:
        return self.tls.fingerprint

    def start(self) -> SimServer:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self._host, self._port))
        listener.listen(128)
        self._port = listener.getsockname()[1]
        self._listener = listener
        self._claim_state()
        self._thread = threading.Thread(
            target=self._accept_loop, name=f"pxrun-sim-https-{self._port}", daemon=True
        )
        self._thread.start()
        return self

    def _claim_state(self) -> None:
        """A simulator with a state directory is served by one process only (statelock.py);
        a second server fails here, before it accepts a single request."""
        claim = getattr(self.sim, "claim", None)
        if claim is None or getattr(self.sim, "state_dir", None) is None:
            return
        try:
            claim()
        except BaseException:
            assert self._listener is not None
            self._listener.close()
            self._listener = None
            raise
        lock = self.sim.state_lock
        if lock is not None:
            lock.publish(endpoint=self.endpoint, port=self._port)

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
            self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._open_lock:
            open_now = list(self._open)
        for conn in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- connections -----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                conn, addr = self._listener.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            threading.Thread(target=self._connection, args=(conn, addr), daemon=True).start()

    def _connection(self, conn: socket.socket, addr: Any) -> None:
        try:
            conn.settimeout(HANDSHAKE_TIMEOUT)
            tls = self._ssl.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()  # a client that does not trust our CA, or a port scanner
            return
        with self._open_lock:
            self._open.add(tls)
            self.stats.connections += 1
        try:
            _Handler(tls, addr, self)  # type: ignore[arg-type]  # duck-typed server
        except (OSError, ssl.SSLError):
            pass  # the peer went away mid-request
        finally:
            with self._open_lock:
                self._open.discard(tls)
            with contextlib.suppress(OSError):
                tls.close()

    # -- requests --------------------------------------------------------------------------------

    def serve_one(self, handler: _Handler) -> None:
        """Handle one parsed request on a connection (called by `_Handler`)."""
        started = time.perf_counter()
        method = handler.command
        target = handler.path
        path, _, query = target.partition("?")
        reply = self._refuse_body(handler, MAX_UPLOAD if path.endswith("/upload") else 0)
        if reply is None:
            self._limiter.acquire()
            try:
                self._inject_latency()
                settings = self.dispatcher.settings
                with self._node_workers.slot(self._node_of(path), settings.node_workers,
                                             settings.server_time_ms / 1000):
                    reply = self.dispatcher.handle(method, path, query, handler.header,
                                                   handler.body)
            finally:
                self._limiter.release()
            if reply.delay > 0:
                time.sleep(reply.delay)
        lost = self._lose_answer(method, reply)
        if self._log is not None:  # before sending: sequential clients see ordered lines
            rel = path[len("/api2/json") :] if path.startswith("/api2/json") else path
            self._log.write(
                method=method,
                path=rel,
                params=reply.params,
                status=reply.status,
                duration_ms=(time.perf_counter() - started) * 1000,
                authid=reply.authid,
                lost=lost,
            )
        if lost:
            handler.close_connection = True  # the handler closes the socket, unanswered
            return
        self._send(handler, reply)

    def _node_of(self, path: str) -> str:
        """The node whose workers handle `path`: its `/nodes/{node}`, else the first node."""
        prefix = "/api2/json/nodes/"
        if path.startswith(prefix):
            return path[len(prefix):].split("/", 1)[0]
        nodes = getattr(self.sim, "nodes", None)
        return next(iter(nodes), "") if nodes else ""

    def _lose_answer(self, method: str, reply: Reply) -> bool:
        """Fault: a write that was carried out loses its answer (`faults.lost_answers`)."""
        rate = self.dispatcher.settings.faults.lost_answers
        if rate <= 0 or method not in ("POST", "PUT", "DELETE") or reply.status != 200:
            return False
        if self.dispatcher.rng.random() >= rate:
            return False
        self.dispatcher.tally("lost_answer")
        return True

    @staticmethod
    def _refuse_body(handler: _Handler, limit: int = 0) -> Reply | None:
        """Read the body into `handler.body`; a Reply when it cannot be had (then close)."""
        try:
            body = handler.read_body(limit)
        except ValueError:  # a Content-Length or chunk size that is not a number
            body = b""
            handler.close_connection = True
            return Reply(400, "invalid request body length")
        if body is None:
            handler.close_connection = True
            return Reply(413, "request too large")
        handler.body = body
        return None

    def _inject_latency(self) -> None:
        faults = self.dispatcher.settings.faults
        delay = faults.latency_ms
        if faults.jitter_ms > 0:
            delay += self.dispatcher.rng.uniform(0, faults.jitter_ms)
        if delay > 0:
            time.sleep(delay / 1000)

    def _send(self, handler: _Handler, reply: Reply) -> None:
        date = self._dates.now()
        keep = not handler.close_connection
        lines = [
            f"HTTP/1.1 {reply.status} {reply.reason}",
            "Cache-Control: max-age=0",
            f"Connection: {'Keep-Alive' if keep else 'close'}",
            f"Date: {date}",
            "Pragma: no-cache",
            "Server: pve-api-daemon/3.0",
            f"Content-Length: {len(reply.body)}",
        ]
        if reply.body and "Content-Type" not in reply.headers:
            lines.append(f"Content-Type: {JSON_CONTENT_TYPE}")
        lines += [f"{name}: {value}" for name, value in reply.headers.items()]
        lines.append(f"Expires: {date}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", errors="replace")
        handler.wfile.write(head + reply.body)
