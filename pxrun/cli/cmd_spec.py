"""`pxrun validate` and `pxrun schema` (placeholder until the spec language lands)."""

from __future__ import annotations

import click


@click.command()
@click.option("-f", "--file", "path", default=None, help="Spec file or folder.")
def validate(path: str | None) -> int:
    """Check a spec and report every problem with file:line:col."""
    raise click.UsageError("validate is not available yet")

