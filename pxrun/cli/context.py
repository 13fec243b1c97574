"""Global CLI settings shared by every command (`ctx.obj`).

Why a plain dataclass: commands read these, tests construct them, and nothing here imports
anything heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Settings:
    """What the global options said. Later layers read only what they need from it."""

    sim: bool = False
    sim_dir: Path = field(default_factory=lambda: Path(".pxrun") / "sim")
    request_log: Path | None = None
    cluster: str | None = None
    json: bool = False
    verbosity: int = 0
    quiet: bool = False
    color: bool = True
    allow_outside_paths: bool = False
    """Files a spec names may be outside its folder (`--allow-outside-paths`)."""


def outside_paths_allowed() -> bool:
    """`--allow-outside-paths` of the running command (False outside a command, e.g. tests).

    Read from the click context so every command that loads a spec honours the flag
    without each passing the settings down to its loading helper.
    """
    import click

    ctx = click.get_current_context(silent=True)
    settings = ctx.find_object(Settings) if ctx is not None else None
    return settings is not None and settings.allow_outside_paths
