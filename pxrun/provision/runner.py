"""Running a container's provisioning steps through a transport, and the session apply uses.

`ProvisionSession` is the API for apply: one per apply, holding the SSH connections (one
per node, shared with `pct set`), the run's log folder and the secret values to redact.
`session.provision(...)` probes the container once (`/etc/os-release`), builds each step's
actions (pure, `build*.py`), runs them in order, logs every line (redacted) and reports
each step to the hooks. A failing step stops the container's provisioning with a
ProvisionError naming the step and the log, unless the step has `continue_on_error`.
The fingerprints of the steps that succeeded are in the result, for apply to record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from pxrun.errors import NodeSshError, ProvisionError, PxrunError
from pxrun.provision.actions import (
    FACTS_SCRIPT,
    Exec,
    Facts,
    Put,
    describe,
    parse_facts,
    secrets_in,
)
from pxrun.provision.build import BuildContext
from pxrun.provision.build_apps import actions_for
from pxrun.provision.channel import CommandResult, CommandTimeout
from pxrun.provision.logs import ContainerLog, OutputHook, Redactor, log_path, run_id
from pxrun.provision.sshconn import (
    CONNECT_TIMEOUT,
    ConnectionPool,
    SshTarget,
    container_target,
    node_target,
    open_connection,
)
from pxrun.provision.transport import PctTransport, SshTransport, Transport
from pxrun.spec.steps import Step

if TYPE_CHECKING:
    from pxrun.connect.settings import SshSettings

StepHook = Callable[[str, str, str, float], None]
"""Called with (container, step label, "started" | "ok" | "failed", seconds)."""
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class StepOutcome:
    label: str
    status: str  # ok | failed
    seconds: float
    message: str = ""


@dataclass(frozen=True)
class ProvisionResult:
    """What ran in one container: each step's outcome and the full log's path."""

    container: str
    log: Path
    outcomes: tuple[StepOutcome, ...] = ()
    facts: Facts = field(default_factory=Facts)

    @property
    def succeeded(self) -> tuple[str, ...]:
        return tuple(o.label for o in self.outcomes if o.status == "ok")

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(o.label for o in self.outcomes if o.status == "failed")


class StepRunner:
    """Runs steps in one container through one transport, into one log."""

    def __init__(self, name: str, transport: Transport, log: ContainerLog, *,
                 secrets: frozenset[str], timeout: float = DEFAULT_TIMEOUT,
                 on_step: StepHook | None = None,
                 on_result: Callable[[StepOutcome], None] | None = None) -> None:
        self.name = name
        self.transport = transport
        self.log = log
        self.secrets = secrets
        self.timeout = timeout
        self.on_step = on_step
        self.on_result = on_result
        self._guarded = frozenset(s for s in secrets if len(s) >= 8)

    def probe(self) -> Facts:
        result = self._send(Exec(FACTS_SCRIPT, what="probe /etc/os-release"), "probe")
        if result.status != 0:
            raise self._failure("probe", result, "reading /etc/os-release")
        return parse_facts(result.stdout)

    def run(self, steps: Sequence[Step], *, hostname: str,
            contents: Mapping[str, bytes]) -> ProvisionResult:
        facts = self.probe()
        self.log.note(f"{self.name}: {facts.os_id} {facts.version} ({facts.family}, "
                      f"{facts.init}) via {self.transport.name}")
        ctx = BuildContext(facts, hostname, contents)
        outcomes: list[StepOutcome] = []
        for step in steps:
            started = time.monotonic()
            self._hook(step.label, "started", 0.0)
            self.log.note(f"== {step.label}")
            try:
                self._step(step, ctx)
            except ProvisionError as exc:
                seconds = time.monotonic() - started
                outcomes.append(StepOutcome(step.label, "failed", seconds, exc.message))
                self._report(outcomes[-1])
                self._hook(step.label, "failed", seconds)
                self.log.note(f"!! {step.label} failed: {exc.message}")
                if not step.continue_on_error:
                    raise
                continue
            seconds = time.monotonic() - started
            outcomes.append(StepOutcome(step.label, "ok", seconds))
            self._report(outcomes[-1])
            self._hook(step.label, "ok", seconds)
        return ProvisionResult(self.name, self.log.path, tuple(outcomes), facts)

    def _step(self, step: Step, ctx: BuildContext) -> None:
        try:
            actions = actions_for(step, ctx, self.timeout)
        except PxrunError as exc:
            raise ProvisionError(f"{self.name}: {step.label}: {exc.message}",
                                 step=step.label, log=str(self.log.path)) from None
        for action, what in zip(actions, describe(actions), strict=True):
            self.log.note(f"$ {what}")
            if isinstance(action, Exec):
                result = self._send(action, step.label)
            else:
                result = self._put(action, step.label)
            if result.status != 0:
                raise self._failure(step.label, result, what)

    def _send(self, action: Exec, label: str) -> CommandResult:
        if secrets_in(action.script, self._guarded):
            # never reached by the builders (a property test checks); a safety net. Short
            # values are left out: `admin` in a script is more likely a word than a leak.
            raise ProvisionError(f"{self.name}: {label}: refusing to put a secret into a "
                                 "command line", step=label, log=str(self.log.path))
        timeout = action.timeout or self.timeout
        return self._call(label, lambda: self.transport.run(
            action.script, stdin=action.stdin, timeout=timeout,
            on_output=self._output(label)))

    def _put(self, action: Put, label: str) -> CommandResult:
        return self._call(label, lambda: self.transport.put(
            action, timeout=self.timeout, on_output=self._output(label)))

    def _call(self, label: str, send: Callable[[], CommandResult]) -> CommandResult:
        try:
            return send()
        except CommandTimeout as exc:
            raise ProvisionError(f"{self.name}: {label}: no result after {exc.seconds:g} s "
                                 "(the step's timeout)", step=label,
                                 log=str(self.log.path)) from None
        except NodeSshError as exc:
            raise ProvisionError(f"{self.name}: {label}: {exc.message}", step=label,
                                 log=str(self.log.path), hint=exc.hint) from None

    def _output(self, label: str) -> Callable[[str, str], None]:
        show = label != "probe"  # what the container is: for the log, not the progress view
        return lambda stream, line: self.log.output(label, stream, line, show=show)

    def _failure(self, label: str, result: CommandResult, what: str) -> ProvisionError:
        said = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        tail = self.log.redactor(said[-1].strip()) if said else "no message"
        return ProvisionError(f"{self.name}: {label} failed (exit {result.status}, {what}): "
                              f"{tail}", step=label, log=str(self.log.path))

    def _report(self, outcome: StepOutcome) -> None:
        if self.on_result is not None:
            self.on_result(outcome)

    def _hook(self, label: str, event: str, seconds: float) -> None:
        if self.on_step is not None:
            self.on_step(self.name, label, event, seconds)


class ProvisionSession:
    """One apply's provisioning: shared connections, one log folder per run, the secrets.

    `addresses` is node -> ip from `/cluster/status` (`sshconn.node_addresses`).
    Connections are opened on first use and closed with the session.
    """

    def __init__(self, ssh: SshSettings, *, log_dir: Path, secrets: Iterable[str] = (),
                 addresses: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                 on_output: OutputHook | None = None, on_step: StepHook | None = None,
                 run: str | None = None, pool: ConnectionPool | None = None,
                 connect: Callable[[SshTarget, float], object] = open_connection) -> None:
        self.ssh = ssh
        self.log_dir = log_dir
        self.redactor = Redactor(secrets)
        self.addresses = dict(addresses or {})
        self.timeout = timeout
        self.on_output = on_output
        self.on_step = on_step
        self.run_id = run or run_id()
        self._own_pool = pool is None
        self.pool = pool or ConnectionPool(timeout=CONNECT_TIMEOUT, connect=connect)

    def __enter__(self) -> ProvisionSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._own_pool:
            self.pool.close()

    def with_secrets(self, secrets: Iterable[str]) -> ProvisionSession:
        """The same connections, log folder and run, redacting `secrets` (known once the
        spec is loaded; the session is opened before). Closing it leaves the pool open."""
        return ProvisionSession(self.ssh, log_dir=self.log_dir,
                                secrets=self.redactor.secrets | frozenset(secrets),
                                addresses=self.addresses, timeout=self.timeout,
                                on_output=self.on_output, on_step=self.on_step,
                                run=self.run_id, pool=self.pool)

    def transport(self, node: str, vmid: int, *, via: str = "pct",
                  address: str | None = None, target: SshTarget | None = None) -> Transport:
        """The transport to one container: its node and `pct`, or SSH to `address`."""
        if via == "ssh":
            if target is None and not address:
                raise ProvisionError(f"CT {vmid}: provision.via ssh needs the container's "
                                     "address, and none is known",
                                     hint="give it a static ip, or let it get one by DHCP")
            return SshTransport(self.pool, target or container_target(
                self.ssh, f"CT {vmid}", address or ""), sudo=None)
        return PctTransport(self.pool, target or node_target(self.ssh, node, self.addresses),
                            vmid)

    def provision(self, name: str, transport: Transport, steps: Sequence[Step], *,
                  hostname: str, contents: Mapping[str, bytes] | None = None,
                  timeout: float | None = None, on_output: OutputHook | None = None,
                  on_step: StepHook | None = None,
                  on_result: Callable[[StepOutcome], None] | None = None) -> ProvisionResult:
        """Run `steps` in the container `name` (its address in the stack) through
        `transport`. Raises ProvisionError at the first failing step without
        `continue_on_error` (the log has everything). `on_output`/`on_step` replace the
        session's callbacks for this container (apply reports per container);
        `on_result` sees each step's outcome as it ends (also before a failure)."""
        path = log_path(self.log_dir, self.run_id, name)
        output = on_output if on_output is not None else self._output(name)
        with ContainerLog(path, self.redactor, output) as log:
            runner = StepRunner(name, transport, log, secrets=self.redactor.secrets,
                                timeout=timeout or self.timeout,
                                on_step=on_step if on_step is not None else self.on_step,
                                on_result=on_result)
            return runner.run(steps, hostname=hostname, contents=contents or {})

    def log_path(self, name: str) -> Path:
        """Where this run's log of the container `name` is (or will be)."""
        return log_path(self.log_dir, self.run_id, name)

    def _output(self, name: str) -> OutputHook | None:
        hook = self.on_output
        if hook is None:
            return None
        return lambda label, stream, line: hook(f"{name} {label}", stream, line)
