"""`pxrun drift`: has the cluster moved away from git? For cron, systemd timers and CI.

A refresh-only plan: it reads the cluster and changes nothing, ever. Exit statuses: 0 no
drift, 2 drift (always, no flag needed), 1 the check failed (cluster unreachable, API
error), 3 the spec or the command line is invalid. `--metrics FILE` writes the Prometheus
textfile for node_exporter's textfile collector (atomically) whatever the outcome, so a
failed check shows as `pxrun_last_check_success 0` rather than as an old file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pxrun.cli.cluster import connection_options, open_client
from pxrun.cli.context import Settings
from pxrun.cli.images import image_digests, pve9_flags
from pxrun.cli.specload import var_options
from pxrun.cli.status import ExitStatus

if TYPE_CHECKING:

    from pxrun.connect.settings import ConnectionFlags
    from pxrun.daytwo.check import Desired
    from pxrun.daytwo.drift import DriftReport
    from pxrun.daytwo.metrics import CheckOutcome
    from pxrun.spec.load import LoadedStack


@click.command("drift")
@click.option("-f", "--file", "path", type=click.Path(path_type=Path), default=None,
              help="Spec file or folder [default: pxrun.yaml, else the pxrun/ folder].")
@click.option("--metrics", "metrics", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="FILE",
              help="Also write Prometheus metrics to FILE (atomically), e.g. "
                   "/var/lib/prometheus/node-exporter/pxrun.prom.")
@connection_options
@var_options
@click.pass_obj
@pve9_flags
def drift_cmd(settings: Settings | None, path: Path | None, metrics: Path | None,
              flags: ConnectionFlags) -> int:
    """Report what changed outside pxrun; change nothing.

    Lists each drifted container and field (spec → cluster), including changes Proxmox
    holds pending until the next restart. Exit 0 no drift, 2 drift, 1 the check failed,
    3 the spec is invalid.
    """
    from pxrun.daytwo.check import check_drift
    from pxrun.daytwo.metrics import CheckOutcome
    from pxrun.errors import UsageError
    from pxrun.spec.paths import output_problem

    if metrics is not None and (problem := output_problem(metrics)):
        raise UsageError(f"--metrics {metrics}: {problem}")
    settings = settings if settings is not None else Settings()
    started, stack = time.time(), "unknown"
    load_credentials()
    try:
        loaded, spec_dir = load_spec(path, settings)
        stack = loaded.stack.stack
        with open_client(settings, spec_cluster=loaded.stack.cluster, spec_dir=spec_dir,
                         flags=flags) as (client, _):
            check = check_drift(client, desired_from(loaded, spec_dir), images=lambda seen: (
                image_digests(client, settings, loaded.stack, seen)))
    except Exception:
        if metrics is not None:
            write_textfile(metrics, CheckOutcome(stack=stack, success=False, checked_at=started,
                                                 duration=time.time() - started))
        raise
    report = check.report
    if metrics is not None:
        write_textfile(metrics, CheckOutcome(stack=stack, success=True, checked_at=started,
                                             duration=report.duration_seconds, report=report))
    show_drift(report, settings)
    return int(ExitStatus.CHANGES if report.drifted else ExitStatus.OK)


CREDENTIALS = ("PROXMOX_TOKEN_SECRET", "PROXMOX_TOKEN_ID")


def write_textfile(path: Path, outcome: CheckOutcome) -> None:
    """`daytwo.metrics.write_textfile`, with a write failure as one line (exit 3)."""
    from pxrun.daytwo import metrics
    from pxrun.errors import UsageError

    try:
        metrics.write_textfile(path, outcome)
    except OSError as exc:
        raise UsageError(f"--metrics {path}: cannot write: {exc.strerror}") from None


def load_credentials() -> None:
    """systemd's `LoadCredential=` hands secrets over as files in $CREDENTIALS_DIRECTORY
    (readable only by the service, never in the unit's environment or `ps`). A credential
    named like one of our variables fills that variable for this process when unset."""
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    if not folder:
        return
    for name in CREDENTIALS:
        file = Path(folder) / name
        if name not in os.environ and file.is_file():
            os.environ[name] = file.read_text(encoding="utf-8").strip()


def load_spec(path: Path | None, settings: Settings | None = None,
              ) -> tuple[LoadedStack, Path]:
    """The spec (default pxrun.yaml, else pxrun/) and the folder its files are relative to;
    the environment and --var/--var-file values as every command sees them."""
    from pxrun.cli import specload
    from pxrun.spec.load import default_spec_path

    spec = path if path is not None else default_spec_path(Path.cwd())
    loaded = specload.load_spec(settings, spec)
    return loaded, spec if spec.is_dir() else spec.parent


def desired_from(loaded: LoadedStack, spec_dir: Path, *, restart: str = "auto",
                 node_ssh_available: bool = False) -> Desired:
    """The stack and the plan options `pxrun plan` would use for it."""
    from pxrun.cli.cmd_plan import plan_options
    from pxrun.daytwo.check import Desired
    from pxrun.observe.model import Observed

    options = plan_options(loaded, Observed(stack=loaded.stack.stack), spec_dir,
                           restart=restart, node_ssh_available=node_ssh_available)
    return Desired(stack=loaded.stack, options=options)


def show_drift(report: DriftReport, settings: Settings) -> None:
    """Diagnostics on stderr; the report on stdout, as text or JSON. Secret values that
    reached a plain field are hidden by the planner's views already, and whatever else
    holds one is masked on its way out (`main` wraps stdout and stderr)."""
    from pxrun.daytwo.text import render_drift, summary_line

    for diag in report.diagnostics:
        subject = f"{diag.address}: " if diag.address else ""
        click.echo(f"{diag.severity}: {subject}{diag.message}", err=True)
    if settings.json:
        click.echo(report.model_dump_json(indent=2))
    elif settings.quiet:
        click.echo(summary_line(report))
    else:
        click.echo(render_drift(report), nl=False)
