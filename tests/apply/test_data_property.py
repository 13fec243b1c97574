"""The data-safety property (issue 11): after any sequence of plans and applies without
`discard`, no data volume's content is ever lost.

Random stacks of containers with volume mount points go through random spec changes: ones
that replace (unprivileged, a smaller root disk, with or without create_before_destroy),
migrate (node), move volumes (storage), grow them, drop and add mount points, and need a
restart (timezone). Files are written into the mount points through `pct exec` on the
simulator's node endpoint. After every apply, each file ever written is still in some volume
of the stack, with its content; a file in a mount point the spec kept all along is still
visible at its path inside the container. A plan with errors (a volume that would shrink)
is not applied, as the CLI would not apply it.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pxrun.sim.rootfs import volume_dir
from tests.apply.conftest import spec_text
from tests.apply.nodestage import NodeStage

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NAMES = ("a", "b")
SLOTS = ("mp0", "mp1")

mount = st.tuples(st.sampled_from(["local-lvm", "nfs-shared"]), st.sampled_from([1, 2]))
container = st.fixed_dictionaries({
    "mounts": st.dictionaries(st.sampled_from(SLOTS), mount, max_size=2),
    "unprivileged": st.booleans(),
    "disk": st.sampled_from([4, 5]),
    "node": st.sampled_from(["pve1", "pve2"]),
    "first": st.booleans(),
    "timezone": st.sampled_from(["UTC", "Europe/Berlin"]),
})
stack = st.fixed_dictionaries(dict.fromkeys(NAMES, container))


def render(spec: dict[str, Any]) -> str:
    out = []
    for name, ct in spec.items():
        mounts = ", ".join(f"{slot}: {{volume: '{storage}:{size}', path: /srv/{slot}}}"
                           for slot, (storage, size) in sorted(ct["mounts"].items()))
        out.append(f"{name}: {{node: {ct['node']}, unprivileged: "
                   f"{str(ct['unprivileged']).lower()}, timezone: {ct['timezone']}, "
                   f"resources: {{disk: {ct['disk']}}}, mounts: {{{mounts}}}, lifecycle: "
                   f"{{create_before_destroy: {str(ct['first']).lower()}}}}}")
    return "\n".join(out) + "\n"


@dataclass
class Ledger:
    """Every file written: where it must still be visible, and its content."""

    kept: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    all: dict[str, str] = field(default_factory=dict)  # file name -> content
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def write_all(self, stage: NodeStage, spec: dict[str, Any]) -> None:
        for name, ct in spec.items():
            for slot in ct["mounts"]:
                token = f"f{next(self.counter)}"
                content = f"{name}/{slot}/{token}"
                stage.put_file(name, f"/srv/{slot}/{token}.txt", content)
                self.kept.setdefault((name, slot), {})[token] = content
                self.all[token] = content

    def forget_dropped(self, spec: dict[str, Any]) -> None:
        """A mount point the spec dropped: its files live on in an unused disk only."""
        for name, slot in list(self.kept):
            if slot not in spec[name]["mounts"]:
                del self.kept[(name, slot)]

    def check(self, stage: NodeStage, stack_name: str, spec: dict[str, Any]) -> None:
        found = _files_in_volumes(stage, stack_name)
        for token, content in self.all.items():
            assert found.get(token) == content, f"{token} lost (have {sorted(found)})"
        for (name, slot), files in self.kept.items():
            seen = stage.sh(name, f"cat /srv/{slot}/*.txt 2>/dev/null; true")
            for content in files.values():
                assert content in seen, f"{content} not at /srv/{slot} of {name}"


def _files_in_volumes(stage: NodeStage, stack_name: str) -> dict[str, str]:
    """token -> content of every file in every volume of the stack's containers."""
    sim = stage.runtime.sim
    assert sim is not None
    state: Path = stage.runtime.state_dir
    out: dict[str, str] = {}
    with sim.lock:
        volids = [vol for ct in sim.containers.values()
                  if f"pxrun-{stack_name}" in str(ct.conf.get("tags", ""))
                  for key, value in ct.conf.items() if key.startswith(("mp", "unused"))
                  for vol in [str(value).split(",", 1)[0]]]
    for volid in volids:
        for path in volume_dir(state, volid).glob("*.txt"):
            out[path.stem] = path.read_text()
    return out


def _step(stage: NodeStage, text: str) -> bool:
    """Plan and apply `text`; False when the plan has errors (then nothing is applied)."""
    stage.write(text)
    started = time.monotonic()
    plan = stage.plan()
    if plan.errors:
        assert all("cannot shrink" in e.message for e in plan.errors), plan.errors
        return False
    # Many examples use up the simulator's DHCP pool (leases outlive their containers):
    # waiting for an address is not what this property is about.
    summary = stage.apply(plan, timeouts={"ip": 2})
    if os.environ.get("PXRUN_DATA_TRACE"):
        print(f"{time.monotonic() - started:6.1f} s", [(r.address, r.action, r.steps_done)
                                                       for r in summary.results])
    assert summary.ok, [(r.address, r.error) for r in summary.results if r.error]
    return True


STACKS = itertools.count()
APPLIED: list[str] = []  # steps applied (not refused by a plan error), for -s runs


# PXRUN_DATA_EXAMPLES=N runs more examples; PXRUN_DATA_NOSHRINK=1 reports a failing one as
# found (shrinking real applies takes many minutes).
@settings(max_examples=int(os.environ.get("PXRUN_DATA_EXAMPLES", "4")), deadline=None,
          derandomize=True, phases=[p for p in Phase if not (
              p is Phase.shrink and os.environ.get("PXRUN_DATA_NOSHRINK"))],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first=stack, changes=st.lists(stack, min_size=2, max_size=2))
def test_no_data_is_lost_without_discard(node_stage: NodeStage, first: dict[str, Any],
                                         changes: list[dict[str, Any]]) -> None:
    name = f"p{next(STACKS)}"
    ledger = Ledger()
    assert _step(node_stage, spec_text(render(first), stack=name))
    ledger.write_all(node_stage, first)
    for spec in changes:
        if _step(node_stage, spec_text(render(spec), stack=name)):
            APPLIED.append(name)
            ledger.forget_dropped(spec)
            ledger.check(node_stage, name, spec)
            node_stage.assert_converged(node_ssh_available=True)
            ledger.write_all(node_stage, spec)
    # clean up for the next example (destroy mode may destroy data: it is asked to)
    node_stage.write(spec_text(render(first), stack=name))
    assert node_stage.apply(node_stage.plan(mode="destroy")).ok
