"""Global CLI settings shared by every command (`ctx.obj`).

Why a plain dataclass: commands read these, tests construct them, and nothing here imports
anything heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pxrun.redaction import KnownSecrets


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
    var_flags: tuple[str, ...] = ()
    """`--var NAME=VALUE` flags, in order (`cli.specload.load_spec`)."""
    var_files: tuple[Path, ...] = ()
    """`--var-file FILE` flags, in order."""
    rebalance: bool = False
    """`--rebalance`: containers HA moved go back to the node their spec names."""
    check_images: bool = False
    """`--check-images`: ask the registry what each image tag points to now."""
    warned: set[str] = field(default_factory=set, repr=False)
    """Warnings already printed in this run: each is printed once (`output.warn`)."""
    secrets: KnownSecrets = field(default_factory=KnownSecrets, repr=False)
    """Every secret value this run has learnt (token, spec secrets): whatever the CLI writes
    passes through it (`pxrun.redaction`), so none is ever printed or logged."""
