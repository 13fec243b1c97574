"""Where each container and each of its fields was written, worked out when asked.

Why lazy: `LoadedStack.locations` answers "which line to change" for the few containers a
plan or an apply error names, but writing down the place of every field of every container
up front was a fifth of loading a 500-container spec.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping


class LazyLocations(Mapping[str, str]):
    """A read-only mapping whose keys are known up front and whose values are computed on
    first access (then kept): `find(key)` gives the value, None for a key it does not hold."""

    def __init__(self, keys: Callable[[], Iterator[str]],
                 find: Callable[[str], str | None]) -> None:
        self._keys, self._find = keys, find
        self._found: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> str:
        try:
            value = self._found[key]
        except KeyError:
            value = self._find(key)
            with self._lock:
                self._found[key] = value
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return self._keys()

    def __len__(self) -> int:
        return sum(1 for _ in self._keys())
