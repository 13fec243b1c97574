"""Background imports (`pxrun.cli.prefetch`): they happen, and a failure stays quiet."""

from __future__ import annotations

import subprocess
import sys

from pxrun.cli.prefetch import prefetch

PROBE = """
import sys
from pxrun.cli.prefetch import prefetch
thread = prefetch("wave", "no_such_module_for_pxrun", "colorsys")
thread.join(30)
print("wave" in sys.modules, "colorsys" in sys.modules, prefetch("wave") is None)
"""


def test_modules_are_imported_in_the_background_and_a_missing_one_stops_quietly() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True)
    # wave came in; the missing module stopped the list quietly (no traceback) before
    # colorsys; a module already there starts no thread
    assert out.stdout.split() == ["True", "False", "True"] and out.stderr == ""


def test_nothing_to_do_starts_no_thread() -> None:
    assert prefetch("sys", "os") is None
