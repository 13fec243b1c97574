"""Import modules in the background while the process waits on the network.

Why: `apply` spends most of its wall time waiting for Proxmox (task polls, round trips),
and then imports rich to print its summary table — 50 to 100 ms of CPU after the last
request, at the very end of the run. Imported in a daemon thread while the engine waits,
that time overlaps the waiting (a thread waiting on a socket does not hold the GIL).

Two threads importing at once can only deadlock through a cycle of module-level imports.
Only rich is prefetched, whose modules import each other without a cycle (rich 13 to 15),
never pxrun's own modules (the packages' `__init__` files import their submodules). A
failure is ignored here: the real import, where the module is used, raises it as always.
"""

from __future__ import annotations

import importlib
import sys
import threading


def prefetch(*modules: str) -> threading.Thread | None:
    """Start importing `modules` in a daemon thread; None when all are imported already."""
    missing = [m for m in modules if m not in sys.modules]
    if not missing:
        return None

    def load() -> None:
        for name in missing:
            try:
                importlib.import_module(name)
            except Exception:  # raised again by the import that needs it
                return

    thread = threading.Thread(target=load, name="pxrun-prefetch", daemon=True)
    thread.start()
    return thread
