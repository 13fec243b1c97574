"""Raw `lxc.*` lines and uid/gid maps: how they read, print and sit in a `.conf` file.

Why here: no API call sets a raw key (the API only lists them, as `lxc: [[key, value]]` in
`GET .../config`); they live in the container's config file, which only root on a node
can edit. So the vocabulary is the file's: one `lxc.key: value` line each, in order, at
the end of the main section (reference A3). Observe hands them over as one text value
(`RAW_KEY`, lines joined by newlines); the rows `lxc` and `idmap` read it, `lxc` prints it.

An unprivileged container maps ids 0..65535 onto the node's 100000..165535 unless
`lxc.idmap` lines say otherwise. The typed `idmap` holds only the ranges that differ from
that (GPU groups, a media user); `idmap_lines` writes the complete map, filling the gaps
with the default so every id stays mapped, and `subid_entries` names the `/etc/subuid`
and `/etc/subgid` lines root needs on the node for them.

Lines Proxmox writes itself (an application container's `lxc.init.cwd`, its halt signal)
are kept when pxrun writes the lines, and compared only when the spec lists them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pxrun.spec.model import Container, IdMap, IdRange

RAW_KEY = "lxc"
IDMAP_KEY = "lxc.idmap"
IDS = 65536
HOST_BASE = 100000
PROXMOX_OWN = frozenset({"lxc.init.cwd", "lxc.init.uid", "lxc.init.gid", "lxc.signal.halt"})
_RAW = re.compile(r"^(lxc\.[a-z0-9_\-.]+)(?::|\s*=)\s*(.*?)\s*$")
_SECTION = re.compile(r"^\[[^\]]+\]\s*$")


def key_of(line: str) -> str:
    return line.split(":", 1)[0].strip()


def lines_of(text: str | None) -> list[str]:
    """The observed raw text -> its lines (`key: value`)."""
    return [line for line in (text or "").split("\n") if line.strip()]


def join_pairs(pairs: Iterable[Iterable[str]]) -> str:
    """`GET config`'s `lxc: [[key, value], ...]` -> the raw text the rows read."""
    return "\n".join(f"{key}: {value}" for key, value in (tuple(p) for p in pairs))


# --- uid/gid maps -----------------------------------------------------------------------


def canonical_idmap(idmap: IdMap) -> IdMap:
    """One spelling: ranges sorted, neighbours with the same offset merged, ranges that
    are the default map (inside n -> 100000 + n) dropped."""
    return IdMap(uids=_merged(idmap.uids), gids=_merged(idmap.gids))


def _merged(ranges: Iterable[IdRange]) -> list[IdRange]:
    out: list[IdRange] = []
    for item in sorted(ranges, key=lambda r: r.container):
        if item.host == HOST_BASE + item.container:
            continue
        last = out[-1] if out else None
        if last is not None and last.container + last.count == item.container and (
                last.host - last.container == item.host - item.container):
            out[-1] = IdRange(container=last.container, host=last.host,
                              count=last.count + item.count)
        else:
            out.append(item)
    return out


def idmap_lines(idmap: IdMap) -> list[str]:
    """The complete `lxc.idmap` lines: the ranges given, every other id by the default."""
    lines = []
    for kind, ranges in (("u", idmap.uids), ("g", idmap.gids)):
        at = 0
        for item in sorted(_merged(ranges), key=lambda r: r.container):
            if item.container > at:
                lines.append(f"{IDMAP_KEY}: {kind} {at} {HOST_BASE + at} {item.container - at}")
            lines.append(f"{IDMAP_KEY}: {kind} {item.container} {item.host} {item.count}")
            at = item.container + item.count
        if at < IDS:
            lines.append(f"{IDMAP_KEY}: {kind} {at} {HOST_BASE + at} {IDS - at}")
    return lines


def parse_idmap(lines: Iterable[str]) -> IdMap | None:
    """The map that `lxc.idmap` lines describe (None: there are none, the default map).
    Raises ValueError for a line LXC would not take."""
    ranges: dict[str, list[IdRange]] = {"u": [], "g": []}
    seen = False
    for line in lines:
        if key_of(line) != IDMAP_KEY:
            continue
        seen = True
        parts = line.split(":", 1)[1].split()
        if len(parts) != 4 or parts[0] not in ranges or not all(p.isdigit() for p in parts[1:]):
            raise ValueError(f"cannot read the id mapping {line!r}")
        kind, inside, host, count = parts[0], int(parts[1]), int(parts[2]), int(parts[3])
        if host != HOST_BASE + inside:
            ranges[kind].append(IdRange(container=inside, host=host, count=count))
    return canonical_idmap(IdMap(uids=ranges["u"], gids=ranges["g"])) if seen else None


def subid_entries(idmap: IdMap | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(/etc/subuid lines, /etc/subgid lines) root needs for the ranges outside the
    default that a fresh node allows (`root:100000:65536`)."""
    if idmap is None:
        return (), ()

    def entries(ranges: list[IdRange]) -> tuple[str, ...]:
        return tuple(f"root:{r.host}:{r.count}" for r in _merged(ranges)
                     if not (r.host >= HOST_BASE and r.host + r.count <= HOST_BASE + IDS))

    return entries(idmap.uids), entries(idmap.gids)


# --- the lines of a container -----------------------------------------------------------


def compared_lines(want: list[str], have: list[str]) -> list[str]:
    """The observed lines compared with the spec's: Proxmox's own lines only when the spec
    names their key."""
    named = {key_of(line) for line in want}
    return [line for line in have if key_of(line) not in PROXMOX_OWN or key_of(line) in named]


def lines_to_write(want: Container, have: Container | None) -> list[str]:
    """Every raw line the container is to have: Proxmox's own lines kept (unless the spec
    sets their key), the spec's lines (or the observed ones, when the spec leaves `lxc`
    unset), then the complete idmap (the spec's, else the observed one)."""
    have_lines = list(have.lxc or []) if have is not None else []
    spec = want.lxc if want.lxc is not None else [
        line for line in have_lines if key_of(line) not in PROXMOX_OWN]
    named = {key_of(line) for line in spec}
    own = [line for line in have_lines if key_of(line) in PROXMOX_OWN and key_of(line) not in named]
    idmap = want.idmap if want.idmap is not None else (have.idmap if have is not None else None)
    return [*own, *spec, *(idmap_lines(idmap) if idmap is not None else [])]


def read_lines(text: str) -> list[str] | None:
    """The row `lxc`'s reading: every raw line but the idmap (None when there are none)."""
    found = [line for line in lines_of(text) if key_of(line) != IDMAP_KEY]
    return found or None


# --- the config file ----------------------------------------------------------------------


def set_raw_lines(conf: str, lines: Iterable[str]) -> str:
    """`conf` (a container's `.conf` text) with the main section's raw `lxc.*` lines
    replaced by `lines`, placed at the end of the main section as pve-container writes
    them; everything else (keys, comments, pending and snapshot sections) kept as it is."""
    rows = conf.split("\n")
    end = next((i for i, row in enumerate(rows) if _SECTION.match(row)), len(rows))
    main = [row for row in rows[:end] if not _RAW.match(row)]
    while main and not main[-1].strip():
        main.pop()
    new = [*main, *lines]
    rest = rows[end:]
    if rest:
        return "\n".join(new) + "\n\n" + "\n".join(rest)
    return "\n".join(new) + "\n"
