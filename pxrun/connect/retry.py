"""Retrying transient failures, only for requests that are safe to repeat.

Why so narrow: a POST that timed out may have created the container anyway; repeating it
blindly would create a second one or fail with "already exists". So GETs are always retried,
writes only when the caller says they are idempotent (a PUT of a whole config with its
digest, a DELETE whose "does not exist" counts as done). What is transient is decided by
`errormap.classify` (`ApiError.transient`), not here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from pxrun.errors import ApiError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter (so parallel workers do not retry in step)."""

    attempts: int = 4  # total tries, including the first
    base_delay: float = 0.25  # seconds before the first retry
    max_delay: float = 4.0
    jitter: float = 0.25  # each delay is stretched by up to this share

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The pauses between tries: attempts - 1 of them."""
        rand = rng or random
        delay = self.base_delay
        for _ in range(max(self.attempts - 1, 0)):
            yield min(delay, self.max_delay) * (1 + self.jitter * rand.random())
            delay *= 2


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)


def should_retry(exc: BaseException, *, safe: bool) -> bool:
    """Retry only transient API failures of requests that are safe to repeat."""
    return safe and isinstance(exc, ApiError) and exc.transient


def call_with_retry(fn: Callable[[], T], *, policy: RetryPolicy, safe: bool,
                    sleep: Callable[[float], None] = time.sleep,
                    on_retry: Callable[[ApiError, float], None] | None = None) -> T:
    """Call `fn` until it succeeds, fails for good, or the policy's attempts are used up.

    The last error is raised unchanged, so the caller sees Proxmox's own message.
    """
    delays = policy.delays()
    while True:
        try:
            return fn()
        except ApiError as exc:
            if not should_retry(exc, safe=safe):
                raise
            delay = next(delays, None)
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(exc, delay)
            sleep(delay)
