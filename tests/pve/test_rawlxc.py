"""Raw `lxc.*` lines and uid/gid maps: the complete map, reading it back, editing a `.conf`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pxrun.pve import rawlxc
from pxrun.spec.model import Container, IdMap, IdRange

GPU = IdMap(gids=[IdRange(container=44, host=44), IdRange(container=104, host=104)])


def test_the_complete_map_fills_the_gaps_with_the_default() -> None:
    assert rawlxc.idmap_lines(GPU) == [
        "lxc.idmap: u 0 100000 65536",
        "lxc.idmap: g 0 100000 44",
        "lxc.idmap: g 44 44 1",
        "lxc.idmap: g 45 100045 59",
        "lxc.idmap: g 104 104 1",
        "lxc.idmap: g 105 100105 65431",
    ]
    assert rawlxc.parse_idmap(rawlxc.idmap_lines(GPU)) == GPU
    assert rawlxc.subid_entries(GPU) == ((), ("root:44:1", "root:104:1"))


def test_no_idmap_lines_mean_the_default_map() -> None:
    assert rawlxc.parse_idmap(["lxc.mount.entry: /a a none bind"]) is None
    assert rawlxc.parse_idmap(rawlxc.idmap_lines(IdMap())) == IdMap()
    with pytest.raises(ValueError, match="cannot read the id mapping"):
        rawlxc.parse_idmap(["lxc.idmap: x 0 0 1"])


def test_neighbouring_ranges_with_one_offset_are_one_range() -> None:
    split = IdMap(uids=[IdRange(container=1000, host=1000), IdRange(container=1001, host=1001),
                        IdRange(container=5, host=100005)])  # the last one is the default
    assert rawlxc.canonical_idmap(split) == IdMap(uids=[IdRange(container=1000, host=1000,
                                                                count=2)])


ranges = st.lists(st.tuples(st.integers(0, 65000), st.integers(0, 300_000),
                            st.integers(1, 30)), max_size=4)


@settings(max_examples=60, deadline=None)
@given(ranges)
def test_printing_then_reading_a_map_gives_it_back(items: list[tuple[int, int, int]]) -> None:
    taken: set[int] = set()
    hosts: set[int] = set()
    kept = []
    for inside, host, count in items:
        span, hspan = set(range(inside, inside + count)), set(range(host, host + count))
        if span & taken or hspan & hosts or inside + count > 65536:
            continue
        taken |= span
        hosts |= hspan
        kept.append(IdRange(container=inside, host=host, count=count))
    idmap = rawlxc.canonical_idmap(IdMap(uids=kept, gids=kept))
    lines = rawlxc.idmap_lines(idmap)
    assert rawlxc.parse_idmap(lines) == idmap
    for kind in "ug":  # every id inside is mapped exactly once
        covered = sum(int(line.split()[4]) for line in lines if line.split()[1] == kind)
        assert covered == 65536


def test_proxmoxs_own_lines_are_kept_and_compared_only_when_named() -> None:
    have = Container(name="app", lxc=["lxc.init.cwd: /data", "lxc.signal.halt: SIGQUIT",
                                      "lxc.cap.drop: sys_time"])
    want = Container(name="app", lxc=["lxc.cgroup2.devices.allow: c 226:* rwm"], idmap=GPU)
    lines = rawlxc.lines_to_write(want, have)
    assert lines[:3] == ["lxc.init.cwd: /data", "lxc.signal.halt: SIGQUIT",
                         "lxc.cgroup2.devices.allow: c 226:* rwm"]
    assert lines[3:] == rawlxc.idmap_lines(GPU)
    assert rawlxc.compared_lines(want.lxc or [], have.lxc or []) == ["lxc.cap.drop: sys_time"]
    named = ["lxc.signal.halt: SIGTERM"]
    assert rawlxc.compared_lines(named, have.lxc or []) == ["lxc.signal.halt: SIGQUIT",
                                                            "lxc.cap.drop: sys_time"]
    # the spec leaves lxc unset: the observed lines stay, only the idmap is written
    only_map = Container(name="app", idmap=GPU)
    assert rawlxc.lines_to_write(only_map, have)[:3] == have.lxc


CONF = ("#notes\narch: amd64\nhostname: web\nlxc.init.cwd: /\nmemory: 512\n"
        "lxc.signal.halt: SIGTERM\n\n[pve:pending]\nmemory: 1024\n\n[snap1]\narch: amd64\n"
        "lxc.init.cwd: /\nsnaptime: 1\n")


@pytest.mark.parametrize(("conf", "lines", "expect"), [
    ("arch: amd64\nmemory: 512\n", ["lxc.a: 1"], "arch: amd64\nmemory: 512\nlxc.a: 1\n"),
    ("arch: amd64\nlxc.a: 1\n", [], "arch: amd64\n"),
    (CONF, ["lxc.init.cwd: /", "lxc.b: 2"],
     "#notes\narch: amd64\nhostname: web\nmemory: 512\nlxc.init.cwd: /\nlxc.b: 2\n\n"
     "[pve:pending]\nmemory: 1024\n\n[snap1]\narch: amd64\nlxc.init.cwd: /\nsnaptime: 1\n"),
])
def test_setting_the_raw_lines_of_a_config_file(conf: str, lines: list[str],
                                                expect: str) -> None:
    assert rawlxc.set_raw_lines(conf, lines) == expect


def test_doctor_lists_raw_lines_with_the_root_only_options() -> None:
    from pxrun.pve.config import root_only_options
    from pxrun.spec.model import Stack

    stack = Stack(stack="s", containers={"gpu": Container(name="gpu", idmap=GPU,
                                                           lxc=["lxc.cap.drop: sys_time"])})
    assert root_only_options(stack) == [
        "gpu: lxc (raw lxc lines: the config file, over node SSH)",
        "gpu: idmap (raw lxc lines: the config file, over node SSH)"]
