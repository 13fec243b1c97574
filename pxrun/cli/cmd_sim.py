"""`pxrun sim` (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.group()
def sim() -> None:
    """Run and manage the simulator."""
    raise click.UsageError("sim is not available yet")
