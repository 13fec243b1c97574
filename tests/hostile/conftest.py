"""A watchdog for the hostile-input tests: a regression to a hang fails loudly, never stalls CI.

Each test here is expected to finish in well under a second; `faulthandler` prints every
thread's stack and ends the process when one has not finished after HANG_SECONDS. It is a
guard against a hang, not a timing assertion: the speed of each input is in
bench/bench_hostile.py.
"""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HANG_SECONDS = 120


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True, file=sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A working directory and HOME with no spec, profile, .env or PROXMOX_* variable."""
    for name in list(os.environ):
        if name.startswith(("PROXMOX_", "PXRUN_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("NO_COLOR", "1")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work
