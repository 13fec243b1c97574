"""One machine-readable line per benchmark result, for `bench/run.py` to collect.

Each benchmark prints its own human lines as before, plus `RESULT {json}` lines: the name,
the measured value and its unit, the target in words and whether it was met (None: a figure
without a target), and a note. The runner turns them into bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from typing import Any

PREFIX = "RESULT "


def emit(name: str, value: float | None, unit: str, *, target: str = "", ok: bool | None = None,
         note: str = "", table: str = "targets", **extra: Any) -> None:
    """Print one result line (`table` says where the runner puts it)."""
    print(PREFIX + json.dumps({"name": name, "value": value, "unit": unit, "target": target,
                               "ok": ok, "note": note, "table": table, **extra},
                              sort_keys=True), flush=True)


def run_measured(argv: list[str], **kwargs: Any,
                 ) -> tuple[subprocess.CompletedProcess[str], float, float, float]:
    """Run a child to completion: (result, wall s, CPU s (user + sys), peak RSS MiB).

    CPU time is what a loaded machine inflates least, so benchmarks report it beside the
    wall time; the rusage is this child's own (wait4), not the whole process tree's.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                text=True, **kwargs)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(argv, proc.returncode, out.read(), err.read())
    return done, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
