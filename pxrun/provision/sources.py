"""The bytes of file steps: `src` and `template` files read from inside the spec's folder.

Why a check at read time as well as in the model: the model refuses `..` and absolute paths,
but a symlink inside the folder can still point anywhere (`files/key -> ~/.ssh/id_ed25519`).
The resolved path must stay inside the resolved spec folder; a special file (a FIFO,
/dev/zero) or one larger than MAX_FILE is refused rather than read.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pxrun.errors import ProvisionError
from pxrun.spec.model_container import Container
from pxrun.spec.model_provision import File
from pxrun.spec.steps import Step, step_contents

MAX_FILE = 64 << 20


def read_source(spec_dir: Path, relative: str) -> bytes:
    """One `src`/`template` file; ProvisionError when it escapes the folder or is unusable."""
    root = spec_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ProvisionError(f"{relative}: resolves to {path}, outside the spec's folder {root}",
                             hint="keep files next to the spec (a symlink may not leave it)")
    try:
        info = path.stat()
    except OSError as exc:
        raise ProvisionError(f"{relative}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ProvisionError(f"{relative}: not a regular file")
    if info.st_size > MAX_FILE:
        raise ProvisionError(f"{relative}: larger than {MAX_FILE >> 20} MiB")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ProvisionError(f"{relative}: {exc.strerror}") from None


def load_sources(steps: Sequence[Step], spec_dir: Path) -> dict[str, bytes]:
    """The bytes of every `src`/`template` the file steps name, by their spec path."""
    found: dict[str, bytes] = {}
    for step in steps:
        if step.kind == "files" and isinstance(step.item, File):
            path = step.item.src or step.item.template
            if path is not None and path not in found:
                found[path] = read_source(spec_dir, path)
    return found


def file_contents(container: Container, steps: Sequence[Step], sources: Mapping[str, bytes],
                  base: Mapping[str, Any]) -> dict[str, bytes]:
    """label -> bytes of each file step (templates rendered with `base` = {vars, secrets}
    plus the container); a template that does not render is a ProvisionError."""
    try:
        return step_contents(container, steps, sources, base)
    except ValueError as exc:
        label = str(exc).split(": ", 1)[0]
        raise ProvisionError(f"{container.name}: {exc}", step=label) from None
