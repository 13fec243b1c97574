"""The state one apply shares between its workers, and the per-change `Run` that steps use.

A step is one API call (plus the wait for its task): `Run.step` names it for the hook,
takes its node/storage slots from the limiter, and records it as done. `Run.call` retries
what Proxmox reports as transient (`got timeout` on a config lock, a 5xx, a reset
connection) with backoff; when a write may have reached Proxmox before the connection
failed, the caller's `maybe_done` decides whether the error of the retry ("already
running", "already exists", "does not exist") means that the first attempt succeeded.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pxrun.apply.limits import Limiter, Limits, node_key, storage_key
from pxrun.connect.tasks import PollPolicy, wait_task
from pxrun.errors import ApiError, ApplyError, UnreachableError

if TYPE_CHECKING:
    from pxrun.apply.hooks import Hook, Provisioner, RootRunner, TailnetRemover
    from pxrun.apply.secrets import SecretSource
    from pxrun.apply.vmid import VmidAllocator
    from pxrun.connect.client import ProxmoxClient
    from pxrun.connect.tasks import TaskResult
    from pxrun.plan.model import ResourceChange, RestartPolicy

# Seconds each kind of operation may take (`--timeout KIND=SECONDS`). `shutdown` is also
# what Proxmox is given to shut a container down cleanly before pxrun stops it hard.
DEFAULT_TIMEOUTS: Mapping[str, float] = MappingProxyType({
    "create": 600, "download": 1800, "start": 180, "shutdown": 60, "stop": 120,
    "reboot": 240, "delete": 600, "resize": 600, "move": 3600, "migrate": 3600, "ip": 60,
    "snapshot": 600, "backup": 7200,
})
MAYBE_SENT = "maybe-sent"  # a marker value: the write may have been carried out
log = logging.getLogger(__name__)


class StepCancelled(Exception):
    """A step that was waiting for a node or storage slot when Ctrl-C came: not started."""


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply. `restart` overrides the plan's restart policy for restarts that are
    not required (`auto` / `never` / `ask`); None keeps the plan's. `root_runner` carries
    out the writes the plan routed through the node; `provisioner` runs the provisioning
    steps the plan names; `secrets` gives the values of the secrets the plan refers to;
    `tailnet` removes deleted containers' nodes from their tailnet."""

    parallelism: int = 4
    limits: Limits = field(default_factory=Limits)
    timeouts: Mapping[str, float] = field(default_factory=lambda: DEFAULT_TIMEOUTS)
    restart: RestartPolicy | None = None
    root_runner: RootRunner | None = None
    provisioner: Provisioner | None = None
    secrets: SecretSource | None = None
    tailnet: TailnetRemover | None = None
    shared_storages: frozenset[str] | None = None  # None: read from the cluster once
    retry_attempts: int = 5
    retry_delay: float = 0.25  # first backoff; doubles up to 4 s, with jitter
    ip_poll: float = 0.25  # first pause between `interfaces` polls
    # Task polling: fast first, then at most every 0.5 s. A 1 s cap (the client's default,
    # tuned for single calls) makes each create and start finish up to a second late,
    # which costs an apply of many containers a third of its wall time.
    poll: PollPolicy = field(default_factory=lambda: PollPolicy(first=0.05, factor=2.0,
                                                                cap=0.5))

    def timeout(self, kind: str) -> float:
        return float(self.timeouts.get(kind, DEFAULT_TIMEOUTS.get(kind, 600)))


@dataclass
class Shared:
    """What every worker of one apply shares."""

    client: ProxmoxClient
    hook: Hook
    options: ApplyOptions
    stack: str
    limiter: Limiter
    vmids: VmidAllocator
    stop: threading.Event = field(default_factory=threading.Event)
    shared_storages: frozenset[str] = frozenset()
    ask_lock: threading.Lock = field(default_factory=threading.Lock)
    downloads: dict[tuple[str, str, str], Future] = field(default_factory=dict)
    downloads_lock: threading.Lock = field(default_factory=threading.Lock)
    vmids_made: dict[str, int] = field(default_factory=dict)  # address -> vmid it now has

    def storage_key(self, node: str, storage: str) -> str:
        return storage_key(node, storage, storage in self.shared_storages)


class Future:
    """A one-shot result other workers can wait for (one template download or image pull
    per node)."""

    def __init__(self, what: str = "the template download") -> None:
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._value: Any = None
        self.what = what

    def set(self, error: BaseException | None = None, value: Any = None) -> None:
        self._error = error
        self._value = value
        self._done.set()

    def wait(self) -> Any:
        self._done.wait()
        if self._error is not None:
            raise ApplyError(f"{self.what} failed: {self._error}")
        return self._value


@dataclass
class Run:
    """One change being applied: where the container is now and what has been done."""

    shared: Shared
    change: ResourceChange
    node: str | None = None
    vmid: int | None = None
    digest: str | None = None  # sent with the first write only (later ones follow our own)
    # An operation rewrote the config (migrate, move, resize, a start applying what was
    # pending, reassign, snapshot): the next write re-reads the digest instead.
    config_rewritten: bool = False
    # (name, ran when taken, roll back on failure): the snapshot this change took first.
    snapshot: tuple[str, bool, bool] | None = None
    created: bool = False  # this run created the container (a later failure taints it)
    tainted: bool = False  # a provisioning step failed and the marker says so
    running: bool | None = None  # known power state after our own steps
    steps_done: list[str] = field(default_factory=list)
    current: str = ""
    warnings: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # keys Proxmox holds pending
    left_pending: list[str] = field(default_factory=list)  # ... and that we did not restart for
    ip: str | None = None

    @property
    def address(self) -> str:
        return self.change.address

    @property
    def client(self) -> ProxmoxClient:
        return self.shared.client

    def where(self) -> tuple[str, int]:
        if self.node is None or self.vmid is None:
            raise ApplyError(f"{self.address}: no container to act on (the plan names none)")
        return self.node, self.vmid

    def path(self, suffix: str = "") -> str:
        node, vmid = self.where()
        return f"nodes/{node}/lxc/{vmid}{'/' + suffix if suffix else ''}"

    @contextmanager
    def acting_on(self, node: str, vmid: int) -> Iterator[None]:
        """Point the run at another container for a while (the old one of a replace, once
        the new one exists), then back, with the new one's power state."""
        saved = (self.node, self.vmid, self.running, self.digest, self.config_rewritten)
        self.node, self.vmid, self.running = node, vmid, None
        self.digest, self.config_rewritten = None, False
        try:
            yield
        finally:
            (self.node, self.vmid, self.running, self.digest,
             self.config_rewritten) = saved

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        self.shared.hook.warning(self.address, message)

    def node_keys(self, *storages: str, node: str | None = None) -> list[str]:
        where = node or self.node or ""
        return [node_key(where), *(self.shared.storage_key(where, s) for s in storages if s)]

    @contextmanager
    def step(self, name: str, keys: Sequence[str] = (), detail: str = "") -> Iterator[None]:
        """One named step holding `keys` slots; reported to the hook, recorded when done."""
        # Ctrl-C while waiting for a slot: the step never starts (nothing was sent).
        if keys and not self.shared.limiter.acquire(keys, cancelled=self.shared.stop):
            raise StepCancelled(name)
        started = time.monotonic()
        self.current = name
        self.shared.hook.step_started(self.address, name, detail)
        try:
            yield
        finally:
            if keys:
                self.shared.limiter.release(keys)
        self.current = ""  # kept on a failure: the error names the step it happened in
        self.steps_done.append(name)
        self.shared.hook.step_finished(self.address, name, time.monotonic() - started)

    def call(self, method: str, path: str, *,
             maybe_done: Callable[[ApiError], bool] | None = None,
             verify: Callable[[], bool] | None = None, **params: Any) -> Any:
        """A write with retries of transient failures. Once an attempt may have been carried
        out (its answer was lost), `verify()` looks before the write is sent again: True means
        it was, and the call returns MAYBE_SENT; so it does when a retry's error is one that
        `maybe_done` reads as "an earlier attempt succeeded"."""
        options = self.shared.options
        delay = options.retry_delay
        sent = False
        for attempt in range(1, max(options.retry_attempts, 1) + 1):
            if sent and verify is not None and verify():
                return MAYBE_SENT
            try:
                return getattr(self.client, method)(path, **params)
            except ApiError as exc:
                if sent and maybe_done is not None and maybe_done(exc):
                    return MAYBE_SENT
                if not exc.transient or attempt >= options.retry_attempts:
                    raise
                # A lock timeout happens before Proxmox writes anything; a lost connection
                # or a failed worker fork may come after the request took effect.
                sent = sent or isinstance(exc, UnreachableError) or "no worker" in exc.reason
                pause = min(delay, 4.0) * (1 + 0.25 * random.random())
                log.info("%s: retrying %s /%s in %.2f s after: %s", self.address,
                         method.upper(), path, pause, exc.message)
            time.sleep(pause)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def wait(self, upid: Any, kind: str, step: str) -> TaskResult | None:
        """Wait for the task a call returned (None when the call returned MAYBE_SENT)."""
        if not isinstance(upid, str) or not upid.startswith("UPID:"):
            return None
        self.shared.hook.task_started(self.address, step, upid)
        options = self.shared.options
        result = wait_task(self.client.get, upid, timeout=options.timeout(kind),
                           poll=options.poll)
        for line in result.warnings:
            self.warn(f"{step}: task warning: {line}")
        return result

    def task(self, method: str, path: str, *, kind: str, step: str, task_type: str = "",
             node: str | None = None, maybe_done: Callable[[ApiError], bool] | None = None,
             verify: Callable[[], bool] | None = None, **params: Any) -> TaskResult | None:
        """Start a task (with retries) and wait for it. After a lost answer the task it
        started is looked for among `node`'s running tasks of `task_type` for this
        container (a task holds the container's lock, so it is ours) and waited for; if none
        runs, `verify()` says whether the work is done, else the request is sent again."""
        found: list[str] = []

        def look() -> bool:
            upid = self._running_task(node or self.node, task_type) if task_type else None
            if upid is not None:
                found.append(upid)
                return True
            return verify() if verify is not None else False

        upid = self.call(method, path, maybe_done=maybe_done,
                         verify=look if task_type or verify else None, **params)
        if upid == MAYBE_SENT and found:
            upid = found[-1]
        return self.wait(upid, kind, step)

    def _running_task(self, node: str | None, task_type: str) -> str | None:
        """The UPID of a running `task_type` task for this container on `node`, if any."""
        if node is None:
            return None
        try:
            tasks = self.client.get(f"nodes/{node}/tasks", source="active",
                                    typefilter=task_type, vmid=self.vmid)
        except ApiError:
            return None
        for item in tasks if isinstance(tasks, list) else []:
            upid = item.get("upid") if isinstance(item, dict) else None
            if isinstance(upid, str) and upid.startswith("UPID:"):
                return upid
        return None
