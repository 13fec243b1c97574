"""`pxrun templates list|download`: the OS templates the nodes have, and those they can fetch.

`list` shows every template file once: where it is downloaded (node:storage) and which
nodes' catalogs offer it, with the shorthand a spec can use (`template: debian-12`).
`download NAME` takes a catalog file name or a shorthand (the newest match), fetches it on
each chosen node (a shared storage only once) as a Proxmox task, and reports progress the
way apply does. A name that matches nothing gets "did you mean".
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from pxrun.cli.cluster import connection_options, open_client
from pxrun.cli.context import Settings
from pxrun.cli.status import ExitStatus

if TYPE_CHECKING:
    from pxrun.connect.settings import ConnectionFlags
    from pxrun.observe.model import Observed

FACTS_STACK = "adhoc"
"""observe_cluster reads cluster facts for a stack; templates need no stack's containers,
so the by-hand stack (few containers, if any) keeps the cost at its minimum."""
_FLAVOUR = re.compile(r"^(?P<short>.+?)-(?:standard|default)_")


@dataclass
class TemplateRow:
    """One template file: where it is downloaded and which catalogs offer it."""

    file: str
    shorthand: str
    section: str = "system"
    downloaded: list[tuple[str, str, int]] = field(default_factory=list)  # node, storage, size
    catalog: list[str] = field(default_factory=list)  # nodes whose catalog offers it

    def to_json(self) -> dict[str, object]:
        return {"template": self.file, "shorthand": self.shorthand, "section": self.section,
                "downloaded": [{"node": n, "storage": s, "size": size,
                                "volid": f"{s}:vztmpl/{self.file}"}
                               for n, s, size in self.downloaded],
                "catalog_nodes": self.catalog}


def shorthand_of(file: str) -> str:
    """What a spec may write for a template file: debian-12 for debian-12-standard_12.7-1_…"""
    match = _FLAVOUR.match(file)
    return match["short"] if match else file


def template_rows(observed: Observed, nodes: tuple[str, ...] = ()) -> list[TemplateRow]:
    """Every template file on or offered to `nodes` (all when empty), by shorthand. Pure."""
    rows: dict[str, TemplateRow] = {}

    def row(file: str) -> TemplateRow:
        return rows.setdefault(file, TemplateRow(file, shorthand_of(file)))

    for t in observed.templates:
        if not nodes or t.node in nodes:
            row(t.filename).downloaded.append((t.node, t.storage, t.size))
    for c in observed.catalog:
        if not nodes or c.node in nodes:
            entry = row(c.template)
            entry.section = c.section
            entry.catalog.append(c.node)
    return sorted(rows.values(), key=lambda r: (r.shorthand, _natural(r.file)))


def _natural(text: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"\d+|\D+", text)]


@click.group("templates")
def templates() -> None:
    """OS templates: what the nodes have downloaded, and what their catalogs offer."""


@templates.command("list")
@click.option("--node", "nodes", multiple=True, metavar="NODE",
              help="Only this node (repeatable).")
@connection_options
@click.pass_obj
def list_templates(settings: Settings, nodes: tuple[str, ...], flags: ConnectionFlags) -> int:
    """List downloaded templates (node:storage) and those the catalog can download."""
    from pxrun.observe.fetch import observe_cluster

    with open_client(settings, flags=flags) as (client, _):
        observed = observe_cluster(client, FACTS_STACK)
    _check_nodes(nodes, observed)
    rows = template_rows(observed, nodes)
    if settings.json:
        click.echo(json.dumps([r.to_json() for r in rows], indent=2))
        return int(ExitStatus.OK)
    _table(rows, settings)
    return int(ExitStatus.OK)


def _check_nodes(nodes: tuple[str, ...], observed: Observed) -> None:
    from pxrun.errors import UsageError
    from pxrun.spec.graph import did_you_mean

    for node in nodes:
        if node not in observed.nodes:
            raise UsageError(f"--node {node}: no such node{did_you_mean(node, set(observed.nodes))}"
                             f" (nodes: {', '.join(sorted(observed.nodes))})")


def _table(rows: list[TemplateRow], settings: Settings) -> None:
    from rich.markup import escape
    from rich.table import Table

    from pxrun.cli.output import make_console

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("SHORTHAND", "TEMPLATE", "DOWNLOADED ON", "CATALOG"):
        table.add_column(column)
    for r in rows:
        where = ", ".join(f"{n}:{s}" for n, s, _ in sorted(r.downloaded)) or "-"
        table.add_row(escape(r.shorthand), escape(r.file), escape(where),
                      escape(", ".join(sorted(r.catalog)) or "-"))
    console = make_console(settings)
    console.print(table)
    if not settings.quiet:
        console.print("[dim]Download one with: pxrun templates download SHORTHAND "
                      "--storage local[/]")


@templates.command("download")
@click.argument("name")
@click.option("--storage", metavar="STORAGE", default=None,
              help="Storage to download to (one that takes templates) [default: local].")
@click.option("--node", "nodes", multiple=True, metavar="NODE",
              help="Only on this node (repeatable) [default: every node whose catalog "
                   "offers it].")
@connection_options
@click.pass_obj
def download(settings: Settings, name: str, storage: str | None, nodes: tuple[str, ...],
             flags: ConnectionFlags) -> int:
    """Download a template (catalog file name or shorthand like debian-13) to the nodes.

    Each download is a Proxmox task; progress is shown as it runs. Nodes that have the
    file on that storage already are skipped, and a shared storage is filled once.
    """
    from pxrun.apply.templates import download_template
    from pxrun.cli.applyflow import make_hook
    from pxrun.observe.fetch import observe_cluster

    with open_client(settings, flags=flags) as (client, _):
        observed = observe_cluster(client, FACTS_STACK)
        _check_nodes(nodes, observed)
        file = resolve_catalog_name(name, observed, nodes)
        todo, skipped = download_targets(file, storage, observed, nodes)
        for node, store in skipped:
            click.echo(f"{file} is on {node}:{store} already", err=True)
        hook = make_hook(settings, interactive=False)
        for node, store in todo:
            download_template(client, node, store, file, hook=hook)
    if not settings.json and not settings.quiet:
        done = ", ".join(f"{n}:{s}" for n, s in todo) or "nowhere new"
        click.echo(f"Downloaded {file} to {done}. Use it in a spec as "
                   f"template: {shorthand_of(file)}")
    return int(ExitStatus.OK)


def resolve_catalog_name(name: str, observed: Observed, nodes: tuple[str, ...] = ()) -> str:
    """The catalog file `name` means: itself, or the newest file of a shorthand. Pure."""
    from pxrun.errors import UsageError

    offered = {c.template for c in observed.catalog if not nodes or c.node in nodes}
    if name in offered:
        return name
    matching = [f for f in offered if shorthand_of(f) == name or f.startswith(name + "-")]
    if matching:
        return max(matching, key=_natural)
    choices = sorted({shorthand_of(f) for f in offered} | offered)
    close = difflib.get_close_matches(name, choices, n=2, cutoff=0.7)
    hint = (f"did you mean {' or '.join(close)}?" if close else
            "`pxrun templates list` shows what the catalog offers")
    raise UsageError(f"no template {name!r} in the catalog" +
                     (f" of {', '.join(nodes)}" if nodes else ""), hint=hint)


def download_targets(file: str, storage: str | None, observed: Observed,
                     nodes: tuple[str, ...] = ()) -> tuple[list[tuple[str, str]],
                                                           list[tuple[str, str]]]:
    """(node, storage) pairs to download to, and those that have the file already. A shared
    storage appears once. Pure."""
    from pxrun.errors import UsageError

    todo: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    shared_done: set[str] = set()
    candidates = sorted({c.node for c in observed.catalog if c.template == file}
                        & ({*nodes} if nodes else set(observed.nodes)))
    for node in candidates:
        if not observed.nodes[node].online:
            continue
        takes = {s.storage: s for s in observed.storages_on(node) if "vztmpl" in s.content}
        store = storage or ("local" if "local" in takes else min(takes, default=""))
        if store not in takes:
            known = ", ".join(sorted(takes)) or "none"
            raise UsageError(f"storage {store or '?'} on {node} does not take templates "
                             f"(storages that do: {known})")
        have = any(t.node == node and t.storage == store and t.filename == file
                   for t in observed.templates)
        if have or store in shared_done:
            skipped.append((node, store))
            continue
        if takes[store].shared:
            shared_done.add(store)
        todo.append((node, store))
    return todo, skipped
