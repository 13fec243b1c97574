"""Day-two tests: the real client against the simulator over HTTPS, as in tests/apply.

`cli_env` points the process environment at the running simulator, so `main(["drift",
...])` connects exactly as a cron job configured by environment variables would.
`parse_metrics` reads Prometheus text with prometheus_client's own parser: what it cannot
parse, node_exporter would reject.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

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

    allow = options.pop("allow", "create,update")
    act = ActOptions(fence_confirmed=bool(options.pop("fence_confirmed", False)),
                     allow=frozenset(str(allow).split(",")),
                     apply=ApplyOptions(retry_delay=0.01, ip_poll=0.01))
    log = Log()
    watch_options = WatchOptions(interval=float(options.pop("interval", 30.0)), apply=apply,
                                 act=act, renew_in_background=False,
                                 **options)  # type: ignore[arg-type]
    watcher = Watcher(client or stage.client, load, watch_options,  # type: ignore[arg-type]
                      emit=log.append, stack="t", clock=clock, owner=owner)
    return watcher, log


WAIT = 30.0  # seconds before a missing log line fails a test (never reached when green)


def sim_connection(env: Any, token: tuple[str, str] | None = None) -> dict[str, str]:
    """The environment a `pxrun` child connects to a simulator with (as cron or systemd
    would configure it): `env` has `endpoint`, `ca_file`, `token_id` and `token_secret`
    (a SimEnv, or the facts of `pxrun sim serve`); `token` (id, secret) replaces its token."""
    token_id, secret = token or (env.token_id, env.token_secret)
    return {"PROXMOX_HOST": env.endpoint, "PROXMOX_TOKEN_ID": token_id,
            "PROXMOX_TOKEN_SECRET": secret, "PROXMOX_CA_FILE": str(env.ca_file)}


class WatchChild:
    """A `pxrun watch` child process and its JSON log lines (read by a thread into a
    queue). Tests wait on the lines, never on the clock: each read blocks on the pipe."""

    def __init__(self, connection: Mapping[str, str], cwd: Path, spec: Path,
                 *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROXMOX_")}
        env.update(connection, NO_COLOR="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pxrun", "watch", "-f", str(spec),
             "--listen", "127.0.0.1:0", *args],
            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,),
                                        daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def until(self, event: str, **fields: Any) -> dict[str, Any]:
        """Block until the child logs `event` (with these fields)."""
        return self.until_match(
            lambda e: e["event"] == event and all(e.get(k) == v for k, v in fields.items()),
            f"{event} {fields or ''}")

    def until_match(self, wanted: Callable[[dict[str, Any]], bool],
                    what: str) -> dict[str, Any]:
        while True:
            item = self.lines.get(timeout=WAIT)
            if item is None:
                raise AssertionError(f"watch exited before {what}: {self.seen[-5:]}; "
                                     f"{self.proc.stderr.read() if self.proc.stderr else ''}")
            self.seen.append(item)
            if wanted(item):
                return item

    def events(self, name: str) -> list[dict[str, Any]]:
        """The events of that name read so far."""
        return [e for e in self.seen if e["event"] == name]

    def get(self, path: str) -> tuple[int, bytes]:
        listen = next(e["listen"] for e in self.seen if e["event"] == "listening")
        try:
            with urllib.request.urlopen(f"http://{listen}{path}", timeout=WAIT) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=WAIT)

    def kill(self) -> None:
        """A crash: no step finishes, nothing is released."""
        self.proc.kill()
        self.proc.wait(timeout=WAIT)
