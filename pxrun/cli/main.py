"""The `pxrun` entry point: global options, lazy subcommands, exit-status mapping.

The program is a function of (argv, environment) returning an exit status, as in httpie:
`main()` never calls sys.exit itself, so tests call it directly.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from pxrun import __version__
from pxrun.cli.commands import COMMANDS
from pxrun.cli.context import Settings
from pxrun.cli.status import ExitStatus, exit_status_for


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command = getattr(module, entry[1])
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="pxrun")
@click.option("--sim", is_flag=True,
              help="Run against an in-process simulator with state in ./.pxrun/sim/.")
@click.option("--sim-dir", type=click.Path(path_type=Path), default=Path(".pxrun") / "sim",
              show_default=True, help="State directory of the --sim simulator.")
@click.option("--request-log", type=click.Path(path_type=Path), default=None,
              help="With --sim: append one JSON line per API request to this file.")
@click.option("--cluster", "--profile", "cluster", metavar="NAME", default=None,
              help="Connection profile from ~/.config/pxrun/clusters.yaml.")
@click.option("--json", "json_output", is_flag=True, help="Machine-readable JSON output.")
@click.option("-v", "--verbose", count=True, help="More detail; repeat for more.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and results.")
@click.option("--no-color", is_flag=True, help="No colours, even on a terminal.")
@click.option("--allow-outside-paths", is_flag=True,
              help="Let a spec name files (src, template, secrets) outside its folder.")
@click.pass_context
def cli(ctx: click.Context, sim: bool, sim_dir: Path, request_log: Path | None,
        cluster: str | None, json_output: bool, verbose: int, quiet: bool,
        no_color: bool, allow_outside_paths: bool) -> None:
    """pxrun: Proxmox VE LXC containers as code.

    Keep the desired state of your containers in YAML, see exactly what will change with
    `pxrun plan`, and make it so with `pxrun apply`. Add --sim to any command to try it
    against the built-in Proxmox VE simulator.
    """
    ctx.obj = Settings(sim=sim, sim_dir=sim_dir, request_log=request_log, cluster=cluster,
                       json=json_output, verbosity=verbose, quiet=quiet, color=not no_color,
                       allow_outside_paths=allow_outside_paths)


def main(argv: Sequence[str] | None = None) -> int:
    """Run pxrun with `argv` (default: sys.argv[1:]) and return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    settings: Settings | None = None
    try:
        with cli.make_context("pxrun", args) as ctx:
            settings = ctx.obj if isinstance(ctx.obj, Settings) else None
            result: Any = cli.invoke(ctx)
            settings = ctx.obj if isinstance(ctx.obj, Settings) else settings
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.ClickException as exc:
        exc.show()
        return int(ExitStatus.INVALID if isinstance(exc, click.UsageError) else ExitStatus.ERROR)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("\ninterrupted", err=True)
        return int(ExitStatus.INTERRUPTED)
    except Exception as exc:
        from pxrun.cli.output import print_error

        print_error(exc, settings)
        if settings is not None and settings.verbosity > 0:
            import traceback

            traceback.print_exception(exc)
        return int(exit_status_for(exc))
    if isinstance(result, int):
        return int(result)
    return int(ExitStatus.OK)
