"""`--request-log FILE`: one JSON line per API request, for tests, benchmarks and debugging.

Each line: `time` (UTC, ISO 8601), `method`, `path` (after /api2/json), `params` (merged query
and body), `status`, `duration_ms`, `authid` (null when unauthenticated), and
`lost_answer: true` when the simulator carried the request out but dropped the connection
instead of answering. Secrets never reach the file: any parameter whose name contains
`password`, `secret`, `ticket` or `otp`, or equals `tfa-challenge`, is replaced by `"***"`;
headers (cookies, tickets, token secrets, CSRF tokens) are not logged at all. A client that
knows more secrets than these names (`pxrun --sim` knows its spec's) passes `scrub`, which
every line goes through before it is written. Appends are serialised with a lock and flushed
per line so a crashed or killed simulator leaves a readable log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from pxrun.errors import UsageError

MASK = "***"
_SECRET_PARTS = ("password", "secret", "ticket", "otp", "tfa-challenge", "token")


def is_secret(key: str) -> bool:
    """Whether a parameter's value must never be written anywhere."""
    lowered = key.lower()
    return any(part in lowered for part in _SECRET_PARTS)


def mask_params(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of `params` with every secret value replaced by `***`."""
    return {k: (MASK if is_secret(k) else v) for k, v in params.items()}


class RequestLog:
    """A thread-safe JSON-lines writer.

    A log that cannot be written (`--request-log /dev/full`, a vanished disk) must not turn
    into dropped connections, which clients would retry as network faults: the first failed
    write stops the log, the API keeps answering, and `close` reports the failure once.
    """

    def __init__(self, path: Path, scrub: Callable[[str], str] | None = None) -> None:
        self.path = path
        self._scrub = scrub
        self._lock = threading.Lock()
        self._failure = ""
        try:
            self._out: IO[str] | None = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--request-log {path}: cannot open: {exc.strerror}") from None

    def write(
        self,
        *,
        method: str,
        path: str,
        params: dict[str, Any],
        status: int,
        duration_ms: float,
        authid: str | None,
        lost: bool = False,
    ) -> None:
        entry = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "method": method,
            "path": path,
            "params": mask_params(params),
            "status": status,
            "duration_ms": round(duration_ms, 3),
            "authid": authid,
        }
        if lost:  # carried out, but the connection was dropped instead of answering
            entry["lost_answer"] = True
        line = json.dumps(entry, default=str)
        if self._scrub is not None:
            line = self._scrub(line)
        with self._lock:
            if self._out is not None:
                try:
                    self._out.write(line + "\n")
                    self._out.flush()
                except OSError as exc:
                    self._failure = exc.strerror or str(exc)
                    self._discard()

    def close(self) -> None:
        """Close the file; raises UsageError if a line could not be written."""
        with self._lock:
            if self._out is not None:
                try:
                    self._out.close()
                except OSError as exc:
                    self._failure = self._failure or exc.strerror or str(exc)
                self._out = None
        if self._failure:
            raise UsageError(f"--request-log {self.path}: cannot write: {self._failure}")

    def _discard(self) -> None:
        """Drop the file without flushing what is buffered (it cannot be written)."""
        out, self._out = self._out, None
        if out is not None:
            with contextlib.suppress(OSError):
                os.close(out.fileno())
            with contextlib.suppress(OSError, ValueError):
                out.close()
