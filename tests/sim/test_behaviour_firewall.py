"""A container's firewall through plain proxmoxer: options, ordered rules, IP sets, aliases
and references, with pve-firewall's refusals."""

from __future__ import annotations

from typing import Any

import pytest
from proxmoxer.core import ResourceException

from tests.sim.test_behaviour_lifecycle import create, wait


def test_options_rules_ipsets_aliases(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 101)
    fw = prox.nodes("pve1").lxc(101).firewall
    assert {i["name"] for i in fw.get()} >= {"rules", "options", "ipset", "aliases"}
    fw.options.put(enable=1, policy_in="DROP")
    options = fw.options.get()
    assert (options["enable"], options["policy_in"]) == (1, "DROP")
    with pytest.raises(ResourceException, match="detected modified configuration"):
        fw.options.put(enable=0, digest="0" * 40)
    fw.aliases.post(name="office", cidr="192.0.2.0/24", comment="HQ")
    fw.ipset.post(name="admins", comment="admin hosts")
    fw.ipset("admins").post(cidr="198.51.100.7")
    fw.rules.post(type="in", action="ACCEPT", dport="22", proto="tcp", source="+admins",
                  enable=1)
    fw.rules.post(type="in", action="ACCEPT", dport="80,443", proto="tcp", source="office",
                  enable=1)  # inserted at position 0
    rules = fw.rules.get()
    assert [r["dport"] for r in rules] == ["80,443", "22"] and rules[1]["pos"] == 1
    fw.rules(1).put(moveto=0)
    assert [r["dport"] for r in fw.rules.get()] == ["22", "80,443"]
    with pytest.raises(ResourceException) as unknown:
        fw.rules.post(type="in", action="ACCEPT", source="+nope")
    assert unknown.value.errors == {"source": "no such ipset 'nope'"}
    with pytest.raises(ResourceException, match="IPSet 'admins' is not empty"):
        fw.ipset("admins").delete()
    refs = {(r["type"], r["ref"]) for r in fw.refs.get()}
    assert refs == {("alias", "office"), ("ipset", "+admins")}
    assert fw.log.get() == []


def test_a_clone_copies_the_firewall_and_destroy_drops_it(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    create(prox, 102)
    prox.nodes("pve1").lxc(102).firewall.rules.post(type="in", action="DROP", enable=1)
    assert wait(prox, "pve1", prox.nodes("pve1").lxc(102).clone.post(newid=202))[
        "exitstatus"] == "OK"
    assert len(prox.nodes("pve1").lxc(202).firewall.rules.get()) == 1
    assert wait(prox, "pve1", prox.nodes("pve1").lxc(102).delete())["exitstatus"] == "OK"
    create(prox, 102)
    assert prox.nodes("pve1").lxc(102).firewall.rules.get() == []
