"""`pxrun schema`: print, write or check the JSON Schema of the spec language, and the spec
reference (docs/spec-reference.md) generated beside it.

pydantic and the models are imported inside the command so that `pxrun --help` stays light.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--write", is_flag=True,
              help="Rewrite the checked-in schema file and docs/spec-reference.md.")
@click.option("--check", is_flag=True,
              help="Exit 1 when the checked-in schema or spec reference is stale.")
@click.option("--file", "path", type=click.Path(path_type=Path), default=None,
              help="Schema file for --write/--check (default: schemas/pxrun.schema.json, "
                   "and then the spec reference is left alone).")
def schema(write: bool, check: bool, path: Path | None) -> int:
    """Print the JSON Schema of the spec language (for editor completion).

    It prints the schema shipped with pxrun, which `--check` proves equal to the one the
    models generate.
    """
    from pxrun.spec.jsonschema import SCHEMA_PATH, render_schema, shipped_schema, stale_reason

    if write and check:
        raise click.UsageError("--write and --check exclude each other")
    target = path or SCHEMA_PATH
    if check:
        reasons = [stale_reason(target)]
        if path is None:
            from pxrun.pve import reference

            reasons.append(reference.stale_reason())
        for reason in filter(None, reasons):
            click.echo(f"error: {reason}", err=True)
        if any(reasons):
            click.echo("hint: run `pxrun schema --write` and commit the result", err=True)
            return 1
        click.echo(f"{target} is up to date" + ("" if path else ", and so is the spec "
                                                           "reference"), err=True)
        return 0
    if write:
        outputs = {target: render_schema()}
        if path is None:
            from pxrun.pve import reference

            outputs[reference.DOC_PATH] = reference.render_reference()
        for out, text in outputs.items():
            _write(out, text)
        return 0
    click.echo(shipped_schema(), nl=False)
    return 0


def _write(target: Path, text: str) -> None:
    from pxrun.errors import UsageError

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    click.echo(f"wrote {target}", err=True)
