"""The real client against the simulator over HTTPS: encoding, retries, pooling."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pxrun import errors
from pxrun.connect.client import ProxmoxClient, ProxmoxerClient, encode_params
from pxrun.connect.retry import RetryPolicy, call_with_retry
from tests.connect.conftest import Cluster

pytestmark = pytest.mark.integration


def _template(client: ProxmoxerClient) -> str:
    return str(client.get("nodes/pve1/storage/local/content", content="vztmpl")[0]["volid"])


def test_implements_the_protocol(cluster: Cluster) -> None:
    assert isinstance(cluster.client(), ProxmoxClient)


def test_encode_params() -> None:
    assert encode_params({"a": True, "b": False, "c": None, "d": 3, "e": "x", "f": 1.5}) == {
        "a": 1, "b": 0, "d": 3, "e": "x", "f": 1.5}
    with pytest.raises(TypeError, match="join lists"):
        encode_params({"delete": ["net1", "mp0"]})
    with pytest.raises(TypeError):
        encode_params({"x": {"a": 1}})


def test_booleans_reach_proxmox_as_0_and_1(cluster: Cluster) -> None:
    client = cluster.client()
    upid = client.post("nodes/pve1/lxc", vmid=120, ostemplate=_template(client), hostname="b",
                       storage="local-lvm", unprivileged=True, onboot=False)
    client.wait_task(upid, timeout=30)
    client.put("nodes/pve1/lxc/120/config", onboot=True, protection=False)
    config = client.get("nodes/pve1/lxc/120/config")
    assert config["unprivileged"] == 1
    assert config["onboot"] == 1


def test_the_simulator_rejects_python_booleans(cluster: Cluster) -> None:
    """Why encode_params exists: requests would send `True`, which Proxmox refuses."""
    prox = cluster.client()._proxmoxer().api  # proxmoxer itself, bypassing our encoding
    client = cluster.client()
    upid = client.post("nodes/pve1/lxc", vmid=121, ostemplate=_template(client), hostname="c",
                       storage="local-lvm")
    client.wait_task(upid, timeout=30)
    from proxmoxer import ResourceException

    with pytest.raises(ResourceException) as info:
        prox.nodes("pve1").lxc(121).config.put(onboot=True)
    assert "type check ('boolean') failed - got 'True'" in str(info.value.errors)


def test_get_with_a_parameter_named_path(cluster: Cluster) -> None:
    """`path` is positional-only, so Proxmox parameters of that name still work."""
    perms = cluster.client().get("access/permissions", path="/vms")
    assert "/vms" in perms


def test_retries_converge_under_error_rate(cluster: Cluster) -> None:
    cluster.sim.settings.faults.error_rate = 0.3
    client = cluster.client(retry=RetryPolicy(attempts=10, base_delay=0.001, max_delay=0.004))
    for _ in range(25):
        assert client.get("version")["release"]
    assert client.request_count > 25  # some requests failed and were repeated


def test_idempotent_writes_are_retried(cluster: Cluster) -> None:
    client = cluster.client()
    upid = client.post("nodes/pve1/lxc", vmid=122, ostemplate=_template(client), hostname="d",
                       storage="local-lvm")
    client.wait_task(upid, timeout=30)
    cluster.sim.settings.faults.lock_contention = 1.0
    before = client.request_count
    with pytest.raises(errors.LockedError):
        client.put("nodes/pve1/lxc/122/config", idempotent=True, memory=1024)
    assert client.request_count - before == 4  # every attempt of the policy was used


def test_retry_stops_on_permanent_errors() -> None:
    calls: list[int] = []

    def fails() -> Any:
        calls.append(1)
        raise errors.NotFoundError("gone")

    with pytest.raises(errors.NotFoundError):
        call_with_retry(fails, policy=RetryPolicy(attempts=5), safe=True, sleep=lambda _: None)
    assert len(calls) == 1


def test_retry_delays_are_bounded() -> None:
    delays = list(RetryPolicy(attempts=6, base_delay=0.5, max_delay=2.0, jitter=0).delays())
    assert delays == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_pool_serves_concurrent_requests_without_discarding(cluster: Cluster) -> None:
    """N threads share one client: every connection is kept alive and reused."""
    cluster.sim.settings.faults.latency_ms = 30  # so the requests really overlap
    threads_n = 8
    client = cluster.client(pool_size=threads_n)
    barrier = threading.Barrier(threads_n)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(3):
                client.get("nodes")
        except BaseException as exc:  # reported below, never lost in a thread
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not failures
    pool = client._gets
    assert pool is not None
    assert 1 < pool.connections <= threads_n
    assert len(pool._idle) == pool.connections  # every connection came back, none discarded
    assert client.request_count == threads_n * 3
    assert client._writer is None  # GETs alone never build proxmoxer


def test_proxy_variables_apply_as_requests_reads_them(cluster: Cluster,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The client reads the environment once, not per request, with requests' own rules:
    HTTPS_PROXY is used (here a closed loopback port, so the call cannot connect) unless
    NO_PROXY names the host."""
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    proxied = cluster.client(retry=RetryPolicy(attempts=1))
    with pytest.raises(errors.ApiError):
        proxied.get("version")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert cluster.client().get("version")["release"]


GETS = [  # (path, params): answers and failures of every kind a GET meets
    ("version", {}),
    ("cluster/resources", {"type": "vm"}),
    ("nodes/pve1/storage/local/content", {"content": "vztmpl"}),
    ("nodes/pve1/lxc/999/config", {}),  # 500: does not exist
    ("nodes/nope/lxc", {}),  # unknown node
    ("cluster/resources", {"type": "nonsense"}),  # 400 with per-parameter errors
    ("nodes/pve3/lxc", {}),  # 595: the node does not answer
    ("no/such/path", {}),  # 501
]


@pytest.mark.parametrize(("path", "params"), GETS, ids=[p for p, _ in GETS])
def test_gets_answer_and_fail_the_same_on_the_fast_path(cluster: Cluster, path: str,
                                                        params: dict[str, Any]) -> None:
    """GETs go over the standard library (connect/httpget.py); what they return or raise
    is exactly what the proxmoxer path gives."""
    cluster.sim.settings.faults.offline_nodes = ["pve3"]
    fast = cluster.client(retry=RetryPolicy(attempts=1))
    ordinary = cluster.client(retry=RetryPolicy(attempts=1))
    ordinary._proxied = True  # the proxmoxer path (as through a proxy), for comparison

    def outcome(client: ProxmoxerClient) -> Any:
        try:
            return client.get(path, **params)
        except errors.ApiError as exc:
            return (type(exc), exc.message, exc.status, exc.transient, exc.hint)

    expected = outcome(ordinary)
    assert outcome(fast) == expected
    assert fast.request_count == ordinary.request_count == 1
    assert fast._writer is None and ordinary._gets is None  # the path taken
