"""Shared fixtures: where the reference material lives, and a CLI runner.

Tests may read `../shared/reference` when it is there and must skip with a clear message
when it is not (CI always has it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis' timing checks measure the machine, not the code: on a loaded 2-core machine, or
# under coverage in CI, a draw of a few model objects can take longer than its second.
settings.register_profile("pxrun", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pxrun")

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The folder with pve-apidata-*.json and pve-lxc-api.md, or skip."""
    if not (REFERENCE / "pve-apidata-9.1.json").is_file():
        pytest.skip(f"reference material not found at {REFERENCE} (CI has it beside the repo)")
    return REFERENCE


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
