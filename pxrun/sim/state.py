"""The simulated cluster's state (placeholder: the simulator issue fills this in)."""

from __future__ import annotations

import threading


class Simulator:
    """The whole simulated cluster. Handlers hold `lock` while they read or change it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
