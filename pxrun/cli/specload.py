"""Loading the spec for a command: the path default, the environment, and `--var` values.

Why one helper: every command that reads a spec (validate, plan, apply, destroy, doctor,
force-unlock, create -c) must see the same spec for the same command line, or a plan saved
by one would be refused as stale by another. `{{ env.X }}` is an explicit input of a spec,
so the CLI passes the process environment here and nowhere else.

    @click.command()
    @var_options
    @click.pass_obj
    def validate(settings: Settings, path: Path | None) -> int:
        loaded = load_spec(settings, path)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pxrun.cli.context import Settings

if TYPE_CHECKING:
    from pxrun.spec.load import LoadedStack

F = TypeVar("F", bound=Callable[..., Any])


def _store(attr: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value:
            settings = ctx.ensure_object(Settings)
            setattr(settings, attr, (*getattr(settings, attr), *value))
        return value

    return callback


def var_options(func: F) -> F:
    """Add `--var NAME=VALUE` and `--var-file FILE` (both repeatable); they land in
    `Settings.var_flags` / `Settings.var_files`, which `load_spec` reads."""
    func = click.option("--var", "var_flags", multiple=True, metavar="NAME=VALUE",
                        expose_value=False, callback=_store("var_flags"),
                        help="Set a var of the spec (repeatable; wins over --var-file)."
                        )(func)
    return click.option("--var-file", "var_files", multiple=True, metavar="FILE",
                        type=click.Path(path_type=Path, dir_okay=False),
                        expose_value=False, callback=_store("var_files"),
                        help="YAML file of var values (repeatable; later files win).")(func)


def spec_path(path: Path | None) -> Path:
    """-f PATH, else pxrun.yaml or the pxrun/ folder here."""
    from pxrun.spec.load import default_spec_path

    return path if path is not None else default_spec_path(Path())


def load_spec(settings: Settings | None, path: Path | None) -> LoadedStack:
    """Load the spec a command names (see `spec_path`) with this run's env and vars, and
    `--allow-outside-paths` (files the spec names may then be outside its folder)."""
    from pxrun.spec.load import load_stack
    from pxrun.spec.overrides import merge_overrides

    settings = settings if settings is not None else Settings()
    overrides = merge_overrides(settings.var_files, settings.var_flags)
    loaded = load_stack(spec_path(path), environ=dict(os.environ), var_overrides=overrides,
                        allow_outside_paths=settings.allow_outside_paths)
    settings.secrets.update(loaded.secrets.values())  # redacted from all output from now on
    return loaded
