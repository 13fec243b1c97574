"""A simulator for the provisioning tests, and SSH settings that reach it as apply would.

One simulator per module (containers made through the HTTPS API with proxmoxer); the
transport logs in to the node as the simulator's node user, checks the host key against the
simulator's known_hosts, and becomes root with sudo as a non-root login does.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pxrun.connect.settings import SshSettings
from pxrun.sim.runtime import SimFacts, SimRuntime, init_state
from pxrun.sim.settings import SimSettings
from tests.sim.conftest import proxmoxer_for
from tests.sim.test_ssh_pct import DEBIAN, wait_task

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="needs bubblewrap (bwrap)")
ALPINE = "alpine-3.20-default_20240908_amd64.tar.xz"


@dataclass
class Sim:
    facts: SimFacts
    px: Any
    runtime: SimRuntime

    @property
    def state(self) -> Path:
        return self.facts.state_dir

    def ssh(self, **overrides: Any) -> SshSettings:
        nodes = self.facts.nodes
        return SshSettings(**{"user": "root", "port": self.facts.ssh_port,
                              "key_file": self.facts.ssh_key,
                              "known_hosts": self.facts.known_hosts,
                              "hosts": dict.fromkeys(nodes, "127.0.0.1"),
                              "users": {n: self.facts.ssh_user_for(n) for n in nodes},
                              **overrides})

    def ct_file(self, vmid: int, path: str) -> Path:
        return self.state / "rootfs" / str(vmid) / path.lstrip("/")

    def create(self, node: str, vmid: int, hostname: str, *, template: str | None = None,
               net: bool = True) -> None:
        params: dict[str, Any] = {"vmid": vmid, "hostname": hostname, "rootfs": "local-lvm:4",
                                  "ostemplate": DEBIAN}
        if template is not None:
            wait_task(self.px, node, self.px.nodes(node).aplinfo.post(storage="local",
                                                                       template=template))
            params["ostemplate"] = f"local:vztmpl/{template}"
        if net:
            params["net0"] = "name=eth0,bridge=vmbr0,ip=dhcp"
        lxc = self.px.nodes(node).lxc
        assert wait_task(self.px, node, lxc.post(**params))["exitstatus"] == "OK"
        assert wait_task(self.px, node, lxc(vmid).status.start.post())["exitstatus"] == "OK"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    state = tmp_path_factory.mktemp("sim")
    init_state(state)
    with SimRuntime(state, settings=SimSettings(time_scale=0)) as runtime:
        yield Sim(runtime.facts, proxmoxer_for(runtime.facts), runtime)
