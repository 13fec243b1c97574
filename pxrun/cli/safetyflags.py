"""The data-safety flags `plan` and `apply` share: --discard-data, --snapshot and
--rollback-on-failure.

Why plan flags (also on apply): they change the plan itself (a snapshot or a destroyed
volume is an operation the plan shows), so a saved plan already holds them; apply of a
saved plan refuses them rather than pretend to honour them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class SafetyFlags:
    discard_data: bool = False
    snapshot: bool = False
    rollback_on_failure: bool = False

    def __bool__(self) -> bool:
        return self.discard_data or self.snapshot or self.rollback_on_failure


def safety_options(func: F) -> F:
    """Add the three flags; the command receives them as one `safety` argument."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        safety = SafetyFlags(discard_data=kwargs.pop("discard_data"),
                             snapshot=kwargs.pop("snapshot"),
                             rollback_on_failure=kwargs.pop("rollback_on_failure"))
        return func(*args, safety=safety, **kwargs)

    options = [
        click.option("--discard-data", is_flag=True,
                     help="Let a replace or prune destroy data volumes (mount point volumes, "
                          "unused disks); the plan names each. Without it they are handed to "
                          "the new container, and a prune that would destroy them is refused."),
        click.option("--snapshot", is_flag=True,
                     help="Snapshot (pxrun-<time>) each container before a change that "
                          "restarts, migrates or moves it, as lifecycle.snapshot: "
                          "before_change does."),
        click.option("--rollback-on-failure", is_flag=True,
                     help="When a change fails after its snapshot, roll back to it (else "
                          "the error names `pxrun rollback`)."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]
