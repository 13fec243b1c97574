"""Concurrency limit, injected latency and transient errors, and the request log."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from proxmoxer.core import ResourceException

from pxrun.sim.dispatch import TRANSIENT_FAULTS
from pxrun.sim.server import SimServer
from pxrun.sim.settings import SimSettings
from tests.sim.conftest import SimEnv, make_simulator

pytestmark = pytest.mark.integration


def _get(env: SimEnv, path: str, session: requests.Session | None = None) -> requests.Response:
    getter = session.get if session else requests.get
    return getter(
        f"{env.endpoint}/api2/json{path}",
        verify=str(env.ca_file),
        headers=env.token_header(),
        timeout=20,
    )


def test_concurrency_limit_holds_requests_back(sim_env: SimEnv) -> None:
    limit, clients, latency_ms = 2, 6, 120
    sim_env.sim.settings.concurrency = limit
    sim_env.sim.settings.faults.latency_ms = latency_ms
    barrier = threading.Barrier(clients)
    statuses: list[int] = []

    def client() -> None:
        barrier.wait()
        statuses.append(_get(sim_env, "/version").status_code)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    assert statuses == [200] * clients
    stats = sim_env.server.stats
    assert stats.max_in_flight == limit  # never more, and the limit was reached
    assert stats.in_flight == 0
    # Six requests through two slots take at least three latency rounds.
    assert elapsed >= 3 * latency_ms / 1000


def test_latency_is_injected_per_request(sim_env: SimEnv) -> None:
    faults = sim_env.sim.settings.faults
    faults.latency_ms, faults.jitter_ms = 100, 20
    started = time.perf_counter()
    assert _get(sim_env, "/version").status_code == 200
    assert time.perf_counter() - started >= 0.1
    faults.latency_ms = faults.jitter_ms = 0


def test_error_rate_one_fails_every_request_with_a_transient_error(sim_env: SimEnv) -> None:
    sim_env.sim.settings.faults.error_rate = 1.0
    prox = sim_env.proxmoxer()
    seen: set[tuple[int, str]] = set()
    for _ in range(12):
        with pytest.raises(ResourceException) as err:
            prox.version.get()
        seen.add((err.value.status_code, err.value.content))
    assert seen <= {(status, reason) for status, reason, _ in TRANSIENT_FAULTS}
    assert len(seen) > 1
    sim_env.sim.settings.faults.error_rate = 0.0
    assert prox.version.get()["release"]


def _statuses_with_seed(tmp_path: Path, seed: int) -> list[int]:
    from pxrun.sim.auth import init_credentials

    state = tmp_path / f"seed-{seed}-{time.perf_counter_ns()}"
    _, secret = init_credentials(state)
    settings = SimSettings(seed=seed)
    settings.faults.error_rate = 0.5
    sim = make_simulator(settings)
    with SimServer(sim, state) as server, requests.Session() as session:
        url = f"{server.endpoint}/api2/json/version"
        headers = {"Authorization": f"PVEAPIToken=root@pam!pxrun={secret}"}
        return [
            session.get(url, headers=headers, verify=str(server.ca_file), timeout=10).status_code
            for _ in range(16)
        ]


def test_faults_repeat_with_the_same_seed(tmp_path: Path) -> None:
    first = _statuses_with_seed(tmp_path, 7)
    assert first == _statuses_with_seed(tmp_path, 7)
    assert 200 in first and any(s >= 500 for s in first)


@pytest.fixture
def logged_env(sim_env: SimEnv, tmp_path: Path) -> Iterator[tuple[SimEnv, SimServer, Path]]:
    log = tmp_path / "requests.jsonl"
    server = SimServer(sim_env.sim, sim_env.state_dir, request_log=log).start()
    try:
        yield sim_env, server, log
    finally:
        server.stop()


def test_request_log_has_one_masked_line_per_request(
    logged_env: tuple[SimEnv, SimServer, Path],
) -> None:
    env, server, log = logged_env
    base = f"{server.endpoint}/api2/json"
    ca = str(server.ca_file)
    requests.get(f"{base}/version", headers=env.token_header(), verify=ca, timeout=10)
    login = requests.post(
        f"{base}/access/ticket",
        data={"username": "root@pam", "password": env.password},
        verify=ca,
        timeout=10,
    ).json()["data"]
    requests.get(f"{base}/version", verify=ca, timeout=10)  # no ticket: 401
    requests.post(  # renewal: the ticket travels as `password`
        f"{base}/access/ticket",
        data={"username": "root@pam", "password": login["ticket"]},
        cookies={"PVEAuthCookie": login["ticket"]},
        verify=ca,
        timeout=10,
    )
    server.stop()
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(e["method"], e["path"], e["status"]) for e in lines] == [
        ("GET", "/version", 200),
        ("POST", "/access/ticket", 200),
        ("GET", "/version", 401),
        ("POST", "/access/ticket", 200),
    ]
    assert lines[0]["authid"] == "root@pam!pxrun"
    assert lines[1]["params"] == {"username": "root@pam", "password": "***"}
    assert all(e["duration_ms"] >= 0 and e["time"] for e in lines)
    for secret in (env.password, env.token_secret, login["ticket"], login["CSRFPreventionToken"]):
        assert secret not in text


def test_lost_answers_carry_the_write_out_and_drop_the_connection(
    logged_env: tuple[SimEnv, SimServer, Path],
) -> None:
    env, server, log = logged_env
    env.sim.settings.faults.lost_answers = 1.0
    base = f"{server.endpoint}/api2/json"
    with requests.Session() as session:
        kw = {"headers": env.token_header(), "verify": str(server.ca_file), "timeout": 10}
        with pytest.raises(requests.ConnectionError):
            session.post(f"{base}/pools", data={"poolid": "lost"}, **kw)  # type: ignore[arg-type]
        assert "lost" in env.sim.pools  # carried out all the same
        # a refused write is answered (nothing was done), and reads are never lost
        refused = session.post(f"{base}/pools", data={"poolid": "lost"}, **kw)  # type: ignore[arg-type]
        assert refused.status_code == 500 and "already exists" in refused.reason
        assert session.get(f"{base}/pools", **kw).status_code == 200  # type: ignore[arg-type]
    assert env.sim.injected.snapshot() == {"lost_answer": 1}
    server.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["method"], e["status"], e.get("lost_answer", False)) for e in lines] == [
        ("POST", 200, True), ("POST", 500, False), ("GET", 200, False)]


def test_injected_faults_are_counted_by_kind(sim_env: SimEnv) -> None:
    faults = sim_env.sim.settings.faults
    faults.error_rate, faults.offline_nodes = 1.0, ["pve2"]
    assert _get(sim_env, "/nodes/pve2/lxc").status_code == 595  # offline comes first
    assert _get(sim_env, "/version").status_code >= 500
    faults.error_rate, faults.offline_nodes = 0.0, []
    assert sim_env.sim.injected.snapshot() == {"offline": 1, "error": 1}


def test_node_workers_hold_each_nodes_requests_to_its_own_pool(sim_env: SimEnv) -> None:
    settings = sim_env.sim.settings
    settings.concurrency, settings.node_workers, settings.server_time_ms = 0, 1, 150
    paths = ["/nodes/pve1/status", "/nodes/pve1/lxc", "/version"]  # /version: pve1's too
    barrier = threading.Barrier(len(paths))
    statuses: list[int] = []

    def client(path: str) -> None:
        barrier.wait()
        statuses.append(_get(sim_env, path).status_code)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    assert statuses == [200] * len(paths)
    assert elapsed >= 3 * 0.150  # one worker on pve1: one request after the other
