"""One HTTP/1.1 exchange on a kept-alive socket: write a GET, read its answer.

Why not `http.client`: it parses every header block with the e-mail parser and builds a
message object, request line and headers through several layers: ~0.3 ms of CPU per
request, three times the exchange itself (TLS included). pxrun only ever sends GETs with
fixed headers and reads status, reason and body, so this reads exactly that — RFC 9112
framing: Content-Length, chunked transfer coding (extensions and trailers skipped), or the
body up to the close; 1xx interim answers skipped; `Connection: close` and HTTP/1.0
honoured — and nothing else. Pure over anything with `recv_into` and `sendall`, so the framing
is tested on plain socket pairs (tests/connect/test_http11.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

MAX_HEAD = 64 * 1024  # status line and headers; Proxmox's are a few hundred bytes
MAX_BODY = 256 * 1024 * 1024
_CHUNK = 65536


class Socket(Protocol):
    def recv_into(self, buffer: memoryview, nbytes: int = 0, /) -> int: ...

    def sendall(self, data: bytes, /) -> None: ...


class Dropped(ConnectionError):
    """The connection closed before any byte of the answer: the request may be sent again
    on another connection when it is safe to repeat."""


class BadAnswer(ConnectionError):
    """Not an HTTP/1.x answer, or one cut short: the connection cannot be used again."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    body: bytes
    will_close: bool  # the server closes the connection after this answer


class Exchange:
    """A socket and what has been read from it but not consumed yet (one user at a time)."""

    __slots__ = ("_buf", "_scratch", "sock")

    def __init__(self, sock: Socket) -> None:
        self.sock = sock
        self._buf = b""
        self._scratch: memoryview | None = None

    def _recv(self) -> bytes:
        """What the socket has, up to a chunk. Read into one buffer kept per connection and
        copied out at its size: `recv(65536)` makes a 64 KiB object and shrinks it to what
        came, hundreds of times per observation, and the allocator keeps the holes (a
        watcher's resident memory crept up by megabytes over a hundred cycles)."""
        if self._scratch is None:
            self._scratch = memoryview(bytearray(_CHUNK))
        got = self.sock.recv_into(self._scratch, _CHUNK)
        return bytes(self._scratch[:got])

    @property
    def clean(self) -> bool:
        """Nothing unread is left over: the connection may carry another request."""
        return not self._buf

    def get(self, request: bytes) -> Answer:
        """Send `request` (a whole GET) and read its answer. `Dropped` when the connection
        ended before a byte came back; `BadAnswer` for anything malformed or cut short."""
        try:
            self.sock.sendall(request)
            first = self._recv()
        except TimeoutError:
            raise
        except OSError as exc:  # reset, broken pipe, a TLS EOF: nothing was answered
            raise Dropped(f"the connection failed before an answer ({exc})") from exc
        if not first:
            raise Dropped("the server closed the connection without an answer")
        self._buf = first
        while True:
            version, status, reason, headers = self._head()
            if 100 <= status < 200 and status != 101:
                continue  # an interim answer; the real one follows
            break
        closing = headers.get("connection", "").lower()
        will_close = closing == "close" or (version == "HTTP/1.0" and closing != "keep-alive")
        if status in (204, 304):
            return Answer(status, reason, b"", will_close)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return Answer(status, reason, self._chunked(), will_close)
        length = headers.get("content-length")
        if length is not None:
            try:
                size = int(length.split(",")[0])
            except ValueError:
                raise BadAnswer(f"invalid Content-Length {length!r}") from None
            if not 0 <= size <= MAX_BODY:
                raise BadAnswer(f"invalid Content-Length {length!r}")
            return Answer(status, reason, self._exact(size), will_close)
        return Answer(status, reason, self._to_close(), True)

    def _more(self) -> None:
        data = self._recv()
        if not data:
            raise BadAnswer("the server closed the connection in the middle of an answer")
        self._buf += data

    def _head(self) -> tuple[str, int, str, dict[str, str]]:
        while (end := self._buf.find(b"\r\n\r\n")) < 0:
            if len(self._buf) > MAX_HEAD:
                raise BadAnswer("the answer's headers are too long")
            self._more()
        head, self._buf = self._buf[:end], self._buf[end + 4:]
        lines = head.decode("iso-8859-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise BadAnswer(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip().lower()
                value = value.strip()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return version, int(code), reason.strip(), headers

    def _exact(self, size: int) -> bytes:
        """`size` bytes of the answer. A body longer than what was read already is read
        straight into one buffer of its size, not grown chunk by chunk (which copies it
        again at every chunk)."""
        have = len(self._buf)
        if have >= size:
            body, self._buf = self._buf[:size], self._buf[size:]
            return body
        out = bytearray(size)
        out[:have] = self._buf
        self._buf = b""
        view = memoryview(out)
        while have < size:
            got = self.sock.recv_into(view[have:], size - have)
            if not got:
                raise BadAnswer("the server closed the connection in the middle of an answer")
            have += got
        return bytes(out)

    def _line(self) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            if len(self._buf) > MAX_HEAD:
                raise BadAnswer("a chunk header is too long")
            self._more()
        line, self._buf = self._buf[:end], self._buf[end + 2:]
        return line

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            text = self._line().split(b";", 1)[0].strip()
            try:
                size = int(text, 16)
            except ValueError:
                raise BadAnswer(f"invalid chunk size {text[:20]!r}") from None
            if size < 0 or total + size > MAX_BODY:
                raise BadAnswer("invalid chunk size")
            if size == 0:
                while self._line():  # trailer fields, up to the empty line
                    pass
                return b"".join(parts)
            parts.append(self._exact(size))
            total += size
            if self._exact(2) != b"\r\n":
                raise BadAnswer("a chunk does not end with CRLF")

    def _to_close(self) -> bytes:
        parts = [self._buf]
        self._buf = b""
        total = len(parts[0])
        while data := self._recv():
            total += len(data)
            if total > MAX_BODY:
                raise BadAnswer("the answer is too long")
            parts.append(data)
        return b"".join(parts)
