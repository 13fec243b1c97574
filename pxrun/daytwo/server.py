"""The watcher's HTTP endpoints: `/metrics`, `/healthz` and `/records`.

Standard library only (`ThreadingHTTPServer`): three read-only GETs do not justify a web
framework, and the metrics text itself comes from prometheus_client. Bind to loopback by
default (`--listen 127.0.0.1:9464`); the endpoints show stack and container names, never a
secret.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST


class WatchEndpoints:
    """What the server serves, as three callables the watcher provides."""

    def __init__(self, metrics: Callable[[], bytes], health: Callable[[], tuple[bool, dict[
            str, Any]]], records: Callable[[], list[dict[str, Any]]]) -> None:
        self.metrics, self.health, self.records = metrics, health, records


class WatchServer:
    """Serves the endpoints from a daemon thread; `port` is the bound port (0 picks one)."""

    def __init__(self, host: str, port: int, endpoints: WatchEndpoints) -> None:
        handler = _handler(endpoints)
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name="watch-http")

    def start(self) -> WatchServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler(endpoints: WatchEndpoints) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "pxrun-watch"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, endpoints.metrics(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                ok, detail = endpoints.health()
                self._json(200 if ok else 503, detail)
            elif path == "/records":
                self._json(200, endpoints.records())
            else:
                self._json(404, {"error": "not found: try /metrics, /healthz or /records"})

        def _json(self, status: int, body: Any) -> None:
            self._send(status, (json.dumps(body, sort_keys=True) + "\n").encode(),
                       "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes are not news: the watcher's log is for reconciles."""

    return Handler
