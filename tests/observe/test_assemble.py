"""Recorded cluster-level answers -> NodeInfo, StorageInfo, GuestRef, bridges, templates; and
the ways a tagged container can fail to be ours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pxrun.observe.assemble import (
    build_container,
    live_status,
    parse_bridges,
    parse_resources,
    parse_templates,
)
from pxrun.observe.fetch import _template_sources
from pxrun.observe.model import GuestRef, ObservedContainer, Problem
from pxrun.pve.marker import Marker, join_description

FIXTURES = Path(__file__).parent / "fixtures" / "cluster"
RESOURCES = json.loads((FIXTURES / "resources.json").read_text())["data"]
NODE = json.loads((FIXTURES / "node_answers.json").read_text())


def test_resources() -> None:
    nodes, storages, guests = parse_resources(RESOURCES)
    assert list(nodes) == ["pve1", "pve2", "pve3"]
    pve1 = nodes["pve1"]
    assert (pve1.status, pve1.maxcpu, pve1.containers, pve1.guests) == ("online", 16, 2, 2)
    assert pve1.mem_free == 68719476736 - 4294967296
    assert nodes["pve3"].status == "offline" and not nodes["pve3"].online
    assert nodes["pve2"].containers == 1 and nodes["pve2"].guests == 2

    local = next(s for s in storages if s.node == "pve1" and s.storage == "local")
    assert (local.type, local.rootdir, local.shared, local.avail) == \
        ("dir", True, False, 107374182400 - 10737418240)
    assert "vztmpl" in local.content
    assert not next(s for s in storages if s.node == "pve3").active

    assert sorted(guests) == [101, 102, 103, 200, 900]
    assert guests[101].stack == "homelab" and guests[101].pool == "web"
    assert guests[101].tags == ("pxrun-homelab", "web")
    assert guests[103].stack is None and guests[103].lock == "backup"  # two stacks: ambiguous
    assert guests[200].type == "qemu" and guests[900].template


def test_template_sources_list_shared_storages_once() -> None:
    _, storages, _ = parse_resources(RESOURCES)
    assert _template_sources(storages, ["pve1", "pve2"]) == [
        (["pve1"], "local"), (["pve1", "pve2"], "nfs")]


def test_node_answers() -> None:
    assert live_status(NODE["lxc"]) == {101: "stopped", 900: "stopped"}
    bridges = parse_bridges("pve1", NODE["network"])
    assert [(b.iface, b.vlan_aware, b.active) for b in bridges] == [
        ("vmbr0", False, True), ("vmbr1", True, True), ("ovs0", False, False)]
    templates = parse_templates(["pve1", "pve2"], "nfs", NODE["templates"])
    assert [(t.node, t.filename) for t in templates] == [
        ("pve1", "debian-12-standard_12.7-1_amd64.tar.zst"),
        ("pve2", "debian-12-standard_12.7-1_amd64.tar.zst")]


_GUEST = GuestRef(vmid=101, node="pve1", type="lxc", tags=("pxrun-homelab",))


def _pending(description: str | None, **extra: Any) -> list[dict[str, Any]]:
    items = [{"key": "rootfs", "value": "local-lvm:vm-101-disk-0,size=8G"},
             {"key": "digest", "value": "d" * 40}]
    if description is not None:
        items.append({"key": "description", "value": description})
    items += [{"key": k, "value": v} for k, v in extra.items()]
    return items


def test_build_container_claims_only_with_our_marker() -> None:
    ours = join_description("", Marker(stack="homelab", name="web-1",
                                       extra={"template": "debian-12"}))
    item = build_container("homelab", _GUEST, _pending(ours), "running", cpus=4)
    assert isinstance(item, ObservedContainer)
    assert (item.name, item.status, item.digest) == ("web-1", "running", "d" * 40)
    assert item.current.template == "debian-12" and item.current.resources.cores == 4

    problem = build_container("homelab", _GUEST, _pending(
        join_description("x", Marker(stack="lab", name="a"))), "running")
    assert isinstance(problem, Problem) and "names stack 'lab'" in problem.message

    # Notes replaced in the GUI: no marker, but the tag is there: a stray for the planner
    for description in (None, "my own notes"):
        stray = build_container("homelab", _GUEST, _pending(description, hostname="web"),
                                "running")
        assert isinstance(stray, ObservedContainer)
        assert (stray.marked, stray.tagged, stray.name) == (False, True, "ct101")
        assert stray.current.hostname == "web"
        assert stray.current.description == (description or None)
    untagged = build_container("homelab", _GUEST, _pending(ours), "running", tagged=False)
    assert isinstance(untagged, ObservedContainer)
    assert (untagged.marked, untagged.tagged, untagged.name) == (True, False, "web-1")

    broken = build_container("homelab", _GUEST, _pending(ours, net0="bridge=vmbr0"), "stopped")
    assert isinstance(broken, Problem) and "cannot be read" in broken.message
    assert broken.name == "web-1"  # the planner must not plan a create for that name
