"""HTTP/1.1 answer framing (connect/http11.py), one table: what a server writes on a real
socket pair -> what the exchange reads (or the error), and whether the connection stays
usable. The simulator always sends Content-Length; the other framings are what other
servers and proxies in front of Proxmox may send."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from pxrun.connect.http11 import BadAnswer, Dropped, Exchange

OK = b"HTTP/1.1 200 OK\r\n"
CASES = [  # (id, what the server writes then whether it closes, expected (status, reason,
    #        body, will_close) or an error class; `clean`: nothing left over)
    ("content-length", OK + b"Content-Length: 11\r\n\r\n{\"data\":1}\n", False,
     (200, "OK", b'{"data":1}\n', False)),
    ("reason with spaces", b"HTTP/1.1 500 CT 101 is locked (backup)\r\nContent-Length: 2\r\n"
     b"\r\n{}", False, (500, "CT 101 is locked (backup)", b"{}", False)),
    ("latin-1 reason", b"HTTP/1.1 500 caf\xe9\r\nContent-Length: 0\r\n\r\n", False,
     (500, "caf\xe9", b"", False)),
    ("chunked", OK + b"Transfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"da\r\n"
     b"7\r\nta\":2}\n\r\n0\r\nX-Trailer: y\r\n\r\n", False, (200, "OK", b'{"data":2}\n', False)),
    ("connection close", OK + b"Connection: close\r\nContent-Length: 2\r\n\r\n{}", False,
     (200, "OK", b"{}", True)),
    ("http/1.0", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", False,
     (200, "OK", b"{}", True)),
    ("http/1.0 keep-alive", b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
     b"Content-Length: 2\r\n\r\n{}", False, (200, "OK", b"{}", False)),
    ("body to the close", OK + b"\r\n{\"data\":3}", True, (200, "OK", b'{"data":3}', True)),
    ("interim 100 first", b"HTTP/1.1 100 Continue\r\n\r\n" + OK + b"Content-Length: 2\r\n\r\n{}",
     False, (200, "OK", b"{}", False)),
    ("no content", b"HTTP/1.1 204 No Content\r\n\r\n", False, (204, "No Content", b"", False)),
    ("closed unanswered", b"", True, Dropped),
    ("cut short", OK + b"Content-Length: 10\r\n\r\n{}", True, BadAnswer),
    ("cut in the head", OK + b"Content-Le", True, BadAnswer),
    ("not http", b"SSH-2.0-OpenSSH_9.6\r\n\r\n", False, BadAnswer),
    ("bad length", OK + b"Content-Length: -1\r\n\r\n", False, BadAnswer),
    ("bad chunk", OK + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", False, BadAnswer),
]


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    client, server = socket.socketpair()
    client.settimeout(5)
    try:
        yield client, server
    finally:
        client.close()
        server.close()


@pytest.mark.parametrize(("written", "closes", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_answer_framing(pair: tuple[socket.socket, socket.socket], written: bytes,
                        closes: bool, expected: object) -> None:
    client, server = pair
    server.sendall(written)
    if closes:
        server.shutdown(socket.SHUT_WR)
    exchange = Exchange(client)
    if isinstance(expected, type):
        with pytest.raises(expected):
            exchange.get(b"GET / HTTP/1.1\r\n\r\n")
        return
    answer = exchange.get(b"GET / HTTP/1.1\r\n\r\n")
    assert (answer.status, answer.reason, answer.body, answer.will_close) == expected
    assert exchange.clean
    assert server.recv(100) == b"GET / HTTP/1.1\r\n\r\n"  # the request went out whole


def test_two_answers_in_a_row_on_one_connection(pair: tuple[socket.socket, socket.socket]
                                                ) -> None:
    client, server = pair
    exchange = Exchange(client)
    for n in range(2):
        server.sendall(OK + b"Content-Length: 1\r\n\r\n" + str(n).encode())
        assert exchange.get(b"GET / HTTP/1.1\r\n\r\n").body == str(n).encode()


def test_an_answer_nobody_asked_for_leaves_the_connection_unusable(
        pair: tuple[socket.socket, socket.socket]) -> None:
    client, server = pair
    exchange = Exchange(client)
    server.sendall(OK + b"Content-Length: 1\r\n\r\n1" + OK)
    assert exchange.get(b"GET / HTTP/1.1\r\n\r\n").body == b"1"
    assert not exchange.clean  # the pool closes it instead of keeping it
