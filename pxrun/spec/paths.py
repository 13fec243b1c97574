"""Files a spec names or a command reads: where they may be, and how they are read.

Why one module: `files[].src`, `files[].template` and `secrets:` are paths written in a
spec, and specs arrive through pull requests. Left alone, `src: ../../.ssh/id_ed25519` or
`src: /etc/shadow` would be hashed by `plan` and copied into a container by `apply`. So a
named path must resolve (symlinks followed) inside the spec's folder, unless the operator
says otherwise with `--allow-outside-paths`. The loader, the plan's file digests and
provisioning all call `resolve_inside` (the last two through `read_named`), so the rule is
written once.

And why a bounded reader: `-f /dev/zero` would grow without end, `-f FIFO` would block in
`open()` forever, `/proc/self/mem` fails with EIO on read. `read_bounded` refuses devices and
sockets (and, for named files, FIFOs), opens a FIFO without blocking (one with no writer
reads as empty), stops at a size limit, and turns every OSError into one `LocalFileError`
line.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pxrun.spec.model import Stack

MAX_LOCAL_FILE = 64 << 20
"""Files a spec names and saved plans: far above a config file, far below memory trouble."""
ALLOW_FLAG = "--allow-outside-paths"


class LocalFileError(ValueError):
    """A file a spec names or a command reads cannot be used; the message says why, briefly."""


def resolve_inside(spec_dir: Path, name: str, *, allow_outside: bool = False) -> Path:
    """The file `name` (relative to the spec's folder, or absolute) names.

    Raises LocalFileError when it resolves outside `spec_dir` and `allow_outside` is False,
    or cannot be resolved at all (a symlink loop).
    """
    try:
        root = spec_dir.resolve()
        path = (root / Path(name).expanduser()).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11)
        raise LocalFileError(f"{name!r} cannot be resolved: {_reason(exc)}") from None
    if not allow_outside and not path.is_relative_to(root):
        shown = f"{name!r}" if str(path) == name else f"{name!r} ({path})"
        raise LocalFileError(
            f"{shown} is outside the spec's folder {root}; keep the file beside the spec, "
            f"or pass {ALLOW_FLAG} if you trust this spec")
    return path


def output_problem(path: Path) -> str | None:
    """Why pxrun must not write `path` by writing a temporary file and renaming it over the
    target (a saved plan, a metrics textfile), or None. A rename would replace a device, a
    FIFO or a symlink like /dev/stdout with a regular file (as root: /dev/full itself)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        parent = Path(path).parent
        return None if parent.is_dir() else f"its folder {parent} does not exist"
    except OSError as exc:
        return f"cannot use it: {_reason(exc)}"
    if not stat.S_ISREG(info.st_mode) or os.path.islink(path):
        return "is not a regular file (pxrun replaces the file it writes)"
    return None


def provision_files(stack: Stack) -> Iterator[tuple[str, tuple[str | int, ...], str]]:
    """(container, path inside it, file name) of every `files[]` `src` and `template`."""
    for name, container in stack.containers.items():
        for i, item in enumerate(container.provision.files if container.provision else ()):
            for key in ("src", "template"):
                value = getattr(item, key)
                if value is not None:
                    yield name, ("provision", "files", i, key), value


def outside_files(stack: Stack, spec_dir: Path, *, allow_outside: bool,
                  ) -> list[tuple[str, tuple[str | int, ...], str]]:
    """(container, path inside it, problem) of each named file `resolve_inside` refuses."""
    problems = []
    for name, rel, file in provision_files(stack):
        try:
            resolve_inside(spec_dir, file, allow_outside=allow_outside)
        except LocalFileError as exc:
            problems.append((name, rel, str(exc)))
    return problems


def read_bounded(path: Path | str, *, limit: int, fifo: bool = True) -> bytes:
    """The bytes of a regular file (or a FIFO, if `fifo`), at most `limit` of them.

    Raises LocalFileError for a device, a socket, a directory, a larger file, or any OSError;
    its message does not repeat the path (callers put it first, as in a diagnostic).
    """
    try:
        info = os.stat(path)
        if stat.S_ISFIFO(info.st_mode) and not fifo:
            raise LocalFileError("is a FIFO, not a regular file")
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device or socket"
            raise LocalFileError(f"is {kind}, not a regular file")
        if info.st_size > limit:
            raise LocalFileError(f"is larger than {_size(limit)}")
        # O_NONBLOCK: opening a FIFO with no writer must not wait; reads then see EOF.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            os.set_blocking(fd, True)
            chunks: list[bytes] = []
            size = 0
            while size <= limit:
                chunk = os.read(fd, min(1 << 20, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise LocalFileError(f"cannot read: {_reason(exc)}") from None
    if size > limit:
        raise LocalFileError(f"is larger than {_size(limit)}")
    return b"".join(chunks)


def read_named(spec_dir: Path, name: str, *, allow_outside: bool = False) -> bytes:
    """The bytes of a file a spec names (`src`, `template`): `resolve_inside`, then a regular
    file of at most MAX_LOCAL_FILE. Raises LocalFileError."""
    path = resolve_inside(spec_dir, name, allow_outside=allow_outside)
    return read_bounded(path, limit=MAX_LOCAL_FILE, fifo=False)


def digest(data: bytes) -> str:
    """sha256 hex digest, as the plan records a named file."""
    return hashlib.sha256(data).hexdigest()


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"
