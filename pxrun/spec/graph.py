"""`depends_on` between containers: names resolved, counted groups expanded, cycles found.

Why in the loader: a dependency on a container that does not exist, or a cycle, is a mistake
in the file, and the user should see it with the file's line and column before any plan. The
apply layer can then trust the graph to be a DAG of concrete container names.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from pxrun.spec.diagnose import Problem
from pxrun.spec.yamlsrc import Mark, Path

Locate = Callable[[str, Path], Mark]
"""(container name, path inside that container) -> where it was written."""


def did_you_mean(word: str, candidates: list[str] | set[str]) -> str:
    """' (did you mean 'x'?)' for the closest candidate, or ''."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def resolve_dependencies(
    depends: Mapping[str, Any], groups: Mapping[str, list[str]], locate: Locate,
) -> tuple[dict[str, list[str]], list[Problem]]:
    """Concrete `depends_on` lists per container, and the problems found.

    `depends` maps each container to its raw `depends_on` value (lists of names are checked;
    other shapes are left to model validation). `groups` maps a counted container's base name
    to its replicas: depending on `web` means depending on every `web-N`.
    """
    problems: list[Problem] = []
    resolved: dict[str, list[str]] = {}
    known = set(depends) | set(groups)
    for name, raw in depends.items():
        if not isinstance(raw, list):
            continue
        targets: list[str] = []
        for i, item in enumerate(raw):
            if not isinstance(item, str):
                continue
            if item in depends:
                expanded = [item]
            elif item in groups:
                expanded = groups[item]
            else:
                problems.append(Problem(
                    locate(name, ("depends_on", i)), name, ("depends_on", i),
                    f"unknown container {item!r}{did_you_mean(item, known)}"))
                continue
            targets.extend(t for t in expanded if t not in targets)
        resolved[name] = targets
    problems.extend(_cycles(resolved, depends, locate))
    return resolved, problems


def _cycles(edges: Mapping[str, list[str]], raw: Mapping[str, Any],
            locate: Locate) -> list[Problem]:
    """One diagnostic per strongly connected component that holds a cycle."""
    problems = []
    for component in _strongly_connected(edges):
        members = set(component)
        start = min(component)
        if len(component) == 1 and start not in edges.get(start, []):
            continue
        path = _cycle_through(start, edges, members)
        first_hop = path[1]
        index = _raw_index(raw.get(start), first_hop)
        rel: Path = ("depends_on", index) if index is not None else ("depends_on",)
        problems.append(Problem(locate(start, rel), start, rel,
                                "dependency cycle: " + " -> ".join(path)))
    return problems


def _raw_index(raw: Any, target: str) -> int | None:
    """Which item of a raw depends_on list names `target` (directly or as its counted group)."""
    if not isinstance(raw, list):
        return None
    for i, item in enumerate(raw):
        if item == target or (isinstance(item, str) and target.startswith(f"{item}-")
                              and target[len(item) + 1:].isdigit()):
            return i
    return None


def _cycle_through(start: str, edges: Mapping[str, list[str]], members: set[str]) -> list[str]:
    """The shortest path start -> ... -> start inside one component (breadth first)."""
    parent: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(edges.get(node, [])):
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return [start, start]  # pragma: no cover - a component with a cycle always has a path


def _strongly_connected(edges: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so a long dependency chain cannot overflow the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if child < len(targets):
                work.append((node, child + 1))
                nxt = targets[child]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components
