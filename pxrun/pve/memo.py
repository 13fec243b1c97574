"""`by_value`: remember a pure printer's answer per distinct value.

Why: a plan prints the same few values over and over (10,000 replicas of one `count`
share their network, mount, root filesystem and feature values), and printing a property
string is Python string work per key. The spec's parts are frozen pydantic models, equal
and hashable by value, so one answer per value is the same answer every time. A value
that cannot be hashed (a model holding a list, such as `trunks`) is printed each time.
The cache is bounded (cleared when full): a memo, never state a result depends on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
_MISS = object()
MAXSIZE = 4096


def by_value(function: Callable[P, R]) -> Callable[P, R]:
    """`function` (pure) memoised by the values it is given positionally (a call with
    keyword arguments is not memoised)."""
    cache: dict[tuple[Any, ...], Any] = {}

    @wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs:
            return function(*args, **kwargs)
        try:
            found = cache.get(args, _MISS)
        except TypeError:  # an unhashable value: no memo for it
            return function(*args, **kwargs)
        if found is _MISS:
            if len(cache) >= MAXSIZE:
                cache.clear()
            found = cache[args] = function(*args, **kwargs)
        return found  # type: ignore[no-any-return]

    return call
