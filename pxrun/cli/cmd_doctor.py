"""`pxrun doctor`: where each connection setting came from, TLS, version, nodes, token rights.

Read-only: it sends GET requests only. Exit 0 when the cluster answers and accepts the token
(warnings, such as missing privileges or root-only options in the spec, do not fail it), 1
when it cannot be reached, TLS fails or authentication fails. Token secrets are masked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pxrun.cli.cluster import connection_options, open_client
from pxrun.cli.context import Settings
from pxrun.cli.specload import load_spec, var_options
from pxrun.cli.status import ExitStatus

if TYPE_CHECKING:
    from rich.console import Console

    from pxrun.connect.doctor import DoctorReport
    from pxrun.connect.settings import ConnectionFlags

_STATUS_STYLE = {"yes": "green", "no": "red"}


@click.command("doctor")
@click.option("-f", "--file", "path", type=click.Path(path_type=Path), default=None,
              help="Spec to check for options an API token cannot set (default: pxrun.yaml).")
@connection_options
@var_options
@click.pass_obj
def doctor(settings: Settings, path: Path | None, flags: ConnectionFlags) -> int:
    """Check connection settings, TLS, the cluster and what the API token may do."""
    from pxrun.connect.doctor import diagnose

    stack, spec_dir, note = _load_spec(settings, path)
    # Human output shows the warnings in the report; JSON output keeps stdout pure JSON, so
    # the warnings (TLS off above all) also go to stderr.
    with open_client(settings, spec_cluster=getattr(stack, "cluster", None), spec_dir=spec_dir,
                     flags=flags, warn=settings.json) as (client, info):
        report = diagnose(client, info, stack=stack)
    if note:
        report.warnings.append(note)
    if settings.json:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        _render(report, settings)
    return int(ExitStatus.OK if report.ok else ExitStatus.ERROR)


def _load_spec(settings: Settings, path: Path | None) -> tuple[Any, Path | None, str]:
    """(stack or None, its folder, a note). A spec named with -f must load; the default one
    is optional, and so is the spec layer itself (doctor works without any spec)."""
    try:
        from pxrun.spec.load import default_spec_path
    except ImportError:
        return None, None, ""
    from pxrun.errors import PxrunError, UsageError

    if path is None:
        try:
            path = default_spec_path(Path.cwd())
        except UsageError:
            return None, None, ""
        try:
            loaded = load_spec(settings, path)
        except PxrunError as exc:
            return None, None, f"{path} not checked: {exc.message} (see `pxrun validate`)"
    else:
        loaded = load_spec(settings, path)
    spec_dir = path if path.is_dir() else path.parent
    return loaded.stack, spec_dir, ""


def _render(report: DoctorReport, settings: Settings) -> None:
    from rich.markup import escape

    from pxrun.cli.output import make_console

    out = make_console(settings)
    title = "Connection (simulator)" if report.simulated else "Connection"
    out.print(f"[bold]{title}[/]")
    width = max(len(k) for k, _, _ in report.settings)
    shown = max(len(v) for _, v, _ in report.settings)
    for key, value, source in report.settings:
        out.print(f"  {key:<{width}}  {escape(value):<{shown}}  [dim]{escape(source)}[/]")
    tls_style = "red" if report.tls.startswith("NOT") else "green"
    out.print(f"[bold]TLS[/]  [{tls_style}]{escape(report.tls)}[/]")
    if report.server_fingerprint:
        out.print(f"  the server presents SHA-256 {report.server_fingerprint}\n"
                  "  (compare with `pvenode cert info` on the node before pinning it)")
    if report.ok or report.version:
        _render_cluster(out, report)
    for warning in report.warnings:
        out.print(f"[bold yellow]warning:[/] {escape(warning)}")
    if report.error:
        err = make_console(settings, stderr=True)
        err.print(f"[bold red]error:[/] {escape(report.error)}")
        if report.hint:
            err.print(f"[dim]hint:[/] {escape(report.hint)}")
    elif not settings.quiet:
        out.print("[green]ok:[/] the cluster answers and accepts the token")


def _render_cluster(out: Console, report: DoctorReport) -> None:
    from rich.markup import escape

    from pxrun.connect.rights import COMMANDS

    out.print(f"[bold]Proxmox VE[/]  {escape(report.version)}")
    out.print(f"[bold]Nodes[/] ({len(report.nodes)})")
    for node in report.nodes:
        style = "green" if node.status == "online" else "red"
        out.print(f"  {escape(node.name):<12} [{style}]{node.status:<8}[/] "
                  f"{node.cpus:>3} CPUs {node.cpu_used:>5.0%} used   "
                  f"memory {_gib(node.mem_used)} / {_gib(node.mem_total)}")
    out.print("[bold]Token rights[/] (privilege on ACL path, by what needs it)")
    mode = ""
    width = max((len(c.privilege) + len(c.path) for c in report.privileges), default=0) + 4
    for check in report.privileges:
        if check.mode != mode:
            mode = check.mode
            out.print(f"  [bold]{mode}[/] ({escape(COMMANDS.get(mode, ''))})")
        style = _STATUS_STYLE.get(check.status, "")
        what = f"{check.privilege} on {check.path}"
        out.print(f"    [{style}]{check.status:<4}[/] {escape(what):<{width}} "
                  f"[dim]{escape(check.purpose)}[/]")
    if report.spec_checked:
        if report.root_only:
            out.print("[bold]Spec[/]  options only root@pam may set (an API token never can):")
            for item in report.root_only:
                out.print(f"  [yellow]{escape(item)}[/]")
        else:
            out.print("[bold]Spec[/]  every option can be set with an API token")


def _gib(value: int) -> str:
    return f"{value / 2**30:.1f} GiB"
