"""High availability: HA resources, PVE 9 rules, the requests the API hands to the HA
manager, and recovery of containers whose node went offline.

Kept in the cluster document (`sim.extra["ha"]`: `resources`, `rules`, `offline_since`). As in
pve-ha-manager, the API never starts or stops an HA-managed container itself: `start`, `stop`,
`shutdown` and `migrate` fork `hastart`/`hastop`/`hamigrate` tasks that only record the
request (`Requesting HA start for CT 101`); the local resource manager then runs the real
`vzstart`/`vzstop`/`vzmigrate` as root@pam. When a node stays unreachable for the fence delay
(`settings.task_duration("hafence")`), its HA containers are recovered on the online node the
rules prefer (node affinity: strict or by priority; negative resource affinity keeps
containers apart) — only those whose volumes are all on shared storage, as a real recovery
needs; the others wait in state `error`. `tick()` does this; the dispatcher calls it before
each request, so time passing and node failures are noticed without a background thread.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from pxrun.sim.formats import split_list

if TYPE_CHECKING:
    from pxrun.sim.containers import Container
    from pxrun.sim.state import Simulator

RESOURCE_DEFAULTS = {"state": "started", "max_restart": 1, "max_relocate": 1, "failback": 1}


def data(sim: Simulator) -> dict[str, Any]:
    ha: dict[str, Any] = sim.extra.setdefault(
        "ha", {"resources": {}, "rules": {}, "offline_since": {}})
    return ha


def sid_of(value: str) -> str:
    """`101` or `ct:101` → `ct:101` (containers only: there are no VMs)."""
    return value if ":" in value else f"ct:{value}"


def vmid_of(sid: str) -> int:
    return int(sid.split(":", 1)[1])


def resource(sim: Simulator, vmid: int) -> dict[str, Any] | None:
    found: dict[str, Any] | None = data(sim)["resources"].get(f"ct:{vmid}")
    return found


def managed(sim: Simulator, vmid: int) -> bool:
    found = resource(sim, vmid)
    return found is not None and found.get("state") != "ignored"


def state_of(item: dict[str, Any]) -> str:
    state = str(item.get("state", "started"))
    return "started" if state == "enabled" else state


def parse_nodes(text: str) -> dict[str, int]:
    """`pve1:2,pve2` → {pve1: 2, pve2: 0}: a node-affinity rule's nodes and priorities."""
    out: dict[str, int] = {}
    for item in split_list(text):
        name, _, prio = item.partition(":")
        out[name] = int(prio) if prio else 0
    return out


def choose_node(sim: Simulator, sid: str, current: str | None) -> str | None:
    """Where the rules want a resource among the online nodes (None: nowhere allowed)."""
    online = [n for n in sim.nodes if sim.node_online(n)]
    candidates = dict.fromkeys(online, 0)
    for rule in data(sim)["rules"].values():
        if rule.get("disable") or sid not in split_list(str(rule.get("resources", ""))):
            continue
        if rule.get("type") == "node-affinity":
            prios = parse_nodes(str(rule.get("nodes", "")))
            allowed = {n: p for n, p in prios.items() if n in candidates}
            if allowed:
                top = max(allowed.values())
                candidates = {n: p for n, p in allowed.items() if p == top}
            elif rule.get("strict"):
                candidates = {}
        elif rule.get("type") == "resource-affinity" and rule.get("affinity") == "negative":
            others = [s for s in split_list(str(rule.get("resources", ""))) if s != sid]
            taken = {ct.node for s in others
                     if (ct := sim.containers.get(vmid_of(s))) is not None}
            candidates = {n: p for n, p in candidates.items() if n not in taken} or (
                {} if rule.get("strict") else candidates)
    if not candidates:
        return None
    if current in candidates:
        return current
    counts = {n: sum(1 for ct in sim.containers.values() if ct.node == n) for n in candidates}
    return min(candidates, key=lambda n: (counts[n], n))


def _shared_only(sim: Simulator, ct: Container) -> bool:
    for volid in ct.volumes():
        sdef = sim.storages.defs.get(volid.split(":", 1)[0])
        if sdef is None or not sdef.shared:
            return False
    return True


def tick(sim: Simulator) -> None:
    """Notice offline nodes and, after the fence delay, recover their HA containers."""
    ha = sim.extra.get("ha")
    if not ha or not ha.get("resources"):
        return
    now = time.time()
    since: dict[str, float] = ha.setdefault("offline_since", {})
    changed = False
    for node in sim.nodes:
        if sim.node_online(node):
            if node in since:
                del since[node]
                changed = True
        elif node not in since:
            since[node] = now
            changed = True
    delay = sim.settings.task_duration("hafence")
    for sid, item in sorted(ha["resources"].items()):
        ct = sim.containers.get(vmid_of(sid))
        if ct is None or ct.node not in since or state_of(item) in ("ignored", "disabled"):
            continue
        if now - since[ct.node] < delay:
            continue
        target = choose_node(sim, sid, None)
        if target is None or not _shared_only(sim, ct):
            if item.get("crm_state") != "error":
                item["crm_state"] = "error"
                changed = True
            continue
        _recover(sim, ct, sid, item, target)
        changed = True
    if changed:
        sim.commit()


def _recover(sim: Simulator, ct: Container, sid: str, item: dict[str, Any], target: str) -> None:
    from pxrun.sim.handlers.power import do_start

    fenced = ct.node
    ct.set_status("stopped")
    ct.pid = None
    ct.conf.pop("lock", None)
    ct.node = target
    item["crm_state"] = "started" if state_of(item) == "started" else "stopped"
    item["recovered_from"] = fenced

    def work(ctx: Any) -> None:
        ctx.log(f"recover service '{sid}' from fenced node '{fenced}' to node '{target}'")
        if state_of(item) == "started":
            do_start(ctx, ct)

    sim.tasks.start(target, "vzstart" if state_of(item) == "started" else "harecover",
                    str(ct.vmid), "root@pam", work)


def remove_references(sim: Simulator, vmid: int) -> None:
    """`purge`: drop the resource and its mentions in rules (rules left empty go too)."""
    ha = data(sim)
    sid = f"ct:{vmid}"
    ha["resources"].pop(sid, None)
    for name, rule in list(ha["rules"].items()):
        left = [s for s in split_list(str(rule.get("resources", ""))) if s != sid]
        if not left:
            del ha["rules"][name]
        else:
            rule["resources"] = ",".join(left)


SID_RE = re.compile(r"^(?:(ct|vm):)?(\d+)$")
