"""Task waiting against the simulator's real tasks: success, warnings, failure, timeout."""

from __future__ import annotations

from typing import Any

import pytest

from pxrun import errors
from pxrun.connect.tasks import PollPolicy, Upid, is_success, wait_task
from tests.connect.conftest import Cluster

UPID = "UPID:pve:0002B3C4:01A2B3C4:6650A1B2:vzcreate:101:root@pam!pxrun:"


def test_upid_parse() -> None:
    task = Upid.parse(UPID)
    assert (task.node, task.type, task.id, task.user) == ("pve", "vzcreate", "101",
                                                          "root@pam!pxrun")
    assert task.starttime == 0x6650A1B2
    with pytest.raises(errors.ApiError):
        Upid.parse("UPID:pve:nonsense")


@pytest.mark.parametrize(("status", "ok"), [("OK", True), ("WARNINGS: 2", True),
                                            ("unexpected status", False),
                                            ("startup for container '101' failed", False)])
def test_is_success(status: str, ok: bool) -> None:
    assert is_success(status) is ok


def test_poll_backoff_and_timeout_with_a_fake_clock() -> None:
    """The schedule itself: 50 ms doubling to 1 s, and the overall timeout honoured."""
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    def get(path: str, **params: Any) -> Any:
        return {"status": "running"}

    with pytest.raises(errors.TaskTimeoutError) as info:
        wait_task(get, UPID, timeout=3.0, poll=PollPolicy(), clock=lambda: now[0], sleep=sleep)
    assert sleeps[:6] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0]
    assert now[0] == pytest.approx(3.0)
    assert info.value.upid == UPID


def _template(client: Any) -> str:
    return str(client.get("nodes/pve1/storage/local/content", content="vztmpl")[0]["volid"])


def _created(cluster: Cluster, vmid: int = 130) -> Any:
    client = cluster.client()
    upid = client.post("nodes/pve1/lxc", vmid=vmid, ostemplate=_template(client),
                       hostname=f"t{vmid}", storage="local-lvm")
    result = client.wait_task(upid, timeout=30)
    assert result.exitstatus == "OK" and result.type == "vzcreate"
    return client


@pytest.mark.integration
def test_task_success(cluster: Cluster) -> None:
    client = _created(cluster)
    result = client.wait_task(client.post("nodes/pve1/lxc/130/status/start"), timeout=30)
    assert result.exitstatus == "OK"
    assert result.warnings == ()
    assert client.get("nodes/pve1/lxc/130/status/current")["status"] == "running"


@pytest.mark.integration
def test_task_failure_raises_with_log_tail(cluster: Cluster) -> None:
    client = _created(cluster)
    cluster.sim.settings.faults.task_failure = {"vzstart": 1.0}
    upid = client.post("nodes/pve1/lxc/130/status/start")
    with pytest.raises(errors.TaskFailedError) as info:
        client.wait_task(upid, timeout=30)
    exc = info.value
    assert exc.upid == upid
    assert exc.exitstatus == "startup for container '130' failed"
    assert exc.log_tail[-1] == "TASK ERROR: startup for container '130' failed"
    assert any("ABORTING" in line for line in exc.log_tail)


@pytest.mark.integration
def test_task_warnings_count_as_success(cluster: Cluster) -> None:
    """A task that warns (started in the simulator itself) is a success with its warnings."""

    def work(ctx: Any) -> None:
        ctx.log("doing the work")
        ctx.warn("volume is 95% full")

    with cluster.sim.lock:
        upid = cluster.sim.tasks.start("pve2", "vzstart", "131", cluster.token_id, work)
    result = cluster.client().wait_task(upid, timeout=30)
    assert result.exitstatus == "WARNINGS: 1"
    assert result.node == "pve2"
    assert result.warnings == ("WARN: volume is 95% full",)
    assert result.log_tail[-1] == "TASK WARNINGS: 1"


@pytest.mark.integration
def test_task_timeout(cluster: Cluster) -> None:
    def work(ctx: Any) -> None:
        ctx.sleep(60)  # woken when the simulator closes at the end of the test

    with cluster.sim.lock:
        upid = cluster.sim.tasks.start("pve1", "vzstart", "132", cluster.token_id, work)
    with pytest.raises(errors.TaskTimeoutError) as info:
        cluster.client().wait_task(upid, timeout=0.3)
    assert "still running after 0.3 s" in info.value.message
