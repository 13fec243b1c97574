"""Two watchers of one stack: active/passive through the stack lock in the cluster.

Each watcher has its own HTTPS client and owner, as two machines would; they share only
the simulator. The first "crashes" by simply never running again (its lock is not
released); the second takes over once the lock has expired on the (fake) clock.
"""

from __future__ import annotations

import pytest

from pxrun.apply.stacklock import LockInfo, read_lock
from tests.apply.conftest import Stage, make_client, spec_text
from tests.daytwo.conftest import FakeClock, make_watcher, metric, parse_metrics

pytestmark = pytest.mark.integration


def hand_edit(stage: Stage, memory: int) -> None:
    web = stage.plan().change("web")
    assert web is not None
    stage.env.proxmoxer().nodes(web.node).lxc(web.vmid).config.put(memory=memory)


def active(watcher: object) -> float:
    samples = parse_metrics(watcher.metrics.exposition().decode())  # type: ignore[attr-defined]
    return metric(samples, "pxrun_watch_active", stack="t")


def test_only_the_lock_holder_acts_and_the_other_takes_over_when_it_expires(
        stage: Stage) -> None:
    stage.write(spec_text("web: {}"))
    assert stage.apply().ok
    clock = FakeClock()
    with make_client(stage.env) as second:
        one, log1 = make_watcher(stage, clock, owner="one", lock_ttl=60.0)
        two, log2 = make_watcher(stage, clock, client=second, owner="two", lock_ttl=60.0)
        one.cycle()
        two.cycle()
        assert one.active and not two.active
        assert active(one) == 1 and active(two) == 0
        (passive,) = log2.events("passive")
        assert "held by one" in passive["error"]

        hand_edit(stage, 900)
        two.cycle()  # the passive one sees the drift and reports it, but does not act
        assert not log2.events("apply_started")
        assert two.records.snapshot()[-2]["result"].startswith("drift")
        one.cycle()
        (fixed,) = log1.events("apply_finished")
        assert (fixed["container"], fixed["outcome"]) == ("web", "done")
        stage.assert_converged()

        # `one` dies without releasing the lock. Until the lock expires `two` waits ...
        clock.advance(59)
        two.cycle()
        assert not two.active
        # ... then takes it over, atomically, and acts from now on.
        clock.advance(2)
        hand_edit(stage, 700)
        two.cycle()
        assert two.active
        assert any("took over the expired lock" in e["error"]
                   for e in log2.events("lock_warning"))
        (fixed,) = log2.events("apply_finished")
        assert fixed["outcome"] == "done"
        holder = read_lock(stage.client, "t")
        assert isinstance(holder, LockInfo) and holder.owner == "two"

        # `one` comes back: the lock is no longer its own, so it stays passive.
        hand_edit(stage, 800)
        one.cycle()
        assert not one.active and log1.events("lock_lost")
        assert len(log1.events("apply_finished")) == 1
        two.cycle()
        assert len(log2.events("apply_finished")) == 2
        two.close()
        assert read_lock(stage.client, "t") is None
        one.close()  # releases nothing that is not its own
