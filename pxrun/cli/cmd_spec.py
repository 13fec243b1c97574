"""`pxrun validate`: load a spec and report every problem with file:line:col.

Why it stays light: validate runs in editors' save hooks and pre-commit, so it imports the
spec layer only (pydantic, Jinja, YAML) and never the API client, Fabric or the simulator.
"""

from __future__ import annotations

from pathlib import Path

import click

from pxrun.cli.context import Settings
from pxrun.cli.specload import load_spec, var_options


@click.command()
@click.option("-f", "--file", "path", type=click.Path(path_type=Path), default=None,
              help="Spec file or folder [default: pxrun.yaml, else the pxrun/ folder].")
@var_options
@click.pass_obj
def validate(settings: Settings | None, path: Path | None) -> int:
    """Check a spec and report every problem with file:line:col.

    Loads the file (or every *.yaml file of a folder), decrypts `secrets:` with sops,
    merges defaults, expands count, renders {{ }} and validates the result. Exits 0 when
    the spec is valid and 3 when it is not.
    """
    loaded = load_spec(settings, path)
    stack = loaded.stack
    count = len(stack.containers)
    if settings is not None and settings.json:
        import json

        click.echo(json.dumps({
            "ok": True, "stack": stack.stack, "containers": sorted(stack.containers),
            "files": [str(f) for f in loaded.files],
        }, indent=2))
    elif settings is None or not settings.quiet:
        noun = "container" if count == 1 else "containers"
        click.echo(f"ok: {count} {noun} in stack {stack.stack}")
    return 0
