"""The global options, defined once and accepted before and after any command name.

Why one table: `pxrun --json list` and `pxrun list --json` must mean the same thing for every
command, including subcommands of groups (`pxrun sim serve --json`). The group declares
these options, and `add_global_options` appends the same options to every command the
group hands out, unless the command already declares that flag itself. Each option writes
into the one `Settings` object (`ctx.obj`) through a callback, so a command reads
`settings.json` the same way wherever the flag was written.

Nothing heavy is imported here: `pxrun --help` must stay fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from pxrun.cli.context import Settings


@dataclass(frozen=True)
class GlobalOption:
    """One global option: its flags, click settings and how it changes `Settings`."""

    decls: tuple[str, ...]
    settings: dict[str, Any]
    store: Callable[[Settings, Any], None]


def _set(attr: str, value_of: Callable[[Any], Any] = lambda v: v
         ) -> Callable[[Settings, Any], None]:
    def store(settings: Settings, value: Any) -> None:
        setattr(settings, attr, value_of(value))

    return store


def _more_verbose(settings: Settings, value: Any) -> None:
    settings.verbosity += int(value)


def _debug(settings: Settings, value: Any) -> None:
    settings.verbosity = max(settings.verbosity, 1)


GLOBAL_OPTIONS: tuple[GlobalOption, ...] = (
    GlobalOption(("--sim",), {"is_flag": True, "help": "Run against an in-process simulator "
                              "with state in ./.pxrun/sim/."}, _set("sim")),
    GlobalOption(("--sim-dir",), {"type": click.Path(path_type=Path), "metavar": "DIR",
                                  "help": "State directory of the --sim simulator "
                                          "[default: .pxrun/sim]."}, _set("sim_dir")),
    GlobalOption(("--request-log",), {"type": click.Path(path_type=Path), "metavar": "FILE",
                                      "help": "With --sim: append one JSON line per API "
                                              "request to this file."}, _set("request_log")),
    GlobalOption(("--cluster", "--profile"), {"metavar": "NAME", "help": "Connection profile "
                                              "from ~/.config/pxrun/clusters.yaml."},
                 _set("cluster")),
    GlobalOption(("--json",), {"is_flag": True, "help": "Machine-readable JSON output."},
                 _set("json")),
    GlobalOption(("-v", "--verbose"), {"count": True, "help": "More detail; repeat for more."},
                 _more_verbose),
    GlobalOption(("-q", "--quiet"), {"is_flag": True, "help": "Only errors and results."},
                 _set("quiet")),
    GlobalOption(("--no-color",), {"is_flag": True, "help": "No colours or bold, even on a "
                                   "terminal (as NO_COLOR=1)."},
                 _set("color", lambda v: not v)),
    GlobalOption(("--allow-outside-paths",), {"is_flag": True, "help": "Let the spec name "
                                              "files (src, template, secrets) outside its "
                                              "folder."}, _set("allow_outside_paths")),
    # pxrun 0.1 spelled -v as --debug; its scripts keep working.
    GlobalOption(("--debug",), {"is_flag": True, "hidden": True}, _debug),
)
_MARK = "_pxrun_global_options"


def _callback(option: GlobalOption) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value in (None, False, 0):
            return value  # not given here: keep what another place set
        option.store(ctx.ensure_object(Settings), value)
        return value

    return callback


def make_options() -> list[click.Option]:
    """Fresh click options for the global flags (one set per command that gets them)."""
    return [click.Option(list(o.decls), **o.settings, expose_value=False,
                         callback=_callback(o)) for o in GLOBAL_OPTIONS]


def add_global_options(command: click.Command) -> click.Command:
    """Give `command` (and, for a group, each of its subcommands) every global option it
    does not declare itself. Idempotent: commands are module singletons."""
    if getattr(command, _MARK, False):
        return command
    taken = {opt for param in command.params for opt in getattr(param, "opts", ())}
    taken |= {opt for param in command.params for opt in getattr(param, "secondary_opts", ())}
    for option in make_options():
        if not taken.intersection(option.opts):
            command.params.append(option)
    setattr(command, _MARK, True)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_global_options(sub)
    return command
