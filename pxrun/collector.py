"""The cyclic garbage collector rests while pxrun allocates in bulk: a command's run, a plan.

Why: a pxrun command allocates millions of container objects in a burst (pydantic's
validators at start-up, then one model per container observed and planned) and frees almost
none of them by cycle: a plan of 500 containers leaves ~670 objects for the collector in the
whole run. CPython still starts a collection every 700 allocations, and each older
generation's collection walks every object that survived so far, which on a heap of
pydantic schemas is mostly cache misses. Measured on `plan` of 500 containers: 19 % of the
CPU time (1.49 -> 1.21 s), of 5,000 containers 7.5 -> 6.0 s, and `validate` of the quick start
0.52 -> 0.44 s, with the same peak RSS (66 and 170 MiB either way). Mercurial rests the
collector the same way while it parses large files (`util.nogc`).

Reference counting frees everything else as usual; only cycles wait. So the commands that
run for minutes or for ever turn collection back on when their long phase starts: `watch`
(before its first cycle), `sim serve`, and apply's execution (`cli/applyflow`). Everything
else is bounded by what it reads and ends. The planner pauses it around each plan as well
(`plan.planner.plan`), for the callers that collect meanwhile (`watch` plans every cycle):
for 10,000 creates the collector re-scanned the whole spec and cluster 4 times, 3 of 8
seconds, and found no garbage.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


class _State:
    paused = False  # by collector_paused, which turns the collector on again at its end


@contextmanager
def collector_paused(*, restore: bool = True) -> Iterator[None]:
    """Run the body without cyclic garbage collection; afterwards the collector is on
    again, as it was (`restore`). A collector that was already off (a host program's
    choice) stays off and is not turned on by `resume_collector`.

    `restore=False` is for the process's own entry point, which exits next: turned on
    there, the collector would first walk everything the command allocated (nothing of it
    was ever collected, so all of it is young) only to have the process exit.
    """
    if not gc.isenabled():  # off: the host's choice, or an enclosing pause's
        yield
        return
    gc.disable()
    outer, _State.paused = _State.paused, True
    try:
        yield
    finally:
        _State.paused = outer
        if restore:
            gc.enable()


def resume_collector() -> None:
    """A long-running phase starts: collect cycles again (no-op outside a paused run)."""
    if _State.paused:
        gc.enable()
