"""`pxrun schema` (placeholder until the spec models land)."""

from __future__ import annotations

import click


@click.command()
@click.option("--check", is_flag=True, help="Fail when schemas/ is stale.")
def schema(check: bool) -> int:
    """Print the JSON Schema of the spec language."""
    raise click.UsageError("schema is not available yet")
