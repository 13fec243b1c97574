"""Rolling replace: the replicas of a count group are replaced a few at a time.

When a change of the spec replaces several replicas of one group (`web: {count: 3}`), they
go `lifecycle.max_unavailable` (default 1) at a time: each later replica waits for an
earlier one's replacement to be up again — started, with its IPv4 address (a `require`
start: no address within the `ip` timeout fails that change), provisioned — before its own
begins. A replica that does not come up stops the roll: the ones after it are skipped (the
engine skips what waits on a failed change). Delete-then-create never runs two generations
of one replica at once; `create_before_destroy` keeps capacity instead (the new one is up
before the old one goes), and is rolled the same way. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pxrun.plan.model import Power, ResourceChange
from pxrun.spec.model import Stack


def roll(stack: Stack, changes: Sequence[ResourceChange],
         order: Callable[[str], int]) -> list[ResourceChange]:
    """`changes` with the replaced replicas of each group chained `max_unavailable` wide."""
    by_address = {c.address: c for c in changes}
    updated: dict[str, ResourceChange] = {}
    for members in stack.groups.values():
        replaced = sorted((m for m in members if m in by_address
                           and by_address[m].action.is_replace
                           and by_address[m].operations), key=order)
        if len(replaced) < 2:
            continue
        for i, address in enumerate(replaced):
            width = stack.containers[address].lifecycle.max_unavailable
            after = (replaced[i - width],) if i >= width else ()
            updated[address] = _rolled(by_address[address], after)
    return [updated.get(c.address, c) for c in changes]


def _rolled(change: ResourceChange, after: tuple[str, ...]) -> ResourceChange:
    """The change waiting for `after`, its start requiring the container to come up."""
    ops = tuple(op.model_copy(update={"await_address": "require"})
                if isinstance(op, Power) and op.action == "start" and op.vmid is None
                and op.await_address == "wait" else op for op in change.operations)
    return change.model_copy(update={"roll_after": after, "operations": ops})
