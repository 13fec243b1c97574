"""A simulator in a child process for the benchmarks, so server and client never share a GIL.

Why a child: a benchmark that runs the simulator in its own process measures the
simulator's work as part of the client's. Each benchmark builds its cluster in `serve`
(called in the child), the parent reads one JSON line of connection facts, talks to the
server, then closes stdin and reads the server's own request counters.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pxrun.connect.settings import ConnectionSettings
    from pxrun.sim.state import Simulator


def serve(sim: Simulator, state_dir: Path) -> None:
    """Child side: serve `sim`, print the facts, wait until stdin closes, print the counters."""
    from pxrun.sim.auth import init_credentials
    from pxrun.sim.server import SimServer

    token_id, secret = init_credentials(state_dir)
    with SimServer(sim, state_dir) as server:
        print(json.dumps({"port": server.port, "token_id": token_id, "secret": secret,
                          "ca_file": str(server.ca_file)}), flush=True)
        sys.stdin.read()
        stats = server.stats
        print(json.dumps({"requests": stats.requests, "connections": stats.connections,
                          "max_in_flight": stats.max_in_flight}), flush=True)


class Child:
    """Parent side: the running child and its facts."""

    def __init__(self, script: str, *argv: str) -> None:
        self.proc = subprocess.Popen([sys.executable, script, *argv], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self._stdin: IO[str] = self.proc.stdin  # type: ignore[assignment]
        self._stdout: IO[str] = self.proc.stdout  # type: ignore[assignment]
        self.info: dict[str, Any] = json.loads(self._stdout.readline())

    @property
    def auth_header(self) -> str:
        return f"PVEAPIToken={self.info['token_id']}={self.info['secret']}"

    def settings(self, timeout: float = 30) -> ConnectionSettings:
        from pxrun.connect.settings import ConnectionSettings, Endpoint, Secret

        return ConnectionSettings(endpoint=Endpoint("127.0.0.1", self.info["port"]),
                                  token_id=self.info["token_id"],
                                  token_secret=Secret(self.info["secret"]),
                                  ca_file=Path(self.info["ca_file"]), timeout=timeout)

    def finish(self) -> dict[str, Any]:
        """Stop the child; the server's own counters."""
        self._stdin.close()
        stats: dict[str, Any] = json.loads(self._stdout.readline())
        self.proc.wait(timeout=30)
        return stats
