"""Safety under concurrency: the stack lock, vmid reservation across runs, stale plans."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pxrun.apply.stacklock import LockHeldError, LockInfo, StackLock, force_unlock, read_lock
from pxrun.apply.stale import StalePlanError, check_fresh
from pxrun.connect.client import ProxmoxerClient
from pxrun.errors import UnreachableError
from tests.apply.conftest import Stage, make_client, spec_text

pytestmark = pytest.mark.integration


class SignallingClient(ProxmoxerClient):
    """The real client, announcing each `POST pools` it has sent (to sync without sleeps)."""

    attempted: threading.Event

    def post(self, path: str, /, *, idempotent: bool = False, **params: Any) -> Any:
        try:
            return super().post(path, idempotent=idempotent, **params)
        finally:
            if path == "pools":
                self.attempted.set()


def test_second_apply_of_a_stack_fails_clearly_or_waits(stage: Stage) -> None:
    first = StackLock(stage.client, "t", owner="alice@ci pid 1")
    first.acquire()
    with make_client(stage.env) as other:
        with pytest.raises(LockHeldError, match=r"locked: held by alice@ci pid 1"):
            StackLock(other, "t").acquire()

        waiter_client = SignallingClient(other.settings)
        waiter_client.attempted = threading.Event()
        second = StackLock(waiter_client, "t", owner="bob")
        errors: list[BaseException] = []

        def wait_for_lock() -> None:
            try:
                second.acquire(timeout=20)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        worker = threading.Thread(target=wait_for_lock)
        worker.start()
        assert waiter_client.attempted.wait(10)  # it tried and found the lock held
        first.release()
        worker.join(30)
        assert not errors and second.held
        holder = read_lock(stage.client, "t")
        assert isinstance(holder, LockInfo) and holder.owner == "bob"
        second.release()
        waiter_client.close()
    assert read_lock(stage.client, "t") is None


def test_expired_lock_is_taken_over_with_a_warning_and_force_unlock(stage: Stage) -> None:
    crashed = StackLock(stage.client, "t", owner="crashed", ttl=60, clock=lambda: 1000.0)
    crashed.acquire()
    crashed._stop.set()  # the crashed run renews nothing and never releases
    warnings: list[str] = []
    taker = StackLock(stage.client, "t", owner="next", on_warning=warnings.append)
    taker.acquire()
    assert taker.held and any("expired lock" in w and "crashed" in w for w in warnings)
    holder = read_lock(stage.client, "t")
    assert isinstance(holder, LockInfo) and holder.owner == "next"
    pools = [p["poolid"] for p in stage.client.get("pools")]
    assert pools == ["pxrun-lock-t"]  # the take-over claim is gone
    assert isinstance(force_unlock(stage.client, "t"), LockInfo)
    assert read_lock(stage.client, "t") is None
    assert force_unlock(stage.client, "t") is None
    taker.release()  # no longer ours: leaves nothing behind and does not fail


def test_two_stacks_creating_at_once_never_collide_on_vmids(stage: Stage) -> None:
    # Both runs start from the same /cluster/nextid answers; only Proxmox's create lock
    # keeps them apart.
    names = "\n".join(f"c{i}: {{state: stopped}}" for i in range(6)) + "\n"
    other_dir = stage.dir / "other"
    other_dir.mkdir()
    stage.write(spec_text(names, stack="one"))
    plan_one = stage.plan()
    other = Stage(env=stage.env, client=make_client(stage.env), dir=other_dir)
    other.write(spec_text(names, stack="two"))
    plan_two = other.plan()
    barrier = threading.Barrier(2)
    summaries: dict[str, Any] = {}

    def run(name: str, st: Stage, plan: Any) -> None:
        barrier.wait()
        summaries[name] = st.apply(plan, parallelism=6, limits=_limits(6))

    threads = [threading.Thread(target=run, args=("one", stage, plan_one)),
               threading.Thread(target=run, args=("two", other, plan_two))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    other.client.close()
    assert summaries["one"].ok and summaries["two"].ok
    vmids = [r.vmid for s in summaries.values() for r in s.results]
    assert len(vmids) == 12 and len(set(vmids)) == 12
    stage.assert_converged()
    other_check = Stage(env=stage.env, client=stage.client, dir=other_dir)
    other_check.assert_converged()


class OverlapClient(ProxmoxerClient):
    """The real client; the first create POST waits (up to 10 s) until a second one has
    been sent, and every `/cluster/nextid` question is counted."""

    second_create: threading.Event
    creates = 0
    nextid_asks = 0

    def get(self, path: str, /, **params: Any) -> Any:
        if path == "cluster/nextid":
            self.nextid_asks += 1
        return super().get(path, **params)

    def post(self, path: str, /, *, idempotent: bool = False, **params: Any) -> Any:
        if path.endswith("/lxc"):
            self.creates += 1
            if self.creates == 1:
                self.second_create.wait(10)
            else:
                self.second_create.set()
        return super().post(path, idempotent=idempotent, **params)


def test_creates_with_allocated_vmids_run_in_parallel(stage: Stage) -> None:
    # Candidates are handed out under a lock, the POSTs run at once: a first create that
    # waits for a second one is not waited for in vain, and nextid is asked once.
    stage.write(spec_text("\n".join(f"c{i}: {{state: stopped, node: pve1}}"
                                     for i in range(4)) + "\n"))
    plan = stage.plan()
    with OverlapClient(stage.client.settings) as overlap:
        overlap.second_create = threading.Event()
        summary = stage.apply(plan, client=overlap, parallelism=4, limits=_limits(4))
        assert overlap.second_create.is_set() and overlap.creates == 4
        assert overlap.nextid_asks == 1
    assert summary.ok, summary
    assert len({r.vmid for r in summary.results}) == 4
    stage.assert_converged()


def test_a_fixed_vmid_of_the_plan_is_never_handed_to_another_create(stage: Stage) -> None:
    free = int(stage.client.get("cluster/nextid"))
    fixed = free + 1  # the id the second allocated create would otherwise get
    stage.write(spec_text(f"a: {{state: stopped}}\nb: {{state: stopped}}\n"
                          f"c: {{state: stopped}}\nz: {{state: stopped, vmid: {fixed}}}\n"))
    summary = stage.apply(stage.plan(), parallelism=4, limits=_limits(4))
    assert summary.ok, summary
    by_name = {r.address: r.vmid for r in summary.results}
    assert by_name["z"] == fixed and len(set(by_name.values())) == 4
    stage.assert_converged()


def _limits(n: int) -> Any:
    from pxrun.apply.limits import Limits

    return Limits(node=n, storage=n)


class LosingClient(ProxmoxerClient):
    """The real client, but the answer to the first create POST is lost after Proxmox
    carried it out (as when a proxy drops the connection)."""

    lost = False

    def post(self, path: str, /, *, idempotent: bool = False, **params: Any) -> Any:
        answer = super().post(path, idempotent=idempotent, **params)
        if path.endswith("/lxc") and not self.lost:
            self.lost = True
            raise UnreachableError("connection reset by peer", transient=True)
        return answer


def test_a_lost_create_answer_counts_as_ours(stage: Stage) -> None:
    stage.write(spec_text("web: {state: stopped}\n"))
    plan = stage.plan()
    with LosingClient(stage.client.settings) as losing:
        summary = stage.apply(plan, client=losing)
        assert losing.lost
    assert summary.ok, summary
    guests = [g for n in ("pve1", "pve2", "pve3") for g in stage.client.get(f"nodes/{n}/lxc")]
    assert [g["vmid"] for g in guests] == [summary.results[0].vmid]  # one container, ours
    stage.assert_converged()


def test_stale_saved_plan_is_refused(stage: Stage) -> None:
    stage.write(spec_text("web: {}\ndb: {}\n"))
    assert stage.apply().ok
    stage.write(spec_text("web: {resources: {memory: 768}}\ndb: {}\n"))
    saved = stage.plan()
    check_fresh(saved, saved.observed_digests, saved.spec_hash, "t")  # fresh: no error
    db = saved.change("db")
    assert db is not None
    stage.client.put(f"nodes/{db.node}/lxc/{db.vmid}/config", cores=3)  # behind pxrun's back
    now = stage.plan()
    with pytest.raises(StalePlanError, match=r"plan is stale: db: its config changed"):
        check_fresh(saved, now.observed_digests, now.spec_hash, "t")
    stage.write(spec_text("web: {resources: {memory: 1024}}\ndb: {}\n"))
    changed = stage.plan()
    with pytest.raises(StalePlanError, match="the spec changed"):
        check_fresh(saved, saved.observed_digests, changed.spec_hash, "t")


def test_digest_is_sent_so_a_racing_change_is_refused_by_proxmox(stage: Stage) -> None:
    stage.write(spec_text("web: {}\n"))
    assert stage.apply().ok
    stage.write(spec_text("web: {resources: {memory: 768}}\n"))
    plan = stage.plan()
    web = plan.change("web")
    assert web is not None and web.digest
    stage.client.put(f"nodes/{web.node}/lxc/{web.vmid}/config", cores=3)
    summary = stage.apply(plan)
    result = summary.results[0]
    assert result.outcome == "failed" and "modified configuration" in result.error
    assert not result.tainted  # pxrun did not create it in this run
