"""Redaction at the edge: the run's known secret values, and text streams that never let
one through.

Why one mechanism at the edge rather than a `redact(...)` call beside each print: output
leaves pxrun through many doors (human and JSON output, progress lines, warnings, errors
and their hints, tracebacks with -v, the simulator's request log, provisioning logs, the
watcher's HTTP endpoints). A call per door is a door forgotten. Instead the CLI wraps
stdout and stderr for the whole run (`redacting_stdio`) and hands `KnownSecrets.redact`
to the few writers of files and sockets; every layer that learns a secret (the settings'
token, the spec's sops values and environment reads, values rendered from them, password
fields) registers it in the run's `KnownSecrets`, so whatever prints it later prints `***`.

Redaction is for display only: operations carry references to secrets (specs/0052), and a
value that reaches the cluster is never a mask. A secret is matched as it is and in the
escaped spellings JSON and Python's repr give it, so `--json` output and a message quoting
`'...'` are covered too. Values shorter than `MIN_SECRET` are not secrets (they would mask
every `true` and `web1` of the output).

Lives outside the layers (like `pxrun.errors`): the CLI, provisioning logs and the
watcher all use it, and it imports nothing of pxrun's.
"""

from __future__ import annotations

import io
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TextIO

MASK = "***"
MIN_SECRET = 4
"""Shorter strings would mangle every message they appear in, and are no secret."""


class KnownSecrets:
    """The secret values of one run; thread-safe, grows as the run learns secrets."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._longest = 0
        self.update(values)

    def add(self, value: object) -> None:
        """Remember `value` (and its escaped spellings) as a secret; short ones are not."""
        self.update([value])

    def update(self, values: Iterable[object]) -> None:
        fresh: set[str] = set()
        for value in values:
            if value is None or isinstance(value, bool):
                continue
            text = str(value)
            if len(text) < MIN_SECRET:
                continue
            fresh |= _spellings(text)
        with self._lock:
            if fresh <= self._values:
                return
            self._values |= fresh
            ordered = sorted(self._values, key=lambda v: (-len(v), v))
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            self._longest = len(ordered[0])

    @property
    def values(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._values)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __contains__(self, text: object) -> bool:
        """Whether `text` holds a known secret anywhere."""
        pattern = self._pattern
        return isinstance(text, str) and pattern is not None and pattern.search(text) is not None

    def redact(self, text: str) -> str:
        """`text` with every known secret replaced by `***` (longest first)."""
        pattern = self._pattern
        return text if pattern is None else pattern.sub(MASK, text)

    def unfinished(self, text: str) -> int:
        """How many characters at the end of `text` could be the start of a secret that a
        next write completes: a stream holds them back until then."""
        if self._pattern is None or not text:
            return 0
        with self._lock:
            values = list(self._values)
        for size in range(min(self._longest - 1, len(text)), 0, -1):
            tail = text[-size:]
            if any(v.startswith(tail) for v in values):
                return size
        return 0


def _spellings(text: str) -> set[str]:
    """The secret as written and as JSON and Python's repr escape it (`"`, `\\`, newlines,
    non-ASCII): an escaped copy in `--json` output or a quoted message is still the secret.
    Each line of a multi-line secret counts too: output is often shown line by line."""
    import json  # here, not at the top: `pxrun --help` must not pay for it

    found = {text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1],
             repr(text)[1:-1]}
    found |= {line.strip() for line in text.splitlines()}  # a private key, line by line
    return {s for s in found if len(s) >= MIN_SECRET}


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what it forwards to `inner`.

    A secret written in two pieces is still caught: the end of a write that could begin a
    secret waits for the next write, or for `flush` (callers flush when they want text
    seen: a prompt, a progress line). Bytes are refused, as by any text stream (click
    probes with `write(b"")`), and there is no `buffer` to write around the redaction.
    """

    def __init__(self, inner: TextIO, secrets: KnownSecrets) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = secrets
        self._held = ""
        self._lock = threading.RLock()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            if not self.secrets:
                out, self._held = self._held + text, ""
            else:
                whole = self.secrets.redact(self._held + text)
                keep = self.secrets.unfinished(whole)
                out, self._held = (whole[:-keep], whole[-keep:]) if keep else (whole, "")
            if out:
                self.inner.write(out)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._held:
                held, self._held = self._held, ""
                self.inner.write(self.secrets.redact(held))
            self.inner.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(getattr(self.inner, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # binary writes would bypass the redaction
            raise AttributeError(name)
        return getattr(self.inner, name)


@contextmanager
def redacting_stdio(secrets: KnownSecrets) -> Iterator[None]:
    """Route `sys.stdout` and `sys.stderr` through `secrets` for the duration of the block."""
    saved = sys.stdout, sys.stderr
    out, err = RedactingStream(saved[0], secrets), RedactingStream(saved[1], secrets)
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        for stream in (out, err):
            with suppress(OSError, ValueError):
                stream.flush()
        sys.stdout, sys.stderr = saved
