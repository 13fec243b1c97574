"""`pxrun doctor` (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.command("doctor")
def doctor() -> None:
    """Check connection settings."""
    raise click.UsageError("doctor is not available yet")
