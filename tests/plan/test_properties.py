"""Properties of the planner, over generated specs (hypothesis).

- A converged cluster plans nothing: plan(spec, observed_from(spec)) is all no-op.
- Plans are deterministic: same inputs (in any dict order) -> the same JSON plan.
- No generated spec crashes the planner, whatever the cluster looks like.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxrun.plan import PlanOptions, plan
from pxrun.plan.diff import essence_pair, field_diffs, matches_quickly, view
from pxrun.plan.model import Action
from pxrun.pve.config import canonical
from pxrun.spec.model import Stack
from tests.plan.builders import build_observed, build_stack, observed_from

NODES = {"pve1": {}, "pve2": {"mem_free_mib": 8192}}

_net = st.fixed_dictionaries(
    {"bridge": st.just("vmbr0")},
    optional={"ip": st.sampled_from(["dhcp", "10.0.0.5/24"]), "vlan": st.integers(1, 4094),
              "firewall": st.booleans(), "mtu": st.integers(576, 1500)})
_mount = st.fixed_dictionaries(
    {"volume": st.sampled_from(["local-lvm:8", "local-lvm:32"])},
    optional={"backup": st.booleans(), "read_only": st.booleans()})
_container = st.fixed_dictionaries({}, optional={
    "resources": st.fixed_dictionaries({}, optional={
        "cores": st.integers(1, 16), "memory": st.integers(16, 8192),
        "swap": st.integers(0, 4096), "disk": st.integers(1, 64),
        "cpulimit": st.sampled_from([0, 0.5, 2]), "cpuunits": st.integers(1, 10000)}),
    "tags": st.lists(st.sampled_from(["web", "Prod", "db", "x_1"]), max_size=3),
    "description": st.text(alphabet="ab \n#", max_size=12),
    "onboot": st.booleans(),
    "protection": st.booleans(),
    "startup": st.fixed_dictionaries({}, optional={"order": st.integers(0, 9),
                                                   "up": st.integers(0, 60)}),
    "features": st.fixed_dictionaries({}, optional={"nesting": st.booleans(),
                                                    "keyctl": st.booleans()}),
    "nameserver": st.lists(st.sampled_from(["1.1.1.1", "9.9.9.9"]), max_size=2),
    "timezone": st.sampled_from(["UTC", "host", "Europe/Berlin"]),
    "state": st.sampled_from(["running", "stopped"]),
    "node": st.sampled_from(["auto", "pve1", "pve2", ["pve1", "pve2"]]),
    "networks": st.dictionaries(st.sampled_from(["net0", "net1", "net3"]), _net, max_size=2),
    "mounts": st.dictionaries(st.sampled_from(["mp0", "mp2"]), _mount.map(
        lambda m: m), max_size=2),
    "provision": st.fixed_dictionaries({}, optional={
        "packages": st.lists(st.sampled_from(["nginx", "curl"]), max_size=2),
        "docker": st.booleans()}),
    "ssh_keys": st.lists(st.just("ssh-ed25519 AAAAC3Nz me@x"), max_size=1),
    "count": st.integers(1, 3),
})


def _with_paths(entry: dict[str, Any]) -> dict[str, Any]:
    mounts = {slot: {**m, "path": f"/srv/{slot}"} for slot, m in entry.get("mounts", {}).items()}
    return {**entry, "mounts": mounts} if mounts else entry


_stacks = st.dictionaries(st.sampled_from(["web", "db", "api", "cache"]), _container,
                          min_size=1, max_size=3).map(
    lambda cts: build_stack({"containers": {n: _with_paths(c) for n, c in cts.items()}}))
_options = st.builds(PlanOptions, mode=st.sampled_from(["normal", "destroy", "refresh-only"]),
                     restart=st.sampled_from(["auto", "never", "ask"]),
                     no_prune=st.booleans(), is_token=st.booleans())

_settings = settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(_stacks)
def test_a_converged_cluster_plans_nothing(stack: Stack) -> None:
    result = plan(stack, observed_from(stack, NODES))
    assert [c.address for c in result.changes if c.action is not Action.NO_OP] == []
    assert all(not c.operations for c in result.changes)
    assert result.errors == ()
    assert not result.has_changes
    drift = plan(stack, observed_from(stack, NODES), PlanOptions(mode="refresh-only"))
    assert drift.drift == ()
    observed = observed_from(stack, NODES)
    for name, desired in stack.containers.items():  # the full comparison agrees
        want, have = essence_pair(desired, observed.containers[name])
        assert field_diffs(view(have, None), view(want, None)) == []


@_settings
@given(_stacks, _options)
def test_plans_are_deterministic(stack: Stack, options: PlanOptions) -> None:
    observed = observed_from(stack, NODES)
    first = plan(stack, observed, options).model_dump(mode="json")
    shuffled = observed.model_copy(update={"containers": dict(reversed(
        observed.containers.items()))})
    reordered = Stack.model_validate({**stack.model_dump(), "containers": dict(reversed(
        stack.containers.items()))})
    again = plan(reordered, shuffled, options).model_dump(mode="json")
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)


@_settings
@given(_stacks, _stacks, _options)
def test_no_spec_crashes_the_planner(desired: Stack, other: Stack, options: PlanOptions) -> None:
    """The cluster holds `other`'s containers under `desired`'s stack: creates, updates,
    replaces, prunes, all mixed; the plan must come out JSON-able with addresses unique."""
    fragment = {"nodes": NODES, "containers": {name: {"spec": ct.model_dump()}
                                               for name, ct in other.containers.items()}}
    observed = build_observed(fragment, other)
    result = plan(desired, observed, options)
    json.dumps(result.model_dump(mode="json"))
    addresses = [c.address for c in result.changes]
    assert len(addresses) == len(set(addresses))
    for change in result.changes:
        if change.action is Action.NO_OP:
            assert change.operations == ()
    for name, container in desired.containers.items():  # the fast path is never wrong
        seen = observed.containers.get(name)
        if seen is not None and matches_quickly(canonical(container), seen):
            want, have = essence_pair(container, seen)
            assert field_diffs(view(have, None), view(want, None)) == []
