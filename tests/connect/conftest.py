"""Fixtures for the connect layer: a simulator over real HTTPS on 127.0.0.1, and settings.

`cluster` starts a fresh simulator per test (a few milliseconds) and hands out real
`ProxmoxerClient`s configured like a user would: endpoint, token and CA file from the
environment-style settings. Faults are flipped on `cluster.sim.settings.faults` at run time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pxrun.connect.client import ProxmoxerClient
from pxrun.connect.retry import RetryPolicy
from pxrun.connect.settings import ConnectionSettings, SettingsInputs, resolve
from pxrun.connect.tasks import PollPolicy
from pxrun.sim.auth import init_credentials
from pxrun.sim.server import SimServer
from pxrun.sim.settings import SimSettings
from pxrun.sim.state import Simulator

FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.005)
FAST_POLL = PollPolicy(first=0.005, cap=0.05)


@dataclass
class Cluster:
    """A running simulator and the settings that reach it."""

    endpoint: str
    token_id: str
    token_secret: str
    ca_file: Path
    sim: Simulator
    server: SimServer
    tmp: Path
    request_log: Path
    clients: list[ProxmoxerClient] = field(default_factory=list)

    def env(self, **overrides: str) -> dict[str, str]:
        env = {"PROXMOX_HOST": self.endpoint, "PROXMOX_TOKEN_ID": self.token_id,
               "PROXMOX_TOKEN_SECRET": self.token_secret, "PROXMOX_CA_FILE": str(self.ca_file)}
        env.update(overrides)
        return {k: v for k, v in env.items() if v != ""}

    def settings(self, **env_overrides: str) -> ConnectionSettings:
        return resolve(SettingsInputs(env=self.env(**env_overrides), cwd=self.tmp,
                                      profiles_path=self.tmp / "no-profiles.yaml"))

    def requests_seen(self) -> int:
        """How many API requests the server has logged (each one a JSON line)."""
        if not self.request_log.exists():
            return 0
        return len(self.request_log.read_text().splitlines())

    def client(self, settings: ConnectionSettings | None = None, **kw: Any) -> ProxmoxerClient:
        kw.setdefault("retry", FAST_RETRY)
        kw.setdefault("poll", FAST_POLL)
        client = ProxmoxerClient(settings or self.settings(), **kw)
        self.clients.append(client)
        return client


@pytest.fixture
def sim_settings() -> SimSettings:
    return SimSettings(time_scale=0.05, seed=4321)


@pytest.fixture
def cluster(tmp_path: Path, sim_settings: SimSettings) -> Iterator[Cluster]:
    state_dir = tmp_path / "sim-state"
    token_id, token_secret = init_credentials(state_dir, password="sim-root-password")
    sim = Simulator.create_default(sim_settings)
    request_log = tmp_path / "requests.jsonl"
    server = SimServer(sim, state_dir, request_log=request_log)
    server.start()
    work = tmp_path / "work"
    work.mkdir()
    env = Cluster(endpoint=server.endpoint, token_id=token_id, token_secret=token_secret,
                  ca_file=server.ca_file, sim=sim, server=server, tmp=work,
                  request_log=request_log)
    try:
        yield env
    finally:
        for client in env.clients:
            client.close()
        server.stop()
        sim.close()
