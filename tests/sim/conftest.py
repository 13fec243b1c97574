"""The `sim_env` fixture: a fresh simulator behind a real HTTPS server on 127.0.0.1.

Function scope and cheap (a few milliseconds: EC keys, in-memory cluster), so every test gets
its own state and credentials. Tasks run at 5% of their configured durations.

    def test_something(sim_env):
        prox = sim_env.proxmoxer()            # token auth, TLS verified with the sim's CA
        prox.nodes("pve1").lxc.get()
        sim_env.sim.settings.faults.latency_ms = 50   # faults may be flipped at run time
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pxrun.sim import api
from pxrun.sim.auth import init_credentials
from pxrun.sim.server import SimServer
from pxrun.sim.settings import SimSettings
from pxrun.sim.state import Simulator

ROOT_PASSWORD = "sim-root-password"


@dataclass
class SimEnv:
    """Everything a test needs to talk to the running simulator."""

    endpoint: str  # https://127.0.0.1:PORT
    host: str  # 127.0.0.1:PORT, as proxmoxer wants it
    ca_file: Path
    token_id: str  # root@pam!pxrun
    token_secret: str
    password: str  # root@pam's password, for ticket tests
    sim: Simulator
    server: SimServer
    state_dir: Path

    @property
    def user(self) -> str:
        return self.token_id.split("!", 1)[0]

    @property
    def token_name(self) -> str:
        return self.token_id.split("!", 1)[1]

    def proxmoxer(self, **kwargs: Any) -> Any:
        """A `ProxmoxAPI` using the API token (or `password=...` for ticket auth)."""
        from proxmoxer import ProxmoxAPI

        if "password" in kwargs:
            return ProxmoxAPI(
                self.host,
                user=kwargs.pop("user", self.user),
                verify_ssl=str(self.ca_file),
                **kwargs,
            )
        return ProxmoxAPI(
            self.host,
            user=self.user,
            token_name=self.token_name,
            token_value=self.token_secret,
            verify_ssl=str(self.ca_file),
            **kwargs,
        )

    def token_header(self) -> dict[str, str]:
        """The Authorization header for raw `requests`/`http.client` calls."""
        return {"Authorization": f"PVEAPIToken={self.token_id}={self.token_secret}"}


def proxmoxer_for(facts: Any) -> Any:
    """Plain proxmoxer with the API token of a running runtime's `SimFacts`, TLS verified."""
    from proxmoxer import ProxmoxAPI

    user, token = facts.token_id.split("!")
    return ProxmoxAPI(facts.endpoint.removeprefix("https://"), user=user, token_name=token,
                      token_value=facts.token_secret, verify_ssl=str(facts.ca_file))


def make_simulator(settings: SimSettings) -> Simulator:
    """The default 3-node cluster."""
    return Simulator.create_default(settings)


@pytest.fixture
def sim_settings() -> SimSettings:
    """Override in a test module to start the simulator with other settings."""
    return SimSettings(time_scale=0.05, seed=1234)


@pytest.fixture
def sim_env(tmp_path: Path, sim_settings: SimSettings) -> Iterator[SimEnv]:
    state_dir = tmp_path / "sim-state"
    token_id, token_secret = init_credentials(state_dir, password=ROOT_PASSWORD)
    sim = make_simulator(sim_settings)
    server = SimServer(sim, state_dir)
    server.start()
    try:
        yield SimEnv(
            endpoint=server.endpoint,
            host=server.host_port,
            ca_file=server.ca_file,
            token_id=token_id,
            token_secret=token_secret,
            password=ROOT_PASSWORD,
            sim=sim,
            server=server,
            state_dir=state_dir,
        )
    finally:
        server.stop()
        sim.close()


def _echo(sim: Any, req: api.Request) -> Any:
    return {"params": req.params, "authid": req.auth.authid, "is_root": req.auth.is_root}


def _boom(sim: Any, req: api.Request) -> Any:
    raise RuntimeError("kaboom\nsecond line")


def _total(sim: Any, req: api.Request) -> Any:
    return api.WithTotal([{"n": 1}, {"n": 2}], 2)


@pytest.fixture
def echo_routes(sim_env: SimEnv, monkeypatch: pytest.MonkeyPatch) -> SimEnv:
    """Test-only routes under /_t (transport tests), unvalidated; removed after the test.

    `/_t/echo` (any method) and `/_t/echo/{vmid}`, `/_t/node/{node}` answer with the params
    the handler saw; `/_t/boom` raises; `/_t/total` answers with `total`.
    """
    extra = [
        *(
            api.Route(m, "/_t/echo", _echo, api._compile("/_t/echo"))
            for m in ("GET", "POST", "PUT", "DELETE")
        ),
        api.Route("POST", "/_t/echo/{vmid}", _echo, api._compile("/_t/echo/{vmid}")),
        api.Route("GET", "/_t/node/{node}", _echo, api._compile("/_t/node/{node}")),
        api.Route("GET", "/_t/boom", _boom, api._compile("/_t/boom")),
        api.Route("GET", "/_t/total", _total, api._compile("/_t/total")),
    ]
    monkeypatch.setattr(api, "ROUTES", [*api.ROUTES, *extra])
    monkeypatch.setattr(sim_env.server.dispatcher, "validator", None)
    return sim_env
