"""Placement: which node a new (or re-placed) container goes to.

Candidates are the allowed nodes (`auto` = every node; a list; one name) that are online,
have the template (or can download it), a storage of the requested name that accepts
`rootdir` with room for the disk, and enough free memory. Among them: fewest replicas of
the same base name (so `count` spreads), then most free memory, then fewest containers,
then the name — deterministic. Each placement is booked against the node, so later
containers of the same plan see what earlier ones took. A node named explicitly is used
even when short of memory or room (a warning: Proxmox overcommits), never when it lacks
the template or storage.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from pxrun.observe.model import Observed, StorageInfo
from pxrun.plan.templates import ResolvedTemplate, resolve_image, resolve_template
from pxrun.spec.model import Container

MIB = 1024**2
GIB = 1024**3
_REPLICA = re.compile(r"(?P<base>.+)-\d+")


def replica_base(name: str) -> str:
    """`web-2` -> `web` (a `count` replica's base name); other names as they are."""
    match = _REPLICA.fullmatch(name)
    return match["base"] if match else name


@dataclass(frozen=True)
class Placement:
    """Where a container goes and which template it gets there."""

    node: str
    template: ResolvedTemplate | None  # None when placing a migration (no template needed)
    warnings: tuple[str, ...] = ()


@dataclass
class _Ledger:
    """Free memory, containers, storage room and replicas per node, booked as we place."""

    mem_free: dict[str, int] = field(default_factory=dict)
    containers: dict[str, int] = field(default_factory=dict)
    room: dict[tuple[str, str], int] = field(default_factory=dict)  # (node|'', storage)
    replicas: dict[str, Counter[str]] = field(default_factory=dict)  # node -> base -> n


def _room_key(info: StorageInfo) -> tuple[str, str]:
    return ("" if info.shared else info.node, info.storage)


@dataclass(frozen=True)
class _Fixed:
    """`want` on one node, before capacity: hard problems, template, room key, placement."""

    hard: tuple[str, ...]
    template: ResolvedTemplate | None
    room: tuple[str, str] | None  # the ledger's key of the root storage's free room
    placement: Placement | None  # None when there are hard problems
    online: bool = True  # False: the node is offline or unknown (`hard` says which)


class Placer:
    """Books containers onto nodes within one plan call (state lives only in the call)."""

    def __init__(self, observed: Observed) -> None:
        self.observed = observed
        self.ledger = _Ledger()
        for name, node in observed.nodes.items():
            self.ledger.mem_free[name] = node.mem_free
            self.ledger.containers[name] = node.containers
            self.ledger.replicas[name] = Counter()
        self.storages = {(s.node, s.storage): s for s in observed.storages}
        # Resolving a template scans the node's templates and catalog: once per template,
        # storage and node (`_on`), not for every candidate of every create.
        self._fixed_by: dict[tuple[object, ...], _Fixed] = {}
        self._every = sorted(observed.nodes)
        self._candidates_by: dict[tuple[object, ...], list[tuple[str, _Fixed]]] = {}
        for info in observed.storages:
            self.ledger.room.setdefault(_room_key(info), info.avail)
        for ct in observed.containers.values():
            self.ledger.replicas.setdefault(ct.node, Counter())[replica_base(ct.name)] += 1

    def allowed(self, want: Container) -> list[str]:
        if want.node == "auto":
            return self._every
        return [want.node] if isinstance(want.node, str) else sorted(want.node)

    def _storage(self, node: str, name: str) -> StorageInfo | None:
        return self.storages.get((node, name))

    def _on(self, want: Container, node: str, need_template: bool) -> _Fixed:
        """What of `want` on `node` does not change as containers are booked: the node's
        state, the hard problems, the template and the storage (asked for every candidate
        of every create, and the same for every container with this template, storage and
        arch)."""
        key = (want.image, want.template, want.arch, want.storage, node, need_template)
        found = self._fixed_by.get(key)
        if found is None:
            found = self._fixed_by[key] = self._fixed(want, node, need_template)
        return found

    def _fixed(self, want: Container, node: str, need_template: bool) -> _Fixed:
        info = self.observed.nodes.get(node)
        if info is None:
            return _Fixed(("not in the cluster",), None, None, None, online=False)
        if not info.online:
            return _Fixed((info.status,), None, None, None, online=False)
        hard = []
        template = None
        if need_template and want.image is not None:
            template = resolve_image(want.image, node, self.observed)
            if template is None:
                hard.append("no storage for templates to pull the image to")
        elif need_template:
            template = resolve_template(want.template or "", node, self.observed, want.arch)
            if template is None:
                hard.append(f"no template {want.template}")
        storage = self._storage(node, want.storage)
        room = None
        if storage is None or not storage.enabled or not storage.active:
            hard.append(f"no storage {want.storage}")
        elif not storage.rootdir:
            hard.append(f"storage {want.storage} does not accept container volumes (rootdir)")
        else:
            room = _room_key(storage)
        return _Fixed(tuple(hard), template, room, None if hard else Placement(node, template))

    def check(self, want: Container, node: str, *, need_template: bool = True,
              ) -> tuple[list[str], list[str], Placement | None]:
        """(hard problems, capacity shortfalls, placement) of `want` on `node`."""
        fixed = self._on(want, node, need_template)
        short = self._short(want, node, fixed) if fixed.online else []
        return list(fixed.hard), short, fixed.placement

    def _short(self, want: Container, node: str, fixed: _Fixed) -> list[str]:
        """Capacity shortfalls of `want` on `node`, as booked so far."""
        short = []
        if fixed.room is not None:
            room = self.ledger.room.get(fixed.room, 0)
            if room < want.resources.disk * GIB:
                short.append(f"{room // GIB} GiB free on {want.storage}")
        mem = self.ledger.mem_free.get(node, 0)
        if mem < want.resources.memory * MIB:
            short.append(f"{mem // MIB} MiB memory free")
        return short

    def place(self, want: Container, *, need_template: bool = True,
              name: str | None = None) -> Placement | str:
        """A placement, or the one error message saying what was asked and what each
        candidate node has. `name`: the container's, when `want` is another container of
        the same shape (`replicas`): only the name decides among equal nodes."""
        name = want.name if name is None else name
        pinned = isinstance(want.node, str) and want.node != "auto"
        fits: list[Placement] = []
        notes: list[str] = []
        ledger = self.ledger
        disk, memory = want.resources.disk * GIB, want.resources.memory * MIB
        for node, fixed in self._candidates(want, need_template):
            placement = fixed.placement
            if (placement is not None and ledger.mem_free.get(node, 0) >= memory
                    and (fixed.room is None or ledger.room.get(fixed.room, 0) >= disk)):
                fits.append(placement)  # no shortfall: the common case, without lists
                continue
            short = self._short(want, node, fixed) if fixed.online else []
            if placement is not None and (not short or pinned):
                fits.append(Placement(node, placement.template, tuple(
                    f"node {node} is short: {s}" for s in short)) if short else placement)
            else:
                notes.append(f"{node}: {', '.join([*fixed.hard, *short])}")
        if not fits:
            return (f"no node fits {name} (needs {want.resources.memory} MiB memory, "
                    f"{want.resources.disk} GiB on {want.storage}, "
                    f"{'image ' + want.image if want.image else 'template ' + str(want.template)}"
                    f"); " + "; ".join(notes or ["no nodes"]))
        base = replica_base(name)
        best = fits[0] if len(fits) == 1 else min(fits, key=lambda p: (
            ledger.replicas[p.node][base], -ledger.mem_free[p.node], ledger.containers[p.node],
            p.node))
        self.book(want, best.node, base)
        return best

    def _candidates(self, want: Container, need_template: bool) -> list[tuple[str, _Fixed]]:
        """Each allowed node with what of `want` on it does not change as containers are
        booked (the same for every container of a shape: worked out once)."""
        node = want.node
        key = (want.image, want.template, want.arch, want.storage,
               node if isinstance(node, str) else tuple(node), need_template)
        found = self._candidates_by.get(key)
        if found is None:
            found = self._candidates_by[key] = [
                (name, self._on(want, name, need_template)) for name in self.allowed(want)]
        return found

    def book(self, want: Container, node: str, base: str | None = None) -> None:
        """Count `want` against `node`'s memory, storage room and containers (`base`: its
        replica base name, when known)."""
        self.ledger.mem_free[node] = self.ledger.mem_free.get(node, 0) - (
            want.resources.memory * MIB)
        self.ledger.containers[node] = self.ledger.containers.get(node, 0) + 1
        self.ledger.replicas.setdefault(node, Counter())[
            replica_base(want.name) if base is None else base] += 1
        storage = self._storage(node, want.storage)
        if storage is not None:
            key = _room_key(storage)
            self.ledger.room[key] = self.ledger.room.get(key, 0) - want.resources.disk * GIB
