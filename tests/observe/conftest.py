"""Integration fixtures: the simulator from tests/sim, and CONNECT's real client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pxrun.connect.client import ProxmoxerClient
from pxrun.connect.settings import ConnectionSettings, Endpoint, Secret
from pxrun.sim.settings import SimSettings
from tests.sim.conftest import SimEnv, sim_env  # noqa: F401  (re-exported fixture)

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


@pytest.fixture
def sim_settings() -> SimSettings:
    """Tasks finish at once: the observe tests are about reading, not waiting."""
    return SimSettings(time_scale=0.0, seed=4321)


@pytest.fixture
def client(sim_env: SimEnv) -> Iterator[ProxmoxerClient]:  # noqa: F811
    host, port = sim_env.host.rsplit(":", 1)
    settings = ConnectionSettings(endpoint=Endpoint(host, int(port)), token_id=sim_env.token_id,
                                  token_secret=Secret(sim_env.token_secret),
                                  ca_file=sim_env.ca_file)
    with ProxmoxerClient(settings) as api:
        yield api


def create_ct(client: ProxmoxerClient, node: str, vmid: int, **params: Any) -> None:
    """Create a container through the API and wait for its task."""
    params.setdefault("ostemplate", TEMPLATE)
    params.setdefault("storage", "local-lvm")
    params.setdefault("rootfs", "local-lvm:8")
    params.setdefault("net0", "name=eth0,bridge=vmbr0,ip=dhcp")
    params.setdefault("unprivileged", 1)
    upid = client.post(f"nodes/{node}/lxc", vmid=vmid, **params)
    client.wait_task(upid)  # raises TaskFailedError if the create failed
