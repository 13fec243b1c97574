"""The replicas' copies (`pxrun.plan.replicas`) give the plan the ordinary creates give.

A property over generated stacks of containers alike but for their identity (names,
hostnames, vmids), with what could make a copy wrong: diagnostics (missing bridges and
storage, root-only options without node SSH, Docker without its features, an old
Proxmox), placement warnings and failures, templated provisioning files, secrets in
hostnames and values, HA, images. Each plan is made twice, with the copies and with every
create taking the ordinary path, and the JSON plans must be the same, byte for byte.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxrun.plan import PlanOptions, plan
from pxrun.plan.lifecycle import _placed_create
from pxrun.plan.model import Plan
from pxrun.plan.replicas import Replicas
from pxrun.render.jsonplan import dumps, plan_to_json
from tests.plan.builders import build_observed, build_stack

SECRET = "hunter2-secret"
TEMPLATE = "files/app.j2"
_body = st.fixed_dictionaries({}, optional={
    "resources": st.fixed_dictionaries({}, optional={
        "memory": st.sampled_from([512, 4096, 40000]), "disk": st.sampled_from([8, 900])}),
    "node": st.sampled_from(["auto", "pve1", "pve2", ["pve1", "pve2"], "pve3"]),
    "networks": st.dictionaries(st.just("net0"), st.fixed_dictionaries(
        {"bridge": st.sampled_from(["vmbr0", "vmbr9"])}, optional={"ip": st.just("dhcp")}),
        max_size=1),
    "mounts": st.dictionaries(st.just("mp0"), st.fixed_dictionaries(
        {"volume": st.sampled_from(["local-lvm:8", "nosuch:8"]), "path": st.just("/srv")}),
        max_size=1),
    "features": st.fixed_dictionaries({}, optional={"nesting": st.booleans(),
                                                    "keyctl": st.booleans()}),
    "hookscript": st.just("local:snippets/hook.pl"),
    "protection": st.booleans(),
    "description": st.sampled_from(["plain notes", f"token {SECRET}"]),
    "state": st.sampled_from(["running", "stopped"]),
    "ha": st.just({}),
    "lxc": st.just(["lxc.cgroup2.devices.allow: c 10:200 rwm"]),
    "password": st.just(SECRET + "-pw"),
    "provision": st.fixed_dictionaries({}, optional={
        "packages": st.just(["nginx"]), "docker": st.booleans(),
        "files": st.sampled_from([[{"dest": "/etc/motd", "content": "hi"}],
                                  [{"dest": "/etc/app", "template": TEMPLATE}]])}),
    "template": st.sampled_from(["debian-12", "alpine"]),
})
_member = st.fixed_dictionaries({}, optional={
    "hostname": st.sampled_from(["alpha", "beta", f"h-{SECRET}"]),
    "vmid": st.booleans(),  # a fixed one (each its own)
})


@st.composite
def _stacks(draw: st.DrawFn) -> dict[str, Any]:
    """Up to two groups of alike containers (a member may differ in its identity, or in
    one more field), in one spec fragment."""
    containers: dict[str, Any] = {}
    for group in draw(st.lists(st.sampled_from(["web", "db"]), min_size=1, max_size=2,
                               unique=True)):
        body = draw(_body)
        if "ha" in body:  # HA keeps the container in the state the spec asks for
            body["ha"] = {"state": "stopped" if body.get("state") == "stopped" else "started"}
        for i, member in enumerate(draw(st.lists(_member, min_size=1, max_size=5)), 1):
            fixed = {"vmid": 300 + len(containers)} if member.pop("vmid", False) else {}
            containers[f"{group}-{i}"] = {**body, **member, **fixed}
    return {"containers": containers}


_cluster = st.fixed_dictionaries({
    "nodes": st.sampled_from([
        {"pve1": {}, "pve2": {"mem_free_mib": 8192}},
        {"pve1": {"mem_total_mib": 6000}, "pve2": {"status": "offline"}},
        {"pve1": {}, "pve2": {}, "pve3": {"mem_free_mib": 2048}}]),
    "pve_version": st.sampled_from([None, "8.4.1", "9.1.2"]),
})
_options = st.fixed_dictionaries({
    "is_token": st.booleans(), "node_ssh_available": st.booleans(),
    "secrets": st.sampled_from([{}, {"secrets.key": SECRET}]),
})


@contextlib.contextmanager
def _ordinary() -> Iterator[None]:
    """Every create takes the ordinary path: no container has a shape."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Replicas, "shape", lambda self, desired, secrets: None)
        yield


def _both(fragment: dict[str, Any], cluster: dict[str, Any],
          options: dict[str, Any]) -> tuple[Plan, Plan]:
    stack = build_stack(fragment)
    observed = build_observed(cluster, stack)
    opts = PlanOptions(**options, file_sources={
        TEMPLATE: b"name={{ container.name }} host={{ container.hostname }}\n"})
    fast = plan(stack, observed, opts)
    with _ordinary():
        ordinary = plan(stack, observed, opts)
    return fast, ordinary


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_stacks(), _cluster, _options)
def test_copies_and_ordinary_creates_make_the_same_plan(
        fragment: dict[str, Any], cluster: dict[str, Any], options: dict[str, Any]) -> None:
    fast, ordinary = _both(fragment, cluster, options)
    assert dumps(plan_to_json(fast)) == dumps(plan_to_json(ordinary))
    assert fast == ordinary


def _group(body: dict[str, Any], *members: dict[str, Any]) -> dict[str, Any]:
    return {"containers": {f"web-{i}": {**body, **member}
                           for i, member in enumerate(members, 1)}}


ONE_NODE = {"nodes": {"pve1": {}}}
CASES = {  # what could make a copy wrong, each for sure (the property draws them rarely)
    "templated files see the name": (_group(
        {"provision": {"files": [{"dest": "/etc/app", "template": TEMPLATE}]}}, {}, {}, {}),
        ONE_NODE, {"node_ssh_available": True}),
    "a secret in a replica's hostname": (_group(
        {}, {"hostname": "plain"}, {"hostname": f"h-{SECRET}"}, {"hostname": "also-plain"}),
        ONE_NODE, {"secrets": {"secrets.key": SECRET}}),
    "a warning that names the container": (_group(
        {"provision": {"docker": True}}, {}, {}, {}), ONE_NODE, {"node_ssh_available": True}),
    "errors that do not name it": (_group(
        {"networks": {"net0": {"bridge": "vmbr9"}}, "hookscript": "local:snippets/hook.pl",
         "mounts": {"mp0": {"volume": "nosuch:8", "path": "/srv"}}}, {}, {}, {}),
        ONE_NODE, {"is_token": True}),
    "fixed vmids and hostnames": (_group(
        {}, {"vmid": 301, "hostname": "a"}, {"vmid": 302, "hostname": "b"}, {"vmid": 303}),
        ONE_NODE, {}),
    "a pinned node runs short": (_group(
        {"node": "pve1", "resources": {"memory": 3000}}, {}, {}, {}),
        {"nodes": {"pve1": {"mem_total_mib": 7000}}}, {}),
    "the nodes fill up": (_group(
        {"resources": {"memory": 3000}}, {}, {}, {}, {}, {}),
        {"nodes": {"pve1": {"mem_total_mib": 7000}, "pve2": {"mem_total_mib": 4000}}}, {}),
    "HA and raw lines": (_group(
        {"ha": {"state": "started"}, "lxc": ["lxc.cgroup2.devices.allow: c 10:200 rwm"]},
        {}, {}, {}), {**ONE_NODE, "pve_version": "9.1.2"}, {"node_ssh_available": True}),
    "application containers": (_group(
        {"image": "docker.io/library/nginx:1.27", "env": {"A": "1"}}, {}, {}, {}),
        {**ONE_NODE, "pve_version": "9.1.2"}, {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_risk_makes_the_ordinary_plan(name: str) -> None:
    fast, ordinary = _both(*CASES[name])
    assert dumps(plan_to_json(fast)) == dumps(plan_to_json(ordinary))
    assert fast == ordinary


def test_replicas_are_copied() -> None:
    """Ten replicas on two nodes: two ordinary creates (one per node), eight copies, the
    same plan as ten ordinary creates, the errors of each create reported for each."""
    fragment = {"containers": {f"web-{i}": {"provision": {"packages": ["nginx"]}}
                               for i in range(1, 11)}}
    cluster = {"nodes": {"pve1": {}, "pve2": {}}}
    made: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        def counted(ctx: Any, desired: Any, want: Any, placement: Any) -> Any:
            made.append(desired.name)
            return _placed_create(ctx, desired, want, placement)
        patch.setattr("pxrun.plan.lifecycle._placed_create", counted)
        fast, ordinary = _both(fragment, cluster, {"node_ssh_available": False})
    assert made[:2] == ["web-1", "web-2"] and len(made) == 12  # 2 copied from, 10 ordinary
    assert dumps(plan_to_json(fast)) == dumps(plan_to_json(ordinary))
    assert [d.address for d in fast.errors] == [f"web-{i}" for i in range(1, 11)]
