"""The bytes of file steps: `src` and `template` files read from inside the spec's folder.

Why a check at read time as well as in the loader: a symlink inside the folder can be made to
point anywhere after the spec was validated (`files/key -> ~/.ssh/id_ed25519`). The rule is
the loader's and the plan's (`spec.paths.read_named`): the resolved path stays inside the
resolved spec folder unless the run was given --allow-outside-paths; a special file (a FIFO,
/dev/zero) or one larger than 64 MiB is refused rather than read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pxrun.errors import ProvisionError
from pxrun.spec.model_container import Container
from pxrun.spec.model_provision import File
from pxrun.spec.paths import LocalFileError, read_named
from pxrun.spec.steps import Step, step_contents


def read_source(spec_dir: Path, relative: str, *, allow_outside: bool = False) -> bytes:
    """One `src`/`template` file; ProvisionError when it escapes the folder or is unusable.
    `allow_outside` is the run's --allow-outside-paths (`LoadedStack.allow_outside_paths`)."""
    try:
        return read_named(spec_dir, relative, allow_outside=allow_outside)
    except LocalFileError as exc:
        raise ProvisionError(f"{relative}: {exc}",
                             hint="keep files next to the spec (a symlink may not leave it)",
                             ) from None


def load_sources(steps: Sequence[Step], spec_dir: Path, *,
                 allow_outside: bool = False) -> dict[str, bytes]:
    """The bytes of every `src`/`template` the file steps name, by their spec path."""
    found: dict[str, bytes] = {}
    for step in steps:
        if step.kind == "files" and isinstance(step.item, File):
            path = step.item.src or step.item.template
            if path is not None and path not in found:
                found[path] = read_source(spec_dir, path, allow_outside=allow_outside)
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
