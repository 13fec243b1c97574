"""One process owns a simulator state directory at a time.

Why: two processes writing one state directory lose each other's changes (two
`pxrun --sim apply` at once gave containers empty configs and one DHCP address twice; a
`pxrun --sim` beside `pxrun sim serve` lost the apply's results). The owner holds an
exclusive `flock` on `<state_dir>/lock` for as long as it may write, and records in that file
who it is (pid, kind) and, once serving, its HTTPS endpoint. A second process gets a clear
error naming the owner, or, for `pxrun --sim`, the facts to talk to a running
`pxrun sim serve` instead (`pxrun.sim.embedded`).

The kernel drops an flock when its process dies, so a crashed owner never leaves a stale lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from pxrun.errors import SimulatorError

LOCK_FILE = "lock"

# What kind of process this is ("serve" for `pxrun sim serve`, set by that command).
_KIND = {"kind": "embedded"}


def set_owner_kind(kind: str) -> None:
    """Name what this process is, for the lock file (`serve`, `embedded`, ...)."""
    _KIND["kind"] = kind


class StateBusy(SimulatorError):
    """Another process owns the state directory; `owner` is what it recorded."""

    def __init__(self, state_dir: Path, owner: dict[str, Any]) -> None:
        who = f"pid {owner.get('pid', '?')}"
        if owner.get("kind") == "serve":
            who += ", `pxrun sim serve`"
            hint = ("stop that server first, or run `pxrun --sim ...` commands: they talk to "
                    "the running server")
        else:
            who += ", another pxrun command"
            hint = ("wait for it to finish, or share one simulator between commands with "
                    f"`pxrun sim serve {state_dir}`")
        super().__init__(f"the simulator state in {state_dir} is in use ({who})", hint=hint)
        self.state_dir = state_dir
        self.owner = owner


def read_owner(state_dir: Path) -> dict[str, Any]:
    """What the current owner recorded (empty when nobody ever claimed the directory)."""
    try:
        data = json.loads((state_dir / LOCK_FILE).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_owned(state_dir: Path) -> bool:
    """Whether some live process holds the lock right now."""
    path = state_dir / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class StateLock:
    """The exclusive claim on one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._fd: int | None = None
        self.info: dict[str, Any] = {}

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateBusy(self.state_dir, read_owner(self.state_dir)) from None
        self._fd = fd
        self.info = {"pid": os.getpid(), "kind": _KIND["kind"], "since": int(time.time()),
                     "command": " ".join(os.path.basename(a) for a in sys.argv[:3])}
        self._write()

    def publish(self, **facts: Any) -> None:
        """Add facts (e.g. the HTTPS endpoint) for processes that find the directory busy."""
        self.info.update(facts)
        if self._fd is not None:
            self._write()

    def _write(self) -> None:
        assert self._fd is not None
        data = json.dumps(self.info, sort_keys=True).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
