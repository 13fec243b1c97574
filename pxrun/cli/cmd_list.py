"""`pxrun list`: every container on the cluster, with the stack that owns it.

Shows all LXC containers by default, managed or not, because "what is on my cluster" is the
question; the STACK column tells pxrun's from the rest. `--stack NAME` and `--managed` narrow
it; `--all` adds QEMU guests and templates (they take vmids too). Output: a table, `--json`
(the global flag) or `--yaml`. IPs come from the config (static address, or `dhcp`); `--ips`
asks each running container for its live addresses, at one more request per container.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from pxrun.cli.cluster import connection_options, open_client
from pxrun.cli.context import Settings
from pxrun.cli.status import ExitStatus

if TYPE_CHECKING:
    from pxrun.connect.settings import ConnectionFlags
    from pxrun.observe.inventory import GuestRow

_STATUS_STYLE = {"running": "green", "stopped": "dim", "unknown": "yellow"}


@click.command("list")
@click.option("--node", "nodes", multiple=True, metavar="NODE", help="Only guests on NODE "
              "(repeatable).")
@click.option("--running", is_flag=True, help="Only running guests.")
@click.option("--status", type=click.Choice(["running", "stopped"]), default=None,
              help="Only guests in this state (pxrun 0.1's flag; --running is the same as "
                   "--status running).")
@click.option("--stack", "stacks", multiple=True, metavar="NAME",
              help="Only containers of stack NAME (repeatable).")
@click.option("--managed", is_flag=True, help="Only containers some pxrun stack owns.")
@click.option("--all", "show_all", is_flag=True, help="Also QEMU guests and templates.")
@click.option("--ips", is_flag=True, help="Ask running containers for live IP addresses "
              "(one more request each).")
@click.option("--yaml", "as_yaml", is_flag=True, help="YAML output.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "yaml"]), default=None,
              help="Output format (pxrun 0.1's flag; same as --json / --yaml).")
@connection_options
@click.pass_obj
def list_cmd(settings: Settings, nodes: tuple[str, ...], running: bool, status: str | None,
             stacks: tuple[str, ...], managed: bool, show_all: bool, ips: bool, as_yaml: bool,
             fmt: str | None, flags: ConnectionFlags) -> int:
    """List containers on the cluster, with the stack that owns each."""
    from pxrun.observe.inventory import list_guests

    if running:
        status = status or "running"
    if fmt is not None:
        settings.json, as_yaml = fmt == "json", fmt == "yaml"
    with open_client(settings, flags=flags) as (client, _info):
        rows = list_guests(client, include_vms=show_all, live_ips=ips)
    rows = filter_rows(rows, nodes=nodes, status=status, stacks=stacks, managed=managed)
    if settings.json:
        click.echo(json.dumps([r.to_json() for r in rows], indent=2))
    elif as_yaml:
        import yaml

        click.echo(yaml.safe_dump([r.to_json() for r in rows], sort_keys=False), nl=False)
    else:
        _table(rows, settings)
    return int(ExitStatus.OK)


def filter_rows(rows: list[GuestRow], *, nodes: tuple[str, ...] = (),
                status: str | None = None, stacks: tuple[str, ...] = (),
                managed: bool = False) -> list[GuestRow]:
    """The rows the filters keep, in vmid order. Pure."""
    return sorted((r for r in rows
                   if (not nodes or r.node in nodes)
                   and (status is None or r.status == status)
                   and (not stacks or r.stack in stacks)
                   and (not managed or r.stack is not None)),
                  key=lambda r: r.vmid)


def _table(rows: list[GuestRow], settings: Settings) -> None:
    from rich.table import Table

    from pxrun.cli.output import make_console

    console = make_console(settings)
    if not rows:
        if not settings.quiet:
            console.print("no containers")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("VMID", "NAME", "NODE", "STATUS", "STACK", "CORES", "MEMORY", "DISK", "IP",
                   "TAGS"):
        numeric = column in ("VMID", "CORES", "MEMORY", "DISK")
        table.add_column(column, justify="right" if numeric else "left")
    for r in rows:
        style = _STATUS_STYLE.get(r.status, "")
        table.add_row(str(r.vmid), _esc(r.name) + (" (vm)" if r.type == "qemu" else ""),
                      _esc(r.node), f"[{style}]{r.status}[/]" if style else _esc(r.status),
                      _esc(r.stack or "-"), _num(r.cores), f"{r.memory} MiB",
                      f"{_num(r.disk)} GiB", _esc(", ".join(r.ips) or "-"),
                      _esc(";".join(r.tags)))
    console.print(table)


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)

