"""`observe_cluster`: read the live cluster for one stack at a cost of N + c·k + 1 requests.

- one `GET cluster/resources` (no type filter): nodes with CPU and memory, storages with
  content and capacity, every guest with node, tags, pool and lock;
- per online node: `GET nodes/{n}/lxc` (the live power state; resources lag ~10 s) and,
  for cluster facts, `GET nodes/{n}/network?type=any_bridge` plus one template listing per
  local template storage (shared storages are listed once for all nodes);
- per container carrying the stack's tag: one `GET nodes/{n}/lxc/{vmid}/pending` (current
  and pending value of every key, and the digest); the same for a container without any
  pxrun tag whose hostname is one the spec asks for (its tag may have been removed in the
  GUI: our marker then still names it) and for each container `pxrun import` adopts.

All but the first request go out together over a bounded thread pool, so the wall time is
about two round trips plus N / workers. A node that does not answer makes its containers
*unknown*, never absent. Requests are thin; making sense of the answers is `assemble.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pxrun.connect.client import ProxmoxClient
from pxrun.errors import ApiError, NotFoundError, UnreachableError
from pxrun.observe.assemble import (
    build_container,
    live_status,
    parse_bridges,
    parse_catalog,
    parse_resources,
    parse_templates,
)
from pxrun.observe.model import (
    GuestRef,
    HaRuleInfo,
    NodeInfo,
    Observed,
    ObservedContainer,
    PowerState,
    Problem,
    StorageInfo,
    TemplateInfo,
)
from pxrun.observe.pve9 import (
    parse_ha_resources,
    parse_ha_rules,
    raw_names,
    uses_pve9,
    version_of,
)
from pxrun.pve.marker import TAG_PREFIX, stack_tag
from pxrun.pve.rawlxc import RAW_KEY
from pxrun.spec.model import HaSettings, Stack

DEFAULT_WORKERS = 32  # matches pxrun.connect.client.DEFAULT_POOL_SIZE


def observe_cluster(client: ProxmoxClient, stack: str | Stack, *,
                    workers: int = DEFAULT_WORKERS, facts: bool = True,
                    adopt: Collection[int] = (), memo: ParseMemo | None = None) -> Observed:
    """The cluster as the planner needs it for `stack`.

    `facts=False` skips bridges and templates (for drift checks that never create).
    `adopt`: vmids of containers to read although they carry no tag of the stack (`pxrun
    import`); they come back as strays unless our marker names them already.
    `memo`: a caller that observes again and again (`pxrun watch`) keeps one, so an answer
    identical to last time's is not parsed again.
    API errors other than an unreachable node or a vanished container propagate.
    """
    name = stack if isinstance(stack, str) else stack.stack
    before = _request_count(client)
    nodes, storages, guests = parse_resources(client.get("cluster/resources"))
    online = [n for n, info in nodes.items() if info.online]
    tag = stack_tag(name)
    claimed = [g for g in guests.values() if g.type == "lxc" and tag in g.tags]
    reachable = [g for g in claimed if g.node in online]
    unknown = [g for g in claimed if g.node not in online]
    adopting = set(adopt)
    untagged = _untagged_candidates(guests, stack, adopting, set(online), tag)
    reachable = sorted([*reachable, *untagged], key=lambda g: g.vmid)

    spec = stack if isinstance(stack, Stack) else None
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="observe") as pool:
        def submit(path: str, **params: Any) -> Future[Any]:
            return pool.submit(_get_or_error, client.get, path, params)

        def ask(path: str) -> Future[Any]:  # answers that may be refused (rights, 8.4: 501)
            return pool.submit(_get_or_api_error, client.get, path)

        ha_asked = {"resources": ask("cluster/ha/resources")} if spec is not None else {}
        if spec is not None and spec.ha_rules is not None:
            ha_asked["rules"] = ask("cluster/ha/rules")
        version = ask("version") if spec is not None and uses_pve9(spec) else None
        lists = {n: submit(f"nodes/{n}/lxc") for n in online}
        configs = {g.vmid: submit(f"nodes/{g.node}/lxc/{g.vmid}/pending") for g in reachable}
        bridges = {n: submit(f"nodes/{n}/network", type="any_bridge") for n in online} \
            if facts else {}
        catalogs = {n: submit(f"nodes/{n}/aplinfo") for n in online} if facts else {}
        listings = [(owners, st, submit(f"nodes/{owners[0]}/storage/{st}/content",
                                        content="vztmpl"))
                    for owners, st in _template_sources(storages, online)] if facts else []

        live: dict[int, PowerState] = {}
        for future in lists.values():
            answer = _result(future)
            if isinstance(answer, list):
                live.update(live_status(answer))
        ha = _ha_answers(ha_asked)
        seen = _Seen(name, adopting, nodes, memo, ha.resources or {})
        for guest in reachable:
            seen.take(guest, _result(configs[guest.vmid]), live)
        if spec is not None:  # raw lxc.* lines: only in GET config (specs/0100)
            _raw_lines(seen, raw_names(spec), {g.vmid: g for g in reachable}, configs,
                       live, submit)
        lost = _lost(stack, seen)
        if lost:  # a tag removed *and* a hostname changed: only the marker can tell
            rest = [g for g in guests.values() if g.type == "lxc" and not g.template
                    and g.node in online and g.vmid not in configs
                    and not any(t.startswith(TAG_PREFIX) for t in g.tags)]
            more = {g.vmid: submit(f"nodes/{g.node}/lxc/{g.vmid}/pending") for g in rest}
            for guest in rest:
                seen.take(guest, _result(more[guest.vmid]), live, only=lost)
        seen.settle()
        if memo is not None:
            memo.keep(configs.keys() | (more.keys() if lost else set()))
        unknown.extend(seen.unknown)
        bridge_infos = tuple(b for n, f in bridges.items()
                             if not isinstance(r := _result(f), Exception)
                             for b in parse_bridges(n, r))
        catalog = tuple(e for n, f in catalogs.items()
                        if not isinstance(r := _result(f), Exception)
                        for e in parse_catalog(n, r))
        templates: list[TemplateInfo] = []
        for owners, st, future in listings:
            answer = _result(future)
            if not isinstance(answer, Exception):
                templates.extend(parse_templates(owners, st, answer))

    after = _request_count(client)
    return Observed(
        stack=name, nodes=nodes, storages=storages,
        templates=tuple(templates), bridges=bridge_infos, catalog=catalog, guests=guests,
        containers=dict(sorted(seen.found.items())), strays=tuple(seen.strays),
        unknown=tuple(sorted(unknown, key=lambda g: g.vmid)), problems=tuple(seen.problems),
        stale=tuple(sorted(seen.stale, key=lambda c: c.vmid)),
        requests=(after - before) if before is not None and after is not None else 0,
        ha_resources=ha.resources, ha_rules=ha.rules, ha_problem=ha.problem,
        pve_version=version_of(_result(version)) if version is not None else None)


class ParseMemo:
    """The container built from each vmid's last `/pending` answer, for observers that
    look again and again (`pxrun watch`): parsing a config into the spec's model is most of
    observe's own work once the requests are made, and an unchanged cluster answers the
    same every time. Keyed by everything `build_container` reads, the answer included, so
    a changed config, status, tag or node is parsed afresh; one entry per vmid seen in the
    last observation, so it never grows with time."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[Hashable, ObservedContainer | Problem]] = {}

    def build(self, stack: str, guest: GuestRef, answer: Any, status: PowerState, *,
              cpus: int | None, tagged: bool,
              ha: HaSettings | None = None) -> ObservedContainer | Problem:
        key = _answer_key(answer)
        if key is None:
            return build_container(stack, guest, answer, status, cpus=cpus, tagged=tagged,
                                   ha=ha)
        full = (stack, guest, status, cpus, tagged, ha, key)
        hit = self._last.get(guest.vmid)
        if hit is not None and hit[0] == full:
            return hit[1]
        item = build_container(stack, guest, answer, status, cpus=cpus, tagged=tagged,
                               ha=ha)
        self._last[guest.vmid] = (full, item)
        return item

    def keep(self, vmids: Collection[int]) -> None:
        """Forget the vmids the last observation did not read."""
        for vmid in self._last.keys() - set(vmids):
            del self._last[vmid]


def _answer_key(answer: Any) -> Hashable | None:
    """A `/pending` answer as a hashable value (None when it is not the usual list of flat
    objects: then it is simply parsed every time)."""
    if not isinstance(answer, list):
        return None
    try:
        key = tuple(tuple(sorted(item.items())) for item in answer)
        hash(key)
    except (AttributeError, TypeError):
        return None
    return key


class _Seen:
    """What the `/pending` answers add up to: containers by marker name, strays, problems,
    and tagged containers whose config could not be read (unknown)."""

    def __init__(self, stack: str, adopting: set[int], nodes: dict[str, NodeInfo],
                 memo: ParseMemo | None, ha: dict[int, HaSettings] | None = None) -> None:
        self.stack, self.adopting, self.nodes, self.memo = stack, adopting, nodes, memo
        self.ha = ha or {}
        self.tag = stack_tag(stack)
        self.found: dict[str, ObservedContainer] = {}
        self.strays: list[ObservedContainer] = []
        self.problems: list[Problem] = []
        self.unknown: list[GuestRef] = []
        self.claims: dict[str, list[ObservedContainer]] = {}  # further claimants of a name
        self.stale: list[ObservedContainer] = []

    def take(self, guest: GuestRef, answer: Any, live: dict[int, PowerState], *,
             only: frozenset[str] | None = None, again: bool = False) -> None:
        """One answer. A container without our tag counts only when our marker names it
        (or it is to be adopted); with `only`, only when the marker names one of those.
        `again`: a fuller answer for a container taken before (its raw lines added)."""
        tagged = self.tag in guest.tags
        wanted = tagged or guest.vmid in self.adopting
        if isinstance(answer, Exception):
            if wanted:
                self.unknown.append(guest)
                self.problems.append(Problem(vmid=guest.vmid, node=guest.node,
                                             message=f"its config could not be read: {answer}"))
            return
        status = live.get(guest.vmid) or _lagging_status(guest)
        build = self.memo.build if self.memo is not None else build_container  # (a one-off
        # observation has nothing to remember: no key to compute)
        item = build(self.stack, guest, answer, status, cpus=self.nodes[guest.node].maxcpu,
                     tagged=tagged, ha=self.ha.get(guest.vmid))
        if again and not isinstance(item, Problem):
            if item.marked and self.found.get(item.name, item).vmid == item.vmid:
                self.found[item.name] = item
            else:
                self.strays = [item if s.vmid == item.vmid else s for s in self.strays]
            return
        if not wanted and (isinstance(item, Problem) or not item.marked):
            return  # found by hostname or by the scan, and not ours: the planner sees the guest
        if only is not None and (isinstance(item, Problem) or item.name not in only):
            return
        if isinstance(item, Problem):
            self.problems.append(item)
        elif not item.marked:
            self.strays.append(item)
        elif item.name in self.found:
            self.claims.setdefault(item.name, []).append(item)
        else:
            self.found[item.name] = item

    def settle(self) -> None:
        """Names claimed by more than one container. When the markers tell the generations
        apart (a copy recreated after its node was lost names the copy it replaced), the
        one no other names is the container and the rest are stale; otherwise every
        further claimant is a problem, left alone."""
        for name, more in sorted(self.claims.items()):
            claimants = [self.found[name], *more]
            replaced = {c.recreates.vmid for c in claimants if c.recreates is not None}
            live = [c for c in claimants if c.vmid not in replaced]
            if len(live) == 1:
                self.found[name] = live[0]
                self.stale.extend(c for c in claimants if c.vmid in replaced)
                continue
            for item in more:
                self.problems.append(Problem(
                    vmid=item.vmid, node=item.node, name=item.name,
                    message=f"a second container claims the name {item.name!r} (also vmid "
                            f"{self.found[item.name].vmid}); pxrun leaves it alone"))
        self.claims.clear()


def _lost(stack: str | Stack, seen: _Seen) -> frozenset[str]:
    """Spec entries no marker and no stray accounts for: before planning a create for one,
    every container without a pxrun tag is read once, since its tag may have been removed
    and its hostname changed in the GUI (specs/0081). Empty when nothing is missing."""
    if isinstance(stack, str):
        return frozenset()
    hosts = {s.current.hostname.lower() for s in seen.strays}
    vmids = {s.vmid for s in seen.strays} | {p.vmid for p in seen.problems}
    names = {p.name for p in seen.problems if p.name}
    return frozenset(name for name, ct in stack.containers.items()
                     if name not in seen.found and name not in names
                     and ct.hostname.lower() not in hosts and ct.vmid not in vmids)


def _untagged_candidates(guests: dict[int, GuestRef], stack: str | Stack, adopt: set[int],
                         online: set[str], tag: str) -> list[GuestRef]:
    """Containers without the stack's tag that may still be ours: each one to adopt, and
    each one without any pxrun tag whose hostname the spec asks for (cheap: resources
    names every guest, so usually none is read)."""
    hostnames = set() if isinstance(stack, str) else {
        ct.hostname.lower() for ct in stack.containers.values()}
    return [g for g in guests.values()
            if g.type == "lxc" and not g.template and g.node in online and tag not in g.tags
            and (g.vmid in adopt or (g.name.lower() in hostnames
                                     and not any(t.startswith(TAG_PREFIX) for t in g.tags)))]


def _template_sources(storages: tuple[StorageInfo, ...],
                      online: list[str]) -> list[tuple[list[str], str]]:
    """(nodes, storage) pairs to list templates from: a shared storage once for all nodes."""
    shared: dict[str, list[str]] = {}
    out: list[tuple[list[str], str]] = []
    for st in storages:
        if "vztmpl" not in st.content or not st.active or st.node not in online:
            continue
        if st.shared:
            shared.setdefault(st.storage, []).append(st.node)
        else:
            out.append(([st.node], st.storage))
    out.extend((sorted(nodes), st) for st, nodes in sorted(shared.items()))
    return out


def _raw_lines(seen: _Seen, names: frozenset[str], guests: dict[int, GuestRef],
               configs: dict[int, Future[Any]], live: dict[int, PowerState],
               submit: Callable[..., Future[Any]]) -> None:
    """Read the raw lines of the containers whose spec compares them (one `GET config`
    each, together) and take those containers again with the lines added."""
    wanted = [c for c in seen.found.values() if c.name in names]
    wanted += [c for c in seen.strays if c.vmid in seen.adopting]
    asked = {c.vmid: submit(f"nodes/{c.node}/lxc/{c.vmid}/config") for c in wanted}
    for vmid, future in asked.items():
        config, pending = _result(future), _result(configs[vmid])
        if isinstance(config, Exception) or isinstance(pending, Exception):
            continue
        pairs = config.get("lxc") if isinstance(config, dict) else None
        if pairs:
            seen.take(guests[vmid], [*pending, {"key": RAW_KEY, "value": pairs}], live,
                      again=True)


@dataclass(frozen=True)
class _Ha:
    resources: dict[int, HaSettings] | None = None
    rules: dict[str, HaRuleInfo] | None = None
    problem: str | None = None


def _ha_answers(asked: dict[str, Future[Any]]) -> _Ha:
    """The HA answers; what could not be read is None, with the reason."""
    resources = rules = None
    problems = []
    for what, future in asked.items():
        answer = _result(future)
        if isinstance(answer, Exception):
            problems.append(f"{what}: {getattr(answer, 'message', answer)}")
        elif what == "resources":
            resources = parse_ha_resources(answer if isinstance(answer, list) else [])
        else:
            rules = parse_ha_rules(answer if isinstance(answer, list) else [])
    return _Ha(resources, rules, "; ".join(problems) or None)


def _get_or_api_error(get: Callable[..., Any], path: str) -> Any:
    """The answer, or any API error (a refused right, an endpoint 8.4 does not have)."""
    try:
        return get(path)
    except ApiError as exc:
        return exc


def _get_or_error(get: Callable[..., Any], path: str, params: dict[str, Any]) -> Any:
    """The answer, or the error when it only means "cannot see this now" (node down, gone)."""
    try:
        return get(path, **params)
    except (UnreachableError, NotFoundError) as exc:
        return exc


def _result(future: Future[Any]) -> Any:
    return future.result()  # re-raises anything `_get_or_error` did not catch


def _lagging_status(guest: GuestRef) -> PowerState:
    """When the node's list failed or does not show the guest yet: what resources said."""
    if guest.status == "running":
        return "running"
    return "stopped" if guest.status == "stopped" else "unknown"


def _request_count(client: ProxmoxClient) -> int | None:
    count = getattr(client, "request_count", None)
    return count if isinstance(count, int) else None
