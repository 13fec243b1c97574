"""User namespaces of unprivileged containers: the `lxc.idmap` lines and the node's
`/etc/subuid` / `/etc/subgid`, checked when a container starts.

Why: an unprivileged container maps its ids onto a host range (`u 0 100000 65536` unless
its config has `lxc.idmap` lines), and lxc-start's newuidmap/newgidmap refuse any host
range that root is not allowed in the node's subordinate id files; a custom idmap (a host
group passed through for a GPU) therefore also needs a line like `root:44:1` in
`/etc/subgid`. The start fails with lxc's error, as on a real node. A node whose files are
missing allows what a fresh Proxmox install allows (`root:100000:65536`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

DEFAULT_RANGE = (100000, 65536)
DEFAULT_SUBID = "root:100000:65536\n"
Mapping_ = tuple[str, int, int, int]  # (u|g, first id inside, first id on the host, count)


def mappings(raw_lxc: Iterable[tuple[str, str]]) -> list[Mapping_] | None:
    """The container's `lxc.idmap` lines; None when it has none (the default applies).
    A malformed line raises ValueError with lxc's wording."""
    found: list[Mapping_] = []
    seen = False
    for key, value in raw_lxc:
        if key != "lxc.idmap":
            continue
        seen = True
        parts = value.split()
        if len(parts) != 4 or parts[0] not in ("u", "g") or not all(
                p.isdigit() for p in parts[1:]):
            raise ValueError(f"Failed to parse id mapping \"{value}\"")
        found.append((parts[0], int(parts[1]), int(parts[2]), int(parts[3])))
    return found if seen else None


def allowed(node_root: Path | None, kind: str) -> list[tuple[int, int]]:
    """Root's subordinate ranges (start, count) from the node's /etc/subuid or subgid."""
    if node_root is None:
        return [DEFAULT_RANGE]
    path = node_root / "etc" / ("subuid" if kind == "u" else "subgid")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [DEFAULT_RANGE]
    ranges = []
    for line in text.splitlines():
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] in ("root", "0") and parts[1].isdigit() and \
                parts[2].isdigit():
            ranges.append((int(parts[1]), int(parts[2])))
    return ranges


def refused(raw_lxc: Iterable[tuple[str, str]], node_root: Path | None) -> list[str]:
    """lxc's errors for the mappings root may not use on this node (empty: it may start)."""
    try:
        found = mappings(raw_lxc)
    except ValueError as exc:
        return [f"lxc-start: conf.c: parse_idmaps: {exc}"]
    if found is None:
        found = [("u", 0, *DEFAULT_RANGE), ("g", 0, *DEFAULT_RANGE)]
    errors = []
    for kind, inside, host, count in found:
        if not any(start <= host and host + count <= start + size
                   for start, size in allowed(node_root, kind)):
            tool = "newuidmap" if kind == "u" else "newgidmap"
            what = "uid" if kind == "u" else "gid"
            errors.append(f"lxc-start: conf.c: lxc_map_ids: {tool} failed to write mapping "
                          f"\"{tool}: {what} range [{inside}-{inside + count}) -> "
                          f"[{host}-{host + count}) not allowed\"")
    return errors
