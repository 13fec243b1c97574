"""What one planning run carries around: inputs, the placer's bookings, the diagnostics.

Created per `plan()` call and dropped with it: the planner has no globals, and the only
mutable state (bookings, collected diagnostics, provisioning fingerprints) lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pxrun.observe.model import Observed, ObservedContainer
from pxrun.plan.fingerprint import spec_hash
from pxrun.plan.model import FieldDiff, Json, PlanDiagnostic, ResourceChange, RestartPolicy
from pxrun.plan.options import PlanOptions
from pxrun.plan.placement import Placer
from pxrun.plan.provision import Provisioning
from pxrun.plan.replicas import Replicas
from pxrun.plan.secrets import Known, known_secrets
from pxrun.pve.options import Site
from pxrun.spec.model import Container, Stack


@dataclass
class PlanContext:
    stack: Stack
    observed: Observed
    options: PlanOptions
    placer: Placer
    provisioning: Provisioning
    replicas: Replicas = field(repr=False)  # containers' JSON and shapes (`replicas.py`)
    diagnostics: list[PlanDiagnostic] = field(default_factory=list)
    _secret_digests: dict[str, str] = field(default_factory=dict, repr=False)
    known: Known = field(default=(), repr=False)  # secrets by value, for `seal`
    _new_site: Site | None = field(default=None, init=False, repr=False)
    _sensitive: frozenset[str] | None = field(default=None, init=False, repr=False)
    _bridges: dict[str, frozenset[str]] = field(default_factory=dict, init=False, repr=False)
    memo: dict[tuple[str, int], Any] = field(default_factory=dict, init=False, repr=False)
    """Facts worked out once per plan (`identity`), kept with what they were made from."""
    no_ops: dict[tuple[Any, ...], ResourceChange] = field(default_factory=dict, init=False,
                                                        repr=False)  # `update._no_op`
    _added: dict[tuple[str, type, Json], FieldDiff] = field(default_factory=dict, init=False,
                                                     repr=False)

    @classmethod
    def start(cls, stack: Stack, observed: Observed, options: PlanOptions) -> PlanContext:
        replicas = Replicas()
        return cls(stack, observed, options, Placer(observed),
                   Provisioning(stack, options, replicas.key), replicas,
                   known=known_secrets(options.secrets))

    def error(self, address: str | None, message: str, hint: str = "",
              path: str | None = None) -> None:
        self.diagnostics.append(PlanDiagnostic(severity="error", address=address,
                                               message=message, hint=hint, path=path))

    def warn(self, address: str | None, message: str, hint: str = "",
             path: str | None = None) -> None:
        self.diagnostics.append(PlanDiagnostic(severity="warning", address=address,
                                               message=message, hint=hint, path=path))

    def site(self, observed: ObservedContainer | None = None) -> Site:
        """What printing a value for `observed` (None: a new container) needs to know."""
        if observed is None:  # the same for every create: made once
            if self._new_site is None:
                self._new_site = Site(stack=self.stack.stack)
            return self._new_site
        return Site(stack=self.stack.stack, vmid=observed.vmid, have=observed.future,
                    volids=observed.volids)

    def restart_policy(self, want: Container) -> RestartPolicy:
        """`lifecycle.restart` of the container, else the run's `--restart`."""
        return want.lifecycle.restart or self.options.restart

    def spec_hash(self) -> str:
        return spec_hash(self.stack, self.options.secrets, self._secret_digests,
                         self.options.file_sources,
                         self.replicas.texts(self.stack.containers))

    def view_secrets(self) -> frozenset[str]:
        """Secret values, to show as SENSITIVE in views (display only)."""
        if self._sensitive is None:
            self._sensitive = frozenset(value for value, _ in self.known)
        return self._sensitive

    def added(self, path: str, value: Json) -> FieldDiff:
        """The diff `+ path: value` of a new container. Frozen, and most of them alike
        across a plan's creates (replicas of a `count`): one per distinct scalar value
        (keyed with its type, so 1, 1.0 and True stay apart); a list or mapping is cheaper
        to build again than to key."""
        kind = value.__class__
        if kind is dict or kind is list:
            return FieldDiff(op="add", path=path, new=value)
        key = (path, kind, value)
        found = self._added.get(key)
        if found is None:
            found = self._added[key] = FieldDiff(op="add", path=path, new=value)
        return found

    def bridges_on(self, node: str) -> frozenset[str]:
        """The bridges of `node` (asked for every container created or re-networked)."""
        found = self._bridges.get(node)
        if found is None:
            found = self._bridges[node] = frozenset(self.observed.bridges_on(node))
        return found

