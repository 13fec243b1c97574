"""Wall time of `pxrun plan` end to end against 500 managed containers at 20 ms latency.

    .venv/bin/python bench/bench_plan_e2e.py [--containers 500] [--latency-ms 20]
                                              [--concurrency 32] [--runs 3]

A simulator runs in this process (pxrun.sim.runtime) with N containers of stack `bench`
created through the API (tasks finish at once, no latency while seeding). Then latency and
the server's concurrency limit are switched on, and `pxrun plan` runs as a child process,
exactly as a user or CI job runs it: a fresh Python, connection settings from the
environment (PROXMOX_HOST, PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET, PROXMOX_CA_FILE).
The wall time therefore includes interpreter start, imports, spec loading, observing,
planning and rendering. Target: <= 1.5 s for 500 containers at 20 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
SPEC = """\
version: 1
stack: bench
defaults:
  template: {template}
  storage: local-lvm
  resources: {{cores: 1, memory: 256, swap: 0, disk: 1}}
  networks:
    net0: {{bridge: vmbr0, ip: dhcp}}
  state: stopped
containers:
  ct:
    count: {count}
"""


def seed(client: object, nodes: tuple[str, ...], count: int) -> None:
    """Create ct-1..ct-N (stack bench) round-robin over the nodes, as apply would, eight
    at a time."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: _create(client, nodes, i), range(1, count + 1)))


def _create(client: object, nodes: tuple[str, ...], index: int) -> None:
    from pxrun.pve.marker import Marker, join_description, stack_tag

    name = f"ct-{index}"
    marker = Marker(stack="bench", name=name, extra={"template": TEMPLATE})
    upid = client.post(  # type: ignore[attr-defined]
        f"nodes/{nodes[index % len(nodes)]}/lxc", vmid=1000 + index, hostname=name,
        cores=1, memory=256, swap=0, ostemplate=TEMPLATE, storage="local-lvm",
        rootfs="local-lvm:1", net0="name=eth0,bridge=vmbr0,ip=dhcp", unprivileged=1,
        tags=stack_tag("bench"), description=join_description("", marker))
    client.wait_task(upid)  # type: ignore[attr-defined]


@contextmanager
def seeded_simulator(containers: int, latency_ms: float, concurrency: int,
                     ) -> Iterator[tuple[Any, Path, Path, dict[str, str]]]:
    """A simulator in this process with `containers` of stack `bench`, latency and the
    concurrency limit switched on after seeding: (runtime, work dir, spec, environment for
    a `pxrun` child that connects through PROXMOX_* variables)."""
    from pxrun.connect.client import ProxmoxerClient
    from pxrun.connect.settings import ConnectionSettings, Endpoint, Secret
    from pxrun.sim.runtime import SimRuntime, init_state
    from pxrun.sim.settings import SimSettings

    with tempfile.TemporaryDirectory(prefix="pxrun-bench-") as tmp:
        work = Path(tmp)
        state = work / "sim"
        settings = SimSettings(time_scale=0.0, seed=1, concurrency=concurrency)
        init_state(state, settings=settings)
        spec = work / "pxrun.yaml"
        spec.write_text(SPEC.format(template=TEMPLATE, count=containers))
        with SimRuntime(state, settings=settings) as runtime:
            facts = runtime.facts
            conn = ConnectionSettings(endpoint=Endpoint("127.0.0.1", facts.port),
                                      token_id=facts.token_id,
                                      token_secret=Secret(facts.token_secret),
                                      ca_file=facts.ca_file)
            started = time.perf_counter()
            with ProxmoxerClient(conn) as client:
                seed(client, facts.nodes, containers)
            print(f"seeded {containers} containers in {time.perf_counter() - started:.1f} s")
            assert runtime.sim is not None
            runtime.sim.settings.faults.latency_ms = latency_ms
            runtime.sim.settings.concurrency = concurrency
            env = {**os.environ, "PROXMOX_HOST": facts.endpoint,
                   "PROXMOX_TOKEN_ID": facts.token_id,
                   "PROXMOX_TOKEN_SECRET": facts.token_secret,
                   "PROXMOX_CA_FILE": str(facts.ca_file), "NO_COLOR": "1"}
            yield runtime, work, spec, env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=None,
                        help="Also write a cProfile of one more run to this file.")
    args = parser.parse_args()

    with seeded_simulator(args.containers, args.latency_ms, args.concurrency) as (
            runtime, work, spec, env):
        stats = runtime._http.stats  # type: ignore[union-attr]
        command = [sys.executable, "-m", "pxrun", "-v", "plan", "-f", str(spec),
                   "--detailed-exitcode", "-o", str(work / "plan.json")]
        times: list[float] = []
        for run in range(args.runs):
            before = stats.requests
            started = time.perf_counter()
            done = subprocess.run(command, env=env, cwd=work, capture_output=True,
                                  text=True, check=False)
            elapsed = time.perf_counter() - started
            times.append(elapsed)
            summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
            if "Saved the plan" in summary:
                summary = done.stdout.strip().splitlines()[-2]
            print(f"run {run + 1}: {elapsed:.3f} s, {stats.requests - before} requests, "
                  f"exit {done.returncode}: {summary}")
            for line in done.stderr.splitlines():
                if line.startswith("loaded "):
                    print(f"       {line}")
            if done.returncode not in (0, 2):
                print(done.stderr, file=sys.stderr)
                return 1
        if args.profile is not None:
            subprocess.run([sys.executable, "-m", "cProfile", "-o", str(args.profile.resolve()),
                            *command[1:]], env=env, cwd=work, capture_output=True, check=False)
            print(f"profile written to {args.profile}")
    best, median = min(times), statistics.median(times)
    target = "ok" if median <= 1.5 else "over the 1.5 s target"
    print(f"pxrun plan, {args.containers} containers, {args.latency_ms:g} ms latency, "
          f"server concurrency {args.concurrency}: best {best:.3f} s, median {median:.3f} s "
          f"({target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
