"""What observe reads for the Proxmox VE 9 fields: HA resources and rules, raw lines.

Pure parsers of recorded answers plus the questions the fetcher asks of the spec:
- HA resources (`GET /cluster/ha/resources`): once per plan, for every stack, because a
  container HA moved must never be migrated back by mistake, whether or not the spec
  manages its HA settings; HA rules (`GET /cluster/ha/rules`) when the spec has `ha_rules`.
- Raw `lxc.*` lines are not in `GET .../pending` (its answer leaves the `lxc` array out), so
  a container whose spec sets `lxc` or `idmap` costs one more request, `GET .../config`.
- `GET /version` when the spec uses a field of Proxmox VE 9 (image, ha, ha_rules), so the
  plan can say what needs which version before anything is tried.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pxrun.observe.model import HaRuleInfo
from pxrun.pve.values import parse_bool, split_list
from pxrun.spec.model import HaSettings, Stack

_HA_STATES = {"started", "stopped", "disabled", "ignored"}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def vmid_of_sid(sid: str) -> int | None:
    """`ct:101` -> 101; anything else (a VM, a malformed id) -> None."""
    kind, _, number = str(sid).partition(":")
    return int(number) if kind == "ct" and number.isdigit() else None


def parse_ha_resources(items: Iterable[Mapping[str, Any]]) -> dict[int, HaSettings]:
    """`GET /cluster/ha/resources` -> the containers' HA settings by vmid (`enabled` is
    Proxmox's alias of `started`)."""
    out: dict[int, HaSettings] = {}
    for item in items:
        vmid = vmid_of_sid(str(item.get("sid", "")))
        if vmid is None:
            continue
        state = str(item.get("state") or "started")
        state = "started" if state == "enabled" else state
        out[vmid] = HaSettings.model_validate({
            "state": state if state in _HA_STATES else "started",
            "max_restart": _int(item.get("max_restart")),
            "max_relocate": _int(item.get("max_relocate")),
            "failback": parse_bool(item["failback"]) if "failback" in item else None,
            "comment": item.get("comment") or None,
        })
    return dict(sorted(out.items()))


def parse_nodes(text: str) -> dict[str, int]:
    """`pve1:2,pve2` -> {pve1: 2, pve2: 0}."""
    out: dict[str, int] = {}
    for item in split_list(text):
        name, _, priority = item.partition(":")
        out[name] = int(priority) if priority.isdigit() else 0
    return out


def print_nodes(nodes: Mapping[str, int]) -> str:
    """{pve1: 2, pve2: 0} -> `pve1:2,pve2` (a priority of 0 is Proxmox's default)."""
    return ",".join(f"{n}:{p}" if p else n for n, p in nodes.items())


def parse_ha_rules(items: Iterable[Mapping[str, Any]]) -> dict[str, HaRuleInfo]:
    """`GET /cluster/ha/rules` -> every rule by id."""
    out: dict[str, HaRuleInfo] = {}
    for item in items:
        name = str(item.get("rule", ""))
        if not name:
            continue
        sids = split_list(str(item.get("resources", "")))
        vmids = tuple(v for s in sids if (v := vmid_of_sid(s)) is not None)
        nodes = item.get("nodes")
        out[name] = HaRuleInfo(
            rule=name, type=str(item.get("type", "")), vmids=vmids,
            others=tuple(s for s in sids if vmid_of_sid(s) is None),
            nodes=parse_nodes(str(nodes)) if nodes else None,
            strict=parse_bool(item.get("strict") or 0),
            affinity=str(item["affinity"]) if item.get("affinity") else None,
            disable=parse_bool(item.get("disable") or 0),
            comment=str(item["comment"]) if item.get("comment") else None)
    return dict(sorted(out.items()))


def uses_pve9(stack: Stack) -> bool:
    """Whether the spec uses a field that needs Proxmox VE 9 (9.0: HA rules; 9.1: images,
    `ha-managed`, `entrypoint`, `env`, host-managed networks)."""
    return stack.ha_rules is not None or any(
        ct.image is not None or ct.ha is not None or ct.entrypoint is not None or ct.env
        or any(net.host_managed for net in ct.networks.values())
        for ct in stack.containers.values())


def raw_names(stack: Stack) -> frozenset[str]:
    """Spec entries whose raw `lxc.*` lines are compared (they set `lxc` or `idmap`)."""
    return frozenset(name for name, ct in stack.containers.items()
                     if ct.lxc is not None or ct.idmap is not None)


def version_of(answer: Any) -> str | None:
    """`GET /version` -> `9.1.1` (None when the answer says nothing usable)."""
    if isinstance(answer, Mapping) and answer.get("version"):
        return str(answer["version"])
    return None
