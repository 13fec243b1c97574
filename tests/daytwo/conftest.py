"""Day-two tests: the real client against the simulator over HTTPS, as in tests/apply.

`cli_env` points the process environment at the running simulator, so `main(["drift",
...])` connects exactly as a cron job configured by environment variables would.
`parse_metrics` reads Prometheus text with prometheus_client's own parser: what it cannot
parse, node_exporter would reject.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.apply.conftest import Stage, sim_settings, stage  # noqa: F401  (fixtures)
from tests.sim.conftest import SimEnv, sim_env  # noqa: F401  (fixture)

if TYPE_CHECKING:
    from pxrun.daytwo.watch import Watcher


@pytest.fixture
def cli_env(sim_env: SimEnv, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
            tmp_path: Path) -> SimEnv:
    for var in [v for v in __import__("os").environ if v.startswith("PROXMOX_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("PROXMOX_HOST", sim_env.endpoint)
    monkeypatch.setenv("PROXMOX_TOKEN_ID", sim_env.token_id)
    monkeypatch.setenv("PROXMOX_TOKEN_SECRET", sim_env.token_secret)
    monkeypatch.setenv("PROXMOX_CA_FILE", str(sim_env.ca_file))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    return sim_env


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value}; raises on anything that is not valid text
    exposition."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def metric(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


class FakeClock:
    """Wall time that moves only when a test says so (node timeouts, lock expiry)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Log(list):  # type: ignore[type-arg]
    """The watcher's JSON events, kept in order."""

    def events(self, name: str) -> list[dict]:
        return [e for e in self if e["event"] == name]

    def names(self) -> list[str]:
        return [e["event"] for e in self]


def make_watcher(stage: Stage, clock: FakeClock, *,  # noqa: F811  (not the fixture)
                 client: object = None, owner: str = "w1", apply: bool = True,
                 **options: object) -> tuple[Watcher, Log]:
    """A watcher of the stage's spec, driven cycle by cycle with `watcher.cycle()`."""
    from pxrun.apply.context import ApplyOptions
    from pxrun.daytwo.check import Desired
    from pxrun.daytwo.reconcile import ActOptions
    from pxrun.daytwo.watch import Watcher, WatchOptions
    from pxrun.plan.options import PlanOptions
    from pxrun.spec.load import load_stack

    def load() -> Desired:
        return Desired(stack=load_stack(stage.spec).stack, options=PlanOptions())

    act = ActOptions(fence_confirmed=bool(options.pop("fence_confirmed", False)),
                     apply=ApplyOptions(retry_delay=0.01, ip_poll=0.01))
    log = Log()
    watch_options = WatchOptions(interval=float(options.pop("interval", 30.0)), apply=apply,
                                 act=act, renew_in_background=False,
                                 **options)  # type: ignore[arg-type]
    watcher = Watcher(client or stage.client, load, watch_options,  # type: ignore[arg-type]
                      emit=log.append, stack="t", clock=clock, owner=owner)
    return watcher, log
