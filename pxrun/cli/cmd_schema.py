"""`pxrun schema`: print, write or check the JSON Schema of the spec language.

pydantic and the models are imported inside the command so that `pxrun --help` stays light.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--write", is_flag=True, help="Rewrite the checked-in schema file.")
@click.option("--check", is_flag=True, help="Exit 1 when the checked-in schema file is stale.")
@click.option("--file", "path", type=click.Path(path_type=Path), default=None,
              help="Schema file for --write/--check (default: schemas/pxrun.schema.json).")
def schema(write: bool, check: bool, path: Path | None) -> int:
    """Print the JSON Schema of the spec language (for editor completion)."""
    from pxrun.spec.jsonschema import SCHEMA_PATH, render_schema, stale_reason

    if write and check:
        raise click.UsageError("--write and --check exclude each other")
    target = path or SCHEMA_PATH
    if check:
        reason = stale_reason(target)
        if reason:
            click.echo(f"error: {reason}", err=True)
            click.echo("hint: run `pxrun schema --write` and commit the result", err=True)
            return 1
        click.echo(f"{target} is up to date", err=True)
        return 0
    text = render_schema()
    if write:
        from pxrun.errors import UsageError

        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror}") from None
        click.echo(f"wrote {target}", err=True)
        return 0
    click.echo(text, nl=False)
    return 0
