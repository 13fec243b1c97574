"""CLI tests: `pxrun` in-process (`main(argv)`) against a fresh `--sim` state per test.

The simulator fixture and runner are the apply tests' own (one copy): a state dir with
tasks at 2% of their durations, run from an empty working directory with no PROXMOX_*
variables and no user profiles file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apply.conftest import run, simdir, spec_text  # noqa: F401  (re-exported)


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read the developer's ~/.config/pxrun or colour settings."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NO_COLOR", raising=False)
