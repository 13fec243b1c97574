"""Per-object persistence (spec 0025): the `.conf` format, writes only what changed, atomic
replacement, crash safety and the migration of layout-1 state directories."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pxrun.sim import conffile, persist
from pxrun.sim.containers import Container
from pxrun.sim.settings import SimSettings
from pxrun.sim.state import Simulator
from tests.sim.direct import call, ok

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
CONF = """\
#web server%3A front
#second line
arch: amd64
hostname: web
memory: 512
parent: before
rootfs: local-lvm:vm-101-disk-0,size=8G
lxc.cgroup2.devices.allow: c 10:200 rwm
lxc.mount.entry: /dev/net dev/net none bind,create=dir

[pve:pending]
delete: swap
memory: 1024

[before]
#snapshot note
arch: amd64
hostname: web
memory: 512
rootfs: local-lvm:vm-101-disk-0,size=8G
snaptime: 1716560306
lxc.cgroup2.devices.allow: c 10:200 rwm
"""


def test_conf_file_round_trips_every_section() -> None:
    parsed = conffile.parse(CONF)
    assert parsed.conf["description"] == "web server: front\nsecond line"
    assert parsed.raw_lxc == [("lxc.cgroup2.devices.allow", "c 10:200 rwm"),
                              ("lxc.mount.entry", "/dev/net dev/net none bind,create=dir")]
    assert parsed.pending == {"memory": "1024"} and parsed.pending_delete == ["swap"]
    assert parsed.snapshots["before"]["description"] == "snapshot note"
    ct = Container.from_files(101, "pve1", CONF, {})
    assert ct.render() == CONF
    assert ct.config_json()["lxc"][0] == ["lxc.cgroup2.devices.allow", "c 10:200 rwm"]


_value = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="#["),
                 min_size=1, max_size=12).map(str.strip).filter(bool)


@given(st.dictionaries(st.sampled_from(["cores", "hostname", "memory", "tags", "mp0"]), _value),
       st.text(max_size=40))
def test_any_config_round_trips(conf: dict[str, str], description: str) -> None:
    values = dict(conf)
    if description:
        values["description"] = description
    ct = Container(101, "pve1", conf=values)
    again = Container.from_files(101, "pve1", ct.render(), {})
    assert dict(again.conf) == dict(ct.conf)
    assert again.render() == ct.render()


def _sim(tmp_path: Path) -> Simulator:
    sim = Simulator.create_default(SimSettings(time_scale=0.0, seed=3))
    sim.save(tmp_path)
    return sim


def _journal(tmp_path: Path) -> list[dict[str, Any]]:
    text = (tmp_path / "journal.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_a_change_appends_only_that_container(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    try:
        for vmid in (101, 102, 103):
            ok(sim, "POST", "/nodes/pve1/lxc", vmid=vmid, ostemplate=TEMPLATE)
        before = len(_journal(tmp_path))
        snapshot = (tmp_path / "state.json").stat().st_ino
        call(sim, "PUT", "/nodes/pve1/lxc/102/config", memory=2048)
        lines = _journal(tmp_path)[before:]
        assert len(lines) == 1 and set(lines[0]) == {"cts"}
        assert set(lines[0]["cts"]) == {"102"}
        assert "memory: 2048" in lines[0]["cts"]["102"]["conf"]  # the .conf text itself
        assert (tmp_path / "state.json").stat().st_ino == snapshot  # not rewritten
    finally:
        sim.close()
    again = Simulator.load(tmp_path)
    assert again.containers[102].conf["memory"] == "2048"
    assert again.containers[102].digest == sim.containers[102].digest


def test_the_journal_is_folded_into_the_snapshot_when_it_outgrows_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persist, "MIN_COMPACT_BYTES", 4096)
    sim = _sim(tmp_path)
    try:
        sizes = []
        for vmid in range(200, 230):
            ok(sim, "POST", "/nodes/pve2/lxc", vmid=vmid, ostemplate=TEMPLATE,
               rootfs="local-lvm:1")
            sizes.append((tmp_path / "journal.jsonl").stat().st_size)
        assert min(sizes) < 4096 < max(sizes)  # grew, was folded, grew again
        assert max(sizes) <= 2 * (tmp_path / "state.json").stat().st_size + 4096
    finally:
        sim.close()
    assert len(Simulator.load(tmp_path).containers) == 30


def test_a_commit_cut_short_is_ignored(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    ok(sim, "POST", "/nodes/pve1/lxc", vmid=101, ostemplate=TEMPLATE)
    call(sim, "PUT", "/nodes/pve1/lxc/101/config", cores=2)
    journal = (tmp_path / "journal.jsonl").read_bytes()
    sim.closed = True  # vanish without the shutdown save, as a killed process does
    assert sim.state_lock is not None
    sim.state_lock.release()
    (tmp_path / "journal.jsonl").write_bytes(journal + b'{"cts":{"101":{"node":"pv')
    again = Simulator.load(tmp_path)
    try:
        assert again.containers[101].conf["cores"] == "2"
        again.claim()  # folds the journal into a fresh snapshot
        assert (tmp_path / "journal.jsonl").stat().st_size == 0
    finally:
        again.close()
    assert Simulator.load(tmp_path).containers[101].conf["cores"] == "2"


def test_a_killed_process_keeps_every_answered_change(tmp_path: Path) -> None:
    """No shutdown, no final save: what the API acknowledged is on disk already."""
    state = tmp_path / "s"
    script = textwrap.dedent(f"""
        import os
        from pxrun.sim.settings import SimSettings
        from pxrun.sim.state import Simulator
        from tests.sim.direct import call, finish, ok
        sim = Simulator.create_default(SimSettings(time_scale=0.0))
        sim.save({str(state)!r})
        finish(sim, call(sim, "POST", "/nodes/pve1/lxc", vmid=150, ostemplate={TEMPLATE!r},
                         net0="name=eth0,bridge=vmbr0,ip=dhcp", start=1))
        call(sim, "PUT", "/nodes/pve1/lxc/150/config", cores=3)
        call(sim, "POST", "/pools", poolid="kept")
        os._exit(9)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 9, proc.stderr
    sim = Simulator.load(state)
    try:
        ct = sim.containers[150]
        assert (ct.conf["cores"], ct.status) == ("3", "running")
        assert "kept" in sim.pools
        lease = sim.dhcp.leases_of(ct)
        assert list(lease["vmbr0"].values()) == ["10.20.0.100"]
        assert sim.storages.find("local:150/vm-150-disk-0.raw", "pve1") is not None
    finally:
        sim.close()


def test_a_layout_1_state_is_migrated(tmp_path: Path) -> None:
    legacy = {
        "format": 1, "cluster_name": "old",
        "nodes": [{"name": "pve1", "cpus": 4, "maxmem": 8 << 30, "base_mem": 1 << 30}],
        "storages": {"defs": [{"id": "local", "type": "dir", "content": ["rootdir"],
                               "shared": False, "total": 10 << 30}],
                     "volumes": {"pve1/local": [{"volid": "local:100/vm-100-disk-0.raw",
                                                 "size": 4 << 30, "content": "rootdir",
                                                 "vmid": 100}]}},
        "bridges": {}, "pools": [],
        "containers": [{"vmid": 100, "node": "pve1", "conf": {
            "rootfs": "local:100/vm-100-disk-0.raw,size=4G", "memory": "512"}}],
        "dhcp": {}, "tasks": [],
    }
    (tmp_path / "state.json").write_text(json.dumps(legacy), encoding="utf-8")
    sim = Simulator.load(tmp_path)
    sim.claim()
    sim.close()
    assert json.loads((tmp_path / "state.json").read_text())["format"] == 2
    again = Simulator.load(tmp_path)
    try:
        assert again.containers[100].conf["memory"] == "512"
        assert again.storages.used("local", "pve1") == 4 << 30
    finally:
        again.close()
    assert not list(tmp_path.rglob("*.tmp"))


def test_migrate_renames_every_volume_once(tmp_path: Path) -> None:
    """rootfs on disk-1 and mp0 on disk-0: the target allocates them the other way round."""
    sim = _sim(tmp_path)
    try:
        ok(sim, "POST", "/nodes/pve1/lxc", vmid=160, ostemplate=TEMPLATE, rootfs="local-lvm:2")
        ok(sim, "POST", "/nodes/pve1/lxc/160/move_volume", volume="rootfs", storage="local",
           delete=1)
        call(sim, "PUT", "/nodes/pve1/lxc/160/config", mp0="local-lvm:1,mp=/srv")
        ok(sim, "POST", "/nodes/pve1/lxc/160/move_volume", volume="rootfs",
           storage="local-lvm", delete=1)
        ct = sim.containers[160]
        assert ct.conf["rootfs"].startswith("local-lvm:vm-160-disk-1,")
        assert ct.conf["mp0"].startswith("local-lvm:vm-160-disk-0,")
        ok(sim, "POST", "/nodes/pve1/lxc/160/migrate", target="pve2")
        after = {k: ct.conf[k].split(",")[0] for k in ("rootfs", "mp0")}
        assert len(set(after.values())) == 2, after
        assert ct.conf["rootfs"].endswith("size=2G") and ct.conf["mp0"].endswith("size=1G")
        owned = sorted(v.volid for _, v in sim.storages.owned(160))
        assert owned == sorted(after.values())
    finally:
        sim.close()
