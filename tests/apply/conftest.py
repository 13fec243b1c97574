"""Apply tests: the real client against the simulator over HTTPS, the real planner.

`Stage` bundles what a test needs: write a spec, plan it against the live simulator,
apply the plan through `apply_plan`, and check convergence (a new plan has nothing to do).
Tasks run at 2% of their default durations, so a create takes a few milliseconds.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pxrun.apply.context import ApplyOptions
from pxrun.apply.engine import apply_plan
from pxrun.apply.hooks import Hook
from pxrun.apply.summary import ApplySummary, ChangeResult
from pxrun.cli.main import main
from pxrun.connect.client import ProxmoxerClient
from pxrun.connect.retry import RetryPolicy
from pxrun.connect.settings import ConnectionSettings, Endpoint, Secret
from pxrun.observe.fetch import observe_cluster
from pxrun.plan.model import Plan
from pxrun.plan.options import PlanOptions
from pxrun.plan.planner import plan as make_plan
from pxrun.sim.runtime import init_state
from pxrun.sim.settings import SimSettings
from pxrun.spec.load import load_stack
from tests.sim.conftest import SimEnv, sim_env  # noqa: F401  (re-exported fixture)

FAST = ApplyOptions(retry_delay=0.01, ip_poll=0.01)


@pytest.fixture
def sim_settings() -> SimSettings:
    return SimSettings(time_scale=0.02, seed=777)


def make_client(env: SimEnv, *, attempts: int = 4) -> ProxmoxerClient:
    host, port = env.host.rsplit(":", 1)
    settings = ConnectionSettings(endpoint=Endpoint(host, int(port)), token_id=env.token_id,
                                  token_secret=Secret(env.token_secret), ca_file=env.ca_file)
    return ProxmoxerClient(settings, retry=RetryPolicy(attempts=attempts, base_delay=0.01,
                                                       max_delay=0.05))


class Recorder(Hook):
    """Keeps every hook call, so tests can check what the UI would have shown."""

    def __init__(self, answer: bool = False) -> None:
        self.events: list[tuple[str, Any]] = []
        self.answer = answer
        self.asked: list[str] = []

    def step_started(self, address: str, step: str, detail: str = "") -> None:
        self.events.append(("step", (address, step)))

    def task_started(self, address: str, step: str, upid: str) -> None:
        self.events.append(("task", (address, upid)))

    def warning(self, address: str, message: str) -> None:
        self.events.append(("warning", (address, message)))

    def change_finished(self, result: ChangeResult) -> None:
        self.events.append(("finished", result))

    def ask_restart(self, address: str, keys: Any) -> bool:
        self.asked.append(address)
        return self.answer

    def steps(self, address: str) -> list[str]:
        return [s for kind, (a, s) in ((k, v) for k, v in self.events if k == "step")
                if a == address]

    def warnings(self) -> list[str]:
        return [m for kind, (a, m) in ((k, v) for k, v in self.events if k == "warning")]


@dataclass
class Stage:
    env: SimEnv
    client: ProxmoxerClient
    dir: Path
    spec: Path = field(init=False)

    def __post_init__(self) -> None:
        self.spec = self.dir / "pxrun.yaml"

    def write(self, text: str) -> Path:
        self.spec.write_text(textwrap.dedent(text), encoding="utf-8")
        return self.spec

    def plan(self, **options: Any) -> Plan:
        loaded = load_stack(self.spec)
        observed = observe_cluster(self.client, loaded.stack)
        return make_plan(loaded.stack, observed, PlanOptions(**options))

    def apply(self, plan: Plan | None = None, *, hook: Hook | None = None,
              client: ProxmoxerClient | None = None, **options: Any) -> ApplySummary:
        opts = ApplyOptions(**{"retry_delay": 0.01, "ip_poll": 0.01, **options})
        the_plan = plan if plan is not None else self.plan()
        assert not the_plan.errors, the_plan.errors
        return apply_plan(client or self.client, the_plan, options=opts, hook=hook)

    def assert_converged(self, **options: Any) -> None:
        again = self.plan(**options)
        pending = [(c.address, c.action.value, c.reason) for c in again.changes
                   if c.operations]
        assert not pending, pending


@pytest.fixture
def stage(sim_env: SimEnv, tmp_path: Path) -> Iterator[Stage]:  # noqa: F811
    with make_client(sim_env) as client:
        yield Stage(env=sim_env, client=client, dir=tmp_path)


BASE = """\
    version: 1
    stack: {stack}
    defaults:
      template: debian-12
      storage: local-lvm
      resources: {{cores: 1, memory: 512, swap: 256, disk: 4}}
      networks:
        net0: {{bridge: vmbr0, ip: dhcp}}
    containers:
"""


def spec_text(containers: str, stack: str = "t") -> str:
    """A spec with the common defaults and `containers` (indented YAML, 2 spaces)."""
    body = textwrap.indent(textwrap.dedent(containers), "  ")
    return textwrap.dedent(BASE.format(stack=stack)) + body


@pytest.fixture
def simdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh simulator state dir for `pxrun --sim` commands, run from an empty cwd."""
    state = tmp_path / "sim"
    init_state(state, settings=SimSettings(time_scale=0.02, seed=5))
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("PROXMOX_")]:
        monkeypatch.delenv(var)
    return state


def run(simdir: Path, *args: str) -> int:
    """`pxrun --sim --sim-dir SIMDIR ARGS...` in-process; the exit status."""
    return main(["--sim", "--sim-dir", str(simdir), *args])


@pytest.fixture
def node_stage(tmp_path: Path) -> Iterator[Any]:
    """A `NodeStage` (tests/apply/nodestage.py): the simulator with its node SSH endpoint."""
    from pxrun.provision.nodessh import NodeShell
    from pxrun.sim.runtime import SimRuntime
    from tests.apply.nodestage import NodeStage, client_for, ssh_for

    state = tmp_path / "sim"
    settings = SimSettings(time_scale=0.02, seed=11)
    init_state(state, settings=settings)
    with SimRuntime(state, settings=settings) as runtime, client_for(runtime.facts) as client, \
            NodeShell(ssh_for(runtime.facts)) as shell:
        work = tmp_path / "work"
        work.mkdir()
        yield NodeStage(env=None, client=client, dir=work,  # type: ignore[arg-type]
                        shell=shell, runtime=runtime)
