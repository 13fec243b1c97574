"""`pxrun list` (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.command("list")
def list_cmd() -> None:
    """List containers on the cluster."""
    raise click.UsageError("list is not available yet")
