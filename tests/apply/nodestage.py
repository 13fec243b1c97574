"""A `Stage` with the simulator's node SSH: `pct set` for root-only writes, `pct exec` to put
files into a container's volumes and read them back.

Why its own fixture: data-safety tests must write through the container's own file view (a
file under a mount point lives in that volume), and only the node endpoint reaches it. The
simulator runs in-process (HTTPS and SSH on loopback), tasks at a small time scale.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pxrun.apply.summary import ApplySummary
from pxrun.connect.client import ProxmoxerClient
from pxrun.connect.retry import RetryPolicy
from pxrun.connect.settings import ConnectionSettings, Endpoint, Secret, SshSettings
from pxrun.plan.model import Plan
from pxrun.provision.nodessh import NodeShell, PctSetRunner
from pxrun.sim.runtime import SimFacts, SimRuntime
from tests.apply.conftest import Stage


def client_for(facts: SimFacts) -> ProxmoxerClient:
    host, port = facts.endpoint.removeprefix("https://").rsplit(":", 1)
    settings = ConnectionSettings(endpoint=Endpoint(host, int(port)), token_id=facts.token_id,
                                  token_secret=Secret(facts.token_secret),
                                  ca_file=facts.ca_file)
    return ProxmoxerClient(settings, retry=RetryPolicy(attempts=4, base_delay=0.01,
                                                       max_delay=0.05))


def ssh_for(facts: SimFacts) -> SshSettings:
    nodes = facts.nodes
    return SshSettings(user="root", port=facts.ssh_port, key_file=facts.ssh_key,
                       known_hosts=facts.known_hosts, hosts=dict.fromkeys(nodes, "127.0.0.1"),
                       users={n: facts.ssh_user_for(n) for n in nodes})


@dataclass
class NodeStage(Stage):
    """A Stage whose applies may use `pct set`, and which reads and writes container files."""

    shell: NodeShell = field(default=None)  # type: ignore[assignment]
    runtime: SimRuntime = field(default=None)  # type: ignore[assignment]

    def plan(self, **options: Any) -> Plan:
        return super().plan(**{"node_ssh_available": True, **options})

    def apply(self, plan: Plan | None = None, **options: Any) -> ApplySummary:
        options.setdefault("root_runner", PctSetRunner(self.shell))
        return super().apply(plan, **options)

    def where(self, name: str) -> tuple[str, int]:
        """(node, vmid) of the stack's container `name` now."""
        from pxrun.observe.fetch import observe_cluster
        from pxrun.spec.load import load_stack

        observed = observe_cluster(self.client, load_stack(self.spec).stack)
        ct = observed.containers[name]
        return ct.node, ct.vmid

    def sh(self, name: str, script: str) -> str:
        """Run `script` inside container `name` (`pct exec`); its stdout. It must run."""
        node, vmid = self.where(name)
        return self.shell.check(node, ["pct", "exec", str(vmid), "--", "sh", "-c",
                                       script]).stdout

    def put_file(self, name: str, path: str, content: str) -> None:
        self.sh(name, f"mkdir -p {shlex.quote(str(Path(path).parent))} && "
                      f"printf %s {shlex.quote(content)} > {shlex.quote(path)}")

    def read_file(self, name: str, path: str) -> str | None:
        out = self.sh(name, f"cat {shlex.quote(path)} 2>/dev/null || echo '<missing>'")
        return None if out == "<missing>\n" else out
