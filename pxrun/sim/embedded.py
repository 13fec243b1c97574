"""The embedded simulator behind `pxrun --sim <command>`.

Why in-process and per command: the README quick start must work with nothing running and
nothing configured. Each command brings the state directory (`./.pxrun/sim/` by default) to
life on free loopback ports, runs, and saves, so `pxrun --sim plan` and a later
`pxrun --sim apply` see the same cluster. Starting an existing state takes well under 0.3 s
(no key or certificate generation, two listening sockets).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pxrun.sim.runtime import SimFacts, SimRuntime, init_state, is_initialised


@contextmanager
def running_simulator(state_dir: Path, *, request_log: Path | None = None) -> Iterator[SimFacts]:
    """Initialise `state_dir` on first use, serve it for the duration of the block, save it."""
    state_dir = Path(state_dir)
    if not is_initialised(state_dir):
        init_state(state_dir)
    with SimRuntime(state_dir, request_log=request_log) as runtime:
        yield runtime.facts
