"""A TCP relay on loopback in front of the simulator: the network between client and server.

TLS stays end to end (the relay only copies bytes), so the client talks to the real
simulator over real HTTPS. What the relay adds is what a network or a server does to
kept-alive connections: `drop(n)` closes the connection on which the client next sends
anything, without forwarding it (n times: a server that closed a kept-alive connection just
as the request went out, or a NAT that forgot it); `close_all()` closes every open
connection at once (a server restarting, or its idle timeout); `stall = True` accepts
connections and never answers.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class Relay:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.stall = False
        self.dropped = 0
        self.accepted = 0
        self._drops = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def drop(self, times: int = 1) -> None:
        with self._lock:
            self._drops += times

    def close_all(self) -> None:
        with self._lock:
            socks, self._open = self._open, set()
        for sock in socks:
            _close(sock)

    def stop(self) -> None:
        _close(self._listener)
        self.close_all()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._open.add(client)
            if self.stall:
                continue  # held open, never answered (closed by close_all / stop)
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._open.add(server)
            threading.Thread(target=self._pump, args=(client, server, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False),
                             daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                if from_client and self._take_drop():
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drops <= 0:
                return False
            self._drops -= 1
            self.dropped += 1
            return True


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
