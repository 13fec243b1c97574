"""Where provisioning output goes: the progress callback and one log file per container per
run (`.pxrun/logs/<run>/<container>.log`), both with every known secret replaced by `***`.

Why redact here, on whole lines: output arrives in chunks, and a secret split across two
chunks would slip past a chunk-wise replace. The channel hands over complete lines, and a
secret that itself spans lines (a private key) is also redacted line by line.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from pxrun.spec.secrets import redact

OutputHook = Callable[[str, str, str], None]
"""Called with (step label, "stdout" | "stderr", one redacted line) for the progress view."""


class Redactor:
    """Replaces every known secret (and each line of a multi-line one) with `***`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        found: set[str] = set()
        for secret in secrets:
            if len(secret) >= 4:
                found.add(secret)
            found |= {line for line in secret.splitlines() if len(line.strip()) >= 4}
        self.secrets = frozenset(found)

    def __call__(self, text: str) -> str:
        return redact(text, self.secrets) if self.secrets else text


def run_id(now: float | None = None) -> str:
    """A run's folder name: UTC time to the second, then the process id (unique enough for
    two applies started in the same second on one machine)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{os.getpid()}"


def log_path(log_dir: Path, run: str, container: str) -> Path:
    return log_dir / run / f"{container}.log"


class ContainerLog:
    """The full, redacted log of one container's provisioning in one run (mode 0600)."""

    def __init__(self, path: Path, redactor: Redactor, on_output: OutputHook | None = None,
                 ) -> None:
        self.path = path
        self.redactor = redactor
        self.on_output = on_output
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def __enter__(self) -> ContainerLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def note(self, text: str) -> None:
        """A line of pxrun's own (a step starts, an action, a result)."""
        self._write(f"{time.strftime('%H:%M:%S')} {self.redactor(text)}\n")

    def output(self, label: str, stream: str, line: str, *, show: bool = True) -> None:
        """A line of a command's output: to the file, and (`show`) to the progress
        callback."""
        clean = self.redactor(line)
        self._write(("  | " if stream == "stdout" else "  ! ") + clean
                    + ("" if clean.endswith("\n") else "\n"))
        if show and self.on_output is not None:
            self.on_output(label, stream, clean)

    def _write(self, text: str) -> None:
        with self._lock:
            self._file.write(text)
            self._file.flush()
