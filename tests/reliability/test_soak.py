"""The reliability soak: seeded random spec changes x apply under injected faults.

Each round changes the spec at random (add, remove, resize, power, tags, notes, hostname,
timezone, mount points, node, template), plans against the live simulator and applies under
the stack lock, with 5 % 5xx answers, 10 % config-lock timeouts, 5 % failed tasks, 5 % lost
answers (a write carried out, its connection dropped), 50 ms +- jitter per request, and one
node going offline mid-run and coming back. After each round, from the simulator's own model
(the ground truth, not what the client says):

- every wanted container exists, or its change was reported failed or skipped;
- no container outside the stack was touched (foreign ones keep their exact config);
- nothing was deleted that the plan did not delete (containers lost: must be 0);
- no spec name is held by two containers;
- with the faults off, one more apply succeeds and the plan after it is empty.

Deselected by default (`-m "not soak"` in pyproject's addopts); CI runs it as its own step:
`pytest -m soak`. `PXRUN_SOAK_ROUNDS` and `PXRUN_SOAK_SEED` change its length and seed.
"""

from __future__ import annotations

import copy
import logging
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.apply.context import ApplyOptions
from pxrun.apply.engine import apply_plan
from pxrun.apply.hooks import Hook
from pxrun.apply.stacklock import StackLock
from pxrun.apply.summary import ApplySummary
from pxrun.connect.client import ProxmoxerClient
from pxrun.observe.fetch import observe_cluster
from pxrun.plan.model import Plan
from pxrun.plan.options import PlanOptions
from pxrun.plan.planner import plan as make_plan
from pxrun.pve.marker import split_description
from pxrun.sim.settings import SimSettings
from pxrun.spec.load import load_stack
from tests.apply.conftest import make_client
from tests.sim.conftest import SimEnv, sim_env  # noqa: F401  (the simulator fixture)

pytestmark = [pytest.mark.soak, pytest.mark.integration]

STACK = "soak"
ROUNDS = int(os.environ.get("PXRUN_SOAK_ROUNDS", "60"))
LOST = float(os.environ.get("PXRUN_SOAK_LOST_ANSWERS", "0.05"))
SEED = int(os.environ.get("PXRUN_SOAK_SEED", "2024"))
OFFLINE_NODE = "pve3"  # pinned containers stay on pve1/pve2, so plans never need pve3
MAX_CONTAINERS = 12
TASKS = ("vzcreate", "vzstart", "vzshutdown", "vzdestroy", "download", "resize", "vzmigrate")
BUG = re.compile(r"^[\w-]+: [A-Z]\w*(?:Error|Exception): ")  # a Python exception, not Proxmox
OPTIONS = ApplyOptions(parallelism=4, retry_attempts=6, retry_delay=0.05, ip_poll=0.02)


@pytest.fixture
def sim_settings() -> SimSettings:
    return SimSettings(time_scale=0.02, seed=SEED, concurrency=16)


def faults_on(settings: SimSettings) -> None:
    faults = settings.faults
    faults.latency_ms, faults.jitter_ms = 50.0, 20.0
    faults.error_rate, faults.lock_contention, faults.lost_answers = 0.05, 0.10, LOST
    faults.task_failure = dict.fromkeys(TASKS, 0.05)


def faults_off(settings: SimSettings) -> None:
    faults = settings.faults
    faults.latency_ms = faults.jitter_ms = 0.0
    faults.error_rate = faults.lock_contention = faults.lost_answers = 0.0
    faults.task_failure = {}


# -- the random spec ---------------------------------------------------------------------

@dataclass
class SpecModel:
    """The desired containers as plain data; `mutate` makes one random change."""

    rng: random.Random
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    serial: int = 0

    def new(self) -> None:
        self.serial += 1
        entry: dict[str, Any] = {"resources": {"memory": self.rng.choice([256, 384, 512])}}
        if self.rng.random() < 0.3:
            entry["node"] = self.rng.choice(["pve1", "pve2"])
        if self.rng.random() < 0.3:
            entry["state"] = "stopped"
        self.containers[f"c{self.serial}"] = entry

    def mutate(self) -> str:
        if len(self.containers) < 3 or (len(self.containers) < MAX_CONTAINERS
                                        and self.rng.random() < 0.2):
            self.new()
            return "add"
        name = self.rng.choice(sorted(self.containers))
        entry = self.containers[name]
        kind = self.rng.choice(["remove", "memory", "cores", "disk", "power", "tags", "notes",
                                "hostname", "timezone", "mount", "node", "template"])
        resources = entry.setdefault("resources", {})
        if kind == "remove":
            del self.containers[name]
        elif kind == "memory":
            resources["memory"] = self.rng.choice([256, 384, 512, 640])
        elif kind == "cores":
            resources["cores"] = self.rng.choice([1, 2])
        elif kind == "disk":  # only ever grows: a shrink would be a replace
            resources["disk"] = resources.get("disk", 4) + 1
        elif kind == "power":
            entry["state"] = "stopped" if entry.get("state") != "stopped" else "running"
        elif kind == "tags":
            count = self.rng.randint(0, 2)
            entry["tags"] = sorted(self.rng.sample(["blue", "green", "red"], count))
        elif kind == "notes":
            entry["description"] = f"soak note {self.rng.randint(0, 999)}"
        elif kind == "hostname":
            entry["hostname"] = f"{name}-h{self.rng.randint(0, 99)}"
        elif kind == "timezone":  # a pending change: a running container restarts
            entry["timezone"] = self.rng.choice(["UTC", "Europe/Berlin", "America/New_York"])
        elif kind == "mount":
            if entry.get("mounts"):
                del entry["mounts"]
            else:
                entry["mounts"] = {"mp0": {"volume": "local-lvm:1", "path": "/srv/data"}}
        elif kind == "node":  # a migrate for an existing container
            entry["node"] = self.rng.choice(["pve1", "pve2"])
        elif kind == "template":  # a replace
            entry["template"] = "alpine-3.22" if entry.get("template") != "alpine-3.22" \
                else "debian-12"
        return kind

    def write(self, path: Path) -> None:
        doc = {"version": 1, "stack": STACK, "defaults": {
            "template": "debian-12", "storage": "local-lvm",
            "resources": {"cores": 1, "memory": 512, "swap": 128, "disk": 4},
            "networks": {"net0": {"bridge": "vmbr0", "ip": "dhcp"}}},
            "containers": copy.deepcopy(self.containers) or {}}
        path.write_text(yaml.safe_dump(doc, sort_keys=True), encoding="utf-8")


# -- ground truth from the simulator -----------------------------------------------------

def ours(env: SimEnv) -> dict[int, str]:
    """vmid -> spec name of every container carrying this stack's marker."""
    out: dict[int, str] = {}
    with env.sim.lock:
        for vmid, ct in env.sim.containers.items():
            marker = split_description(str(ct.conf.get("description") or ""))[1]
            if marker is not None and marker.stack == STACK:
                out[vmid] = marker.name
    return out


def foreign(env: SimEnv) -> dict[int, dict[str, str]]:
    with env.sim.lock:
        return {vmid: dict(ct.conf) for vmid, ct in env.sim.containers.items()
                if vmid >= 900}


def seed_foreign(client: ProxmoxerClient) -> None:
    """Two containers pxrun must never touch: one of another stack, one by hand."""
    for vmid, node, extra in ((900, "pve1", {"tags": "pxrun-other",
                                             "description": "other stack"}),
                              (901, "pve3", {"hostname": "by-hand"})):
        upid = client.post(f"nodes/{node}/lxc", vmid=vmid, storage="local-lvm",
                           ostemplate="local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                           rootfs="local-lvm:2", memory=256, **extra)
        client.wait_task(upid)


# -- counting ----------------------------------------------------------------------------

class RetryCount(logging.Handler):
    """Counts the client's and apply's "retrying ..." log records."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("retrying") or ": retrying " in record.getMessage():
            self.count += 1


@pytest.fixture
def retries() -> Iterator[RetryCount]:
    handler = RetryCount()
    loggers = [logging.getLogger("pxrun.connect.client"), logging.getLogger("pxrun.apply")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


class NodeFlap(Hook):
    """Takes `node` offline after `after` steps of this apply (and leaves it offline)."""

    def __init__(self, env: SimEnv, node: str, after: int) -> None:
        self.env, self.node, self.after, self.steps = env, node, after, 0

    def step_started(self, address: str, step: str, detail: str = "") -> None:
        self.steps += 1
        if self.steps == self.after:
            self.env.sim.settings.faults.offline_nodes = [self.node]


# -- the soak ----------------------------------------------------------------------------

@dataclass
class Tally:
    rounds: int = 0
    operations: int = 0
    failed_changes: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # by the step that failed
    lost: int = 0
    duplicates: int = 0
    mutations: Counter[str] = field(default_factory=Counter)


def plan_for(client: ProxmoxerClient, spec: Path) -> Plan:
    """The plan, as a user would get it: when the only errors are prunes that would destroy
    data volumes (a removed container had a mount point), planned again with
    --discard-data, as the error's hint says; a replace keeps its data otherwise."""
    loaded = load_stack(spec)
    observed = observe_cluster(client, loaded.stack)
    plan = make_plan(loaded.stack, observed, PlanOptions())
    if plan.errors and all(e.message.startswith("pruning ") and "data volumes" in e.message
                           for e in plan.errors):
        plan = make_plan(loaded.stack, observed, PlanOptions(discard_data=True))
    return plan


def locked_apply(client: ProxmoxerClient, plan: Plan, hook: Hook | None = None,
                 ) -> ApplySummary:
    with StackLock(client, STACK, background=False):
        return apply_plan(client, plan, options=OPTIONS, hook=hook)


def deleted_by(plan: Plan) -> set[int]:
    return {c.vmid for c in plan.changes if c.vmid is not None
            and any(op.op == "delete" for op in c.operations)}


def check_round(env: SimEnv, model: SpecModel, plan: Plan, summary: ApplySummary,
                before: dict[int, str], foreign_before: dict[int, dict[str, str]],
                tally: Tally) -> None:
    after = ours(env)
    names = Counter(after.values())
    dupes = sorted(n for n, k in names.items() if k > 1)
    tally.duplicates += len(dupes)
    assert not dupes, f"two containers hold {dupes}: {after}"
    reported = {r.address for r in summary.results if r.outcome != "done"}
    missing = sorted(set(model.containers) - set(after.values()) - reported)
    assert not missing, f"wanted, not there and not reported failed: {missing}"
    vanished = set(before) - set(after) - deleted_by(plan)
    tally.lost += len(vanished)
    assert not vanished, f"deleted without the plan saying so: {vanished}"
    assert foreign(env) == foreign_before, "a container outside the stack was changed"


@pytest.mark.slow
def test_soak_random_changes_under_faults_lose_nothing(
        sim_env: SimEnv, tmp_path: Path, retries: RetryCount,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    env = sim_env
    rng = random.Random(SEED)
    spec = tmp_path / "pxrun.yaml"
    model = SpecModel(rng)
    tally = Tally()
    started = time.monotonic()
    flap_round, back_round = ROUNDS // 3, ROUNDS // 3 + 2
    with make_client(env, attempts=5) as client:
        seed_foreign(client)
        foreign_before = foreign(env)
        for _ in range(3):
            model.new()
        for number in range(1, ROUNDS + 1):
            if number > 1:
                for _ in range(rng.randint(1, 4)):
                    tally.mutations[model.mutate()] += 1
            model.write(spec)
            faults_on(env.sim.settings)
            if number == back_round:
                env.sim.settings.faults.offline_nodes = []
            before = ours(env)
            plan = plan_for(client, spec)
            assert not plan.errors, plan.errors
            hook = NodeFlap(env, OFFLINE_NODE, after=2) if number == flap_round else None
            summary = locked_apply(client, plan, hook)
            if number == flap_round:  # mid-apply, or after it if it had too few steps
                env.sim.settings.faults.offline_nodes = [OFFLINE_NODE]
            tally.rounds += 1
            tally.operations += sum(len(c.operations) for c in plan.changes)
            for result in summary.results:
                if result.outcome != "done":
                    tally.failed_changes += 1
                    tally.failures[result.error.split(":", 1)[0]] += 1
                    if os.environ.get("PXRUN_SOAK_VERBOSE"):
                        print(f"round {number}: {result.address}: {result.error}")
                    assert not BUG.match(result.error), f"a bug, not a fault: {result.error}"
            check_round(env, model, plan, summary, before, foreign_before, tally)
            # The faults off (a node that is offline stays so): one more apply converges.
            offline = list(env.sim.settings.faults.offline_nodes)
            faults_off(env.sim.settings)
            env.sim.settings.faults.offline_nodes = offline
            before = ours(env)
            again = plan_for(client, spec)
            summary = locked_apply(client, again)
            assert summary.ok, [(r.address, r.error) for r in summary.results if r.error]
            check_round(env, model, again, summary, before, foreign_before, tally)
            left = [(c.address, c.action.value, c.reason) for c in plan_for(client, spec).changes
                    if c.operations]
            assert not left, f"round {number}: not converged: {left}"
    injected = env.sim.injected.snapshot()
    with capsys.disabled():
        print(f"\nsoak (seed {SEED}): {tally.rounds} rounds, {tally.operations} operations "
              f"({dict(sorted(tally.mutations.items()))}), {retries.count} retries, "
              f"{tally.failed_changes} changes reported failed and converged later "
              f"({dict(sorted(tally.failures.items()))}); faults "
              f"injected: {dict(sorted(injected.items()))}; containers lost: {tally.lost}, "
              f"duplicates: {tally.duplicates}; {time.monotonic() - started:.0f} s")
    assert tally.lost == 0 and tally.duplicates == 0
    assert injected.get("lost_answer", 0) > 0
