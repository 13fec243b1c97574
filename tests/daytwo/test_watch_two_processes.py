"""Two `pxrun watch` processes of one stack, as on two machines: active/passive.

Three real processes: `pxrun sim serve` (with `--request-log`) and two watchers, each
with its own API token as two machines would have, sharing nothing but the cluster. The
request log names the token of every request, so "only the lock holder acts" is checked
on what reached the cluster, not on what the watchers say about themselves. Short
intervals and lock TTL are set by flags; the test waits on log lines and on the request
log (polled with a deadline), never on the clock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pxrun.sim.auth import init_credentials
from pxrun.sim.runtime import init_state
from pxrun.sim.settings import SimSettings
from tests.apply.conftest import spec_text
from tests.daytwo.conftest import WAIT, WatchChild, sim_connection

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # four processes start
FLAGS = ("--apply", "--interval", "200ms", "--jitter", "0", "--lock-ttl", "2s")


@dataclass
class Served:
    """A `pxrun sim serve` child: its facts, its request log and one token per watcher."""

    proc: subprocess.Popen[str]
    endpoint: str
    ca_file: Path
    token_id: str  # root@pam!pxrun: the "GUI" that makes hand edits
    token_secret: str
    log: Path
    tokens: dict[str, tuple[str, str]]

    def proxmoxer(self) -> Any:
        from proxmoxer import ProxmoxAPI

        user, name = self.token_id.split("!")
        return ProxmoxAPI(self.endpoint.removeprefix("https://"), user=user, token_name=name,
                          token_value=self.token_secret, verify_ssl=str(self.ca_file))

    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def writes(self) -> list[dict[str, Any]]:
        """Requests that change containers (the lock's pool writes are not acting)."""
        return [r for r in self.requests()
                if r["method"] != "GET" and r["path"].startswith("/nodes/")]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    state = tmp_path / "sim"
    init_state(state, settings=SimSettings(time_scale=0.02, seed=5))
    tokens = {name: init_credentials(state, token_name=name) for name in ("one", "two")}
    log = tmp_path / "requests.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pxrun", "--json", "--request-log", str(log), "sim", "serve",
         str(state), "--time-scale", "0.02"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        facts = json.loads(proc.stdout.readline())
        yield Served(proc=proc, endpoint=facts["endpoint"], ca_file=Path(facts["ca_file"]),
                     token_id=facts["token_id"], token_secret=facts["token_secret"],
                     log=log, tokens=tokens)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@pytest.fixture
def watchers(served: Served, tmp_path: Path) -> Iterator[Callable[[str], WatchChild]]:
    (tmp_path / "pxrun.yaml").write_text(spec_text("web: {}"), encoding="utf-8")
    children: list[WatchChild] = []

    def start(token: str) -> WatchChild:
        children.append(WatchChild(sim_connection(served, served.tokens[token]), tmp_path,
                                   tmp_path / "pxrun.yaml", *FLAGS))
        return children[-1]

    yield start
    for child in children:
        if child.proc.poll() is None:
            child.kill()


def until(condition: Callable[[], Any], what: str) -> Any:
    """Poll an observable condition (the request log) until it holds, with a deadline."""
    deadline = time.monotonic() + WAIT
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling interval, not synchronisation: the deadline decides
    return result


def hand_edit(served: Served, memory: int) -> None:
    (ct,) = [r for r in served.proxmoxer().cluster.resources.get(type="vm")
             if r["name"] == "web"]
    served.proxmoxer().nodes(ct["node"]).lxc(ct["vmid"]).config.put(memory=memory)


def fixed_by(served: Served, memory: int) -> set[str]:
    """Who wrote `memory` back to the spec's value after the hand edit to `memory`."""
    writes = served.writes()
    edit = max(i for i, r in enumerate(writes) if r["params"].get("memory") == str(memory))
    return {r["authid"] for r in writes[edit + 1:] if r["params"].get("memory") == "512"}


def test_two_watch_processes_only_the_holder_acts_and_the_other_takes_over(
        served: Served, watchers: Callable[[str], WatchChild]) -> None:
    one = watchers("one")
    one.until("lock_acquired")
    one.until("apply_finished", container="web", outcome="done")  # creates web
    two = watchers("two")
    passive = two.until("passive")
    assert f"pid {one.proc.pid}" in passive["error"]  # held by the other machine's watcher
    two.until("cycle_finished", active=False)
    hand_edit(served, 900)
    until(lambda: fixed_by(served, 900), "the drift to be fixed")
    one.until("apply_finished", container="web", operation="update", outcome="done")
    two.until("cycle_finished", active=False)
    writers = {r["authid"] for r in served.writes()} - {served.token_id}
    assert writers == {served.tokens["one"][0]}  # the passive watcher changed nothing
    assert not two.events("apply_started")

    one.kill()  # a crash: the lock is not released; `two` takes over once it expires
    hand_edit(served, 700)
    warning = two.until("lock_warning")
    assert "took over the expired lock" in warning["error"]
    two.until("apply_finished", container="web", operation="update", outcome="done")
    assert fixed_by(served, 700) == {served.tokens["two"][0]}
    status, body = two.get("/records")
    assert status == 200 and any(r["action"] == "update" and r["result"] == "done"
                                 for r in json.loads(body))

    # A clean stop hands over at once: `two` releases the lock, a new watcher takes it
    # without waiting for an expiry.
    three = watchers("one")
    three.until("passive")
    assert two.stop() == 0
    two.until("lock_released")
    three.until("lock_acquired")
    assert not three.events("lock_warning")
    hand_edit(served, 600)
    three.until("apply_finished", container="web", operation="update", outcome="done")
    assert fixed_by(served, 600) == {served.tokens["one"][0]}
    assert three.stop() == 0
