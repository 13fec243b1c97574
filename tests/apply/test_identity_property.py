"""Identity survives people, as a property (issue 13, specs/0081): whatever a person does
to a stack's containers in the GUI — replace the Notes (and the marker with them), remove
the tag, rename the host, stop it — the next plan never creates an entry whose container
still carries the tag. Against the simulator: the edits are made with plain proxmoxer,
then pxrun plans, applies, and must converge without a duplicate.

The only create the property allows is for a container that kept nothing of its identity
(Notes replaced, tag removed and hostname changed): no cheap or safe way can tell it from
a container someone made by hand.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxrun.plan.model import Action
from pxrun.pve.marker import split_description
from tests.apply.conftest import Stage, spec_text

NAMES = ("web", "db", "cache")
EDITS = st.fixed_dictionaries({
    name: st.frozensets(st.sampled_from(("notes", "untag", "rename", "stop")))
    for name in NAMES})


def _wait(px: Any, node: str, upid: str) -> None:
    while px.nodes(node).tasks(upid).status.get()["status"] != "stopped":
        pass  # each poll is a request; tasks run at 2% of their durations


def _containers(px: Any) -> list[dict[str, Any]]:
    """Every container: vmid, node, hostname, tags and the marker's name (or None)."""
    out = []
    for row in px.cluster.resources.get(type="vm"):
        config = px.nodes(row["node"]).lxc(row["vmid"]).config.get()
        marker = split_description(config.get("description"))[1]
        out.append({"vmid": row["vmid"], "node": row["node"], "hostname": config["hostname"],
                    "tags": str(config.get("tags", "")).split(";"),
                    "name": marker.name if marker else None})
    return out


def _edit(px: Any, ct: dict[str, Any], kinds: frozenset[str]) -> None:
    config: dict[str, str] = {}
    if "notes" in kinds:
        config["description"] = "typed in the GUI"
    if "untag" in kinds:
        config["delete"] = "tags"
    if "rename" in kinds:
        config["hostname"] = f"{ct['hostname']}-renamed"
    api = px.nodes(ct["node"]).lxc(ct["vmid"])
    if config:
        api.config.put(**config)
    if "stop" in kinds:
        _wait(px, ct["node"], api.status.stop.post())


def _repair(px: Any, ct: dict[str, Any], name: str) -> None:
    """What the plan's error hints ask a person to do: give back tag and hostname."""
    px.nodes(ct["node"]).lxc(ct["vmid"]).config.put(hostname=name, tags="pxrun-t")


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_gui_edits_never_create_a_duplicate(stage: Stage, edits: dict[str, frozenset[str]]
                                            ) -> None:
    px = stage.env.proxmoxer()
    stage.write(spec_text("".join(f"{n}: {{}}\n" for n in NAMES)))
    if stage.plan().has_changes:  # the first example builds the stack
        stage.apply()
    before = {c["name"]: c for c in _containers(px)}
    assert set(before) == set(NAMES)
    for name, kinds in edits.items():
        _edit(px, before[name], kinds)

    plan = stage.plan()
    created = {c.address for c in plan.changes
               if c.action is Action.CREATE or c.action.is_replace}
    tagged = {n for n, kinds in edits.items() if "untag" not in kinds}
    assert not created & tagged, (edits, created)
    lost = {n for n, kinds in edits.items() if {"notes", "untag", "rename"} <= kinds}
    assert created <= lost, (edits, created, [d.message for d in plan.diagnostics])

    if plan.errors:  # refused rather than guessed: a person follows the hints
        for name, kinds in edits.items():
            if kinds & {"notes", "rename"} and name not in lost:
                _repair(px, before[name], name)
        plan = stage.plan()
        assert not plan.errors, [d.message for d in plan.errors]
    stage.apply(plan)
    stage.assert_converged()

    after = _containers(px)
    for ct in after:
        if ct["vmid"] in {before[n]["vmid"] for n in lost}:  # unrecognisable: by hand
            api = px.nodes(ct["node"]).lxc(ct["vmid"])
            if api.status.current.get()["status"] == "running":
                _wait(px, ct["node"], api.status.stop.post())
            _wait(px, ct["node"], api.delete(purge=1))
    ours = [c for c in _containers(px) if c["name"] is not None]
    assert sorted(c["name"] for c in ours) == sorted(NAMES)  # one container per entry
    assert sorted(c["hostname"] for c in ours) == sorted(NAMES)
    assert all("pxrun-t" in c["tags"] for c in ours)
