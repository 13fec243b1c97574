"""Lost answers: Proxmox carried a write out, but its answer never arrived (the connection
dropped). A retry must not do the work twice, and must not fail because the first attempt
succeeded: a create must not make a second container, a PUT retried with the old digest
must count as done when the config holds what was sent, a delete must count as done when
the container is gone."""

from __future__ import annotations

import pytest

from tests.apply.conftest import Stage, spec_text

pytestmark = pytest.mark.integration


def _ours(stage: Stage) -> list[int]:
    with stage.env.sim.lock:
        return sorted(v for v, ct in stage.env.sim.containers.items()
                      if "pxrun-t" in str(ct.conf.get("tags", "")))


def test_every_answer_lost_create_update_delete_still_converge(stage: Stage) -> None:
    faults = stage.env.sim.settings.faults
    faults.lost_answers = 1.0
    stage.write(spec_text("""
        web: {}
        db: {state: stopped}
    """))
    summary = stage.apply()
    assert summary.ok, [(r.address, r.error) for r in summary.results if r.error]
    assert len(_ours(stage)) == 2  # no second container from a retried create
    stage.write(spec_text("""
        web: {resources: {memory: 640}, tags: [x], description: notes}
        db: {state: stopped, resources: {cores: 2, disk: 5}, networks: {net1: {bridge: vmbr0}}}
    """))
    summary = stage.apply()
    assert summary.ok, [(r.address, r.error) for r in summary.results if r.error]
    stage.write(spec_text("""
        web: {resources: {memory: 640}, tags: [x], description: notes}
    """))
    summary = stage.apply()
    assert summary.ok, [(r.address, r.error) for r in summary.results if r.error]
    assert stage.env.sim.injected.snapshot()["lost_answer"] >= 5
    faults.lost_answers = 0.0
    assert len(_ours(stage)) == 1
    stage.assert_converged()


def test_half_the_answers_lost_migrate_resize_mount_restart_converge(stage: Stage) -> None:
    stage.write(spec_text("""
        app: {node: pve1}
        tool: {node: pve2, state: stopped}
    """))
    assert stage.apply().ok
    stage.env.sim.settings.faults.lost_answers = 0.5
    stage.write(spec_text("""
        app: {node: pve2, timezone: UTC, resources: {disk: 6},
              mounts: {mp0: {volume: "local-lvm:1", path: /srv/data}}}
        tool: {node: pve1, state: stopped, resources: {disk: 5}}
    """))
    summary = stage.apply(retry_attempts=10)
    assert summary.ok, [(r.address, r.error) for r in summary.results if r.error]
    stage.env.sim.settings.faults.lost_answers = 0.0
    assert len(_ours(stage)) == 2
    with stage.env.sim.lock:  # one volume for mp0: a retried attach allocated no second one
        app = next(ct for ct in stage.env.sim.containers.values()
                   if ct.conf.get("hostname") == "app")
        assert not [k for k in app.conf if k.startswith("unused")], app.conf
    stage.assert_converged()


def test_every_answer_lost_snapshots_a_data_keeping_replace_and_backups_converge(
        stage: Stage) -> None:
    """The safety nets' writes (snapshot, snapshot delete, volume reassign, vzdump) carried
    out with their answers lost: no failure, no second snapshot or backup, the data volume
    handed over once."""
    body = ("db: {{unprivileged: {flag}, timezone: {tz}, "
            "mounts: {{mp0: {{volume: 'local-lvm:1', path: /srv/data}}}}, lifecycle: "
            "{{snapshot: before_change, snapshot_keep: 1, backup_before_destroy: local}}}}\n")
    stage.write(spec_text(body.format(flag="true", tz="UTC")))
    assert stage.apply().ok
    faults = stage.env.sim.settings.faults
    faults.lost_answers = 1.0
    for tz in ("Europe/Berlin", "Europe/Rome"):  # a snapshot each; the older one deleted
        stage.write(spec_text(body.format(flag="true", tz=tz)))
        summary = stage.apply()
        assert summary.ok, [(r.address, r.error) for r in summary.results if r.error]
    (old,) = _ours(stage)
    stage.write(spec_text(body.format(flag="false", tz="Europe/Rome")))  # a replace
    summary = stage.apply()
    assert summary.ok, [(r.address, r.error) for r in summary.results if r.error]
    assert stage.env.sim.injected.snapshot()["lost_answer"] >= 5
    faults.lost_answers = 0.0
    with stage.env.sim.lock:
        (vmid,) = _ours(stage)
        ct = stage.env.sim.containers[vmid]
        assert str(ct.conf["mp0"]).startswith("local-lvm:vm-"), ct.conf
        assert not [k for k in ct.conf if k.startswith("unused")], ct.conf
        backups = [v.volid for _, v in stage.env.sim.storages.owned(old)
                   if v.content == "backup"]
    assert len(backups) == 1, backups  # one backup before the replace, not two
    stage.assert_converged()
