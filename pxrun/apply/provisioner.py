"""The provisioner apply uses: the spec's steps, run through the provision layer's session.

Why the spec at apply time: the plan names the steps (labels) and holds no secret; the
steps themselves, with the root password, the Tailscale key and the rendered templates,
are read from the spec right before they run, and their values stay in memory. A saved
plan is only applied with the spec it was made from (its hash covers the stack, the
secrets and the local files), so the steps are the ones the plan was made with.

Each step that succeeds is reported with the fingerprint it ran with (computed here from
what was actually sent), so the marker records what ran; a failure comes back in
`Provisioned.error` with the steps that succeeded before it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from pxrun.apply.hooks import Provisioned
from pxrun.errors import ApplyError, ProvisionError
from pxrun.provision.sources import file_contents, load_sources
from pxrun.spec.steps import (
    fingerprint_key,
    provision_steps,
    secret_tree,
    stack_secrets,
    step_fingerprints,
)

if TYPE_CHECKING:
    from pxrun.spec.model import Stack
    from pxrun.spec.steps import Step


class Session(Protocol):
    """What is used of `pxrun.provision.runner.ProvisionSession` (named structurally: apply
    may not import the module that imports Fabric, import-linter holds it to that)."""

    def transport(self, node: str, vmid: int, *, via: str = "pct",
                  address: str | None = None) -> Any: ...

    def provision(self, name: str, transport: Any, steps: Sequence[Step], *, hostname: str,
                  contents: Mapping[str, bytes] | None = None, timeout: float | None = None,
                  on_output: Callable[[str, str, str], None] | None = None,
                  on_step: Callable[[str, str, str, float], None] | None = None,
                  on_result: Callable[[Any], None] | None = None) -> Any: ...

    def log_path(self, name: str) -> Path: ...

    def with_secrets(self, secrets: frozenset[str]) -> Session: ...


class StackProvisioner:
    """apply's `Provisioner` for one stack: `session` holds the SSH connections (shared
    with `pct set`) and the log folder; `stack`, `spec_dir` (or `sources`: the files
    already read, by their path in the spec) and `secrets` (the loaded spec's named
    secrets) say what each step is."""

    def __init__(self, session: Session, stack: Stack | None = None, *,
                 spec_dir: Path = Path(), secrets: Mapping[str, str] | None = None,
                 sources: Mapping[str, bytes] | None = None,
                 allow_outside: bool = False) -> None:
        self.session = session
        self.stack = stack
        self.spec_dir = spec_dir
        self.sources = sources
        self.allow_outside = allow_outside  # the run's --allow-outside-paths
        self.secrets: Mapping[str, str] = MappingProxyType(dict(secrets or {}))
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def for_spec(self, stack: Stack, spec_dir: Path, secrets: Mapping[str, str], *,
                 sources: Mapping[str, bytes] | None = None,
                 allow_outside: bool = False) -> StackProvisioner:
        """The same connections, for the spec an apply carries out: its steps, its files,
        and its secret values, which every output line and log is redacted of."""
        session = self.session.with_secrets(stack_secrets(stack, secrets))
        return StackProvisioner(session, stack, spec_dir=spec_dir, secrets=secrets,
                                sources=sources, allow_outside=allow_outside)

    def _fingerprint_key(self) -> bytes:
        """Derived once per apply (slow on purpose), and only when a step holds a secret."""
        with self._lock:
            if self._key is None:
                assert self.stack is not None
                self._key = fingerprint_key(self.stack.stack,
                                            stack_secrets(self.stack, self.secrets))
            return self._key

    def provision(self, address: str, *, node: str, vmid: int, steps: Sequence[str],
                  ip: str | None, on_output: Callable[[str, str], None],
                  on_step: Callable[[str, str, float], None]) -> Provisioned:
        stack = self.stack
        container = stack.containers.get(address) if stack is not None else None
        if stack is None or container is None:
            raise ApplyError(f"the plan provisions {address}, which the spec does not have",
                             hint="run `pxrun plan` again with this spec")
        by_label = {step.label: step for step in provision_steps(container)}
        unknown = [label for label in steps if label not in by_label]
        if unknown:
            raise ApplyError(f"the plan names provisioning steps {address} does not have in "
                             f"the spec: {', '.join(unknown)}",
                             hint="run `pxrun plan` again with this spec")
        chosen = [by_label[label] for label in steps]
        log = str(self.session.log_path(address))
        try:
            sources = (dict(self.sources) if self.sources is not None
                       else load_sources(chosen, self.spec_dir,
                                         allow_outside=self.allow_outside))
            contents = file_contents(container, chosen, sources,
                                     {"vars": dict(stack.vars),
                                      "secrets": secret_tree(self.secrets)})
        except ProvisionError as exc:
            return Provisioned(log=log, error=exc)
        fingerprints = step_fingerprints(chosen, self._fingerprint_key,
                                         stack_secrets(stack, self.secrets), contents)
        ran: dict[str, str] = {}

        def on_result(outcome: Any) -> None:  # a provision.runner.StepOutcome
            if outcome.status == "ok" and outcome.label in fingerprints:
                ran[outcome.label] = fingerprints[outcome.label]

        prov = container.provision
        hostname = container.hostname or container.name
        tailnet = None
        if prov is not None and prov.tailscale is not None:
            tailnet = prov.tailscale.hostname or hostname
        try:
            transport = self.session.transport(node, vmid, via=prov.via if prov else "pct",
                                               address=ip)
            result = self.session.provision(
                address, transport, chosen, hostname=hostname, contents=contents,
                timeout=float(prov.timeout) if prov is not None else None,
                on_output=lambda label, stream, line: on_output(label, line),
                on_step=lambda name, label, event, seconds: on_step(label, event, seconds),
                on_result=on_result)
        except ProvisionError as exc:
            return Provisioned(ran=ran, log=log, error=exc,
                               tailnet=tailnet if "tailscale" in ran else None)
        return Provisioned(ran=ran, failed=result.failed, log=str(result.log),
                           tailnet=tailnet if "tailscale" in ran else None)
