"""Apply throughput: 50 creates at a 2 s create task, 0.5 s start task and 20 ms latency.

    .venv/bin/python bench/bench_apply.py [--containers 50] [--nodes 3] [--latency-ms 20]
        [--create-s 2] [--start-s 0.5] [--parallelism 4] [--node-limit 2] [--storage-limit 2]

The simulator runs in a child process (its task threads and TLS work must not share our
interpreter's lock). The spec is planned against it as `pxrun plan` would (node: auto
spreads the containers), then `apply_plan` runs through the real client over HTTPS.

Ideal for the configured limits: every create is one create task and one start task on its
node's local storage, so at most `min(parallelism, nodes x node-limit, nodes x
storage-limit)` of them run at once: ideal = ceil(N / effective) x (create + start).
Target: wall time <= 1.2 x ideal. Also printed: API requests per container.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import simchild  # bench/ is on sys.path when a benchmark runs as a script
from results import emit

STACK = "bench"


def serve(state_dir: Path, nodes: int, latency_ms: float, create_s: float,
          start_s: float) -> None:
    """Child: a fresh cluster with real task durations, served until stdin closes."""
    from pxrun.sim.cluster import GIB, Node, default_bridges, default_storages
    from pxrun.sim.settings import Faults, SimSettings
    from pxrun.sim.state import Simulator

    settings = SimSettings(time_scale=1.0, seed=1, concurrency=32,
                           faults=Faults(latency_ms=latency_ms))
    settings.task_durations.update({"vzcreate": create_s, "vzstart": start_s})
    sim = Simulator(settings)
    names = [f"pve{i}" for i in range(1, nodes + 1)]
    for i, name in enumerate(names, start=1):
        sim.nodes[name] = Node(name=name, cpus=64, maxmem=512 * GIB, base_mem=4 * GIB,
                               nodeid=i, ip=f"10.20.0.{i + 1}")
    sim.storages = default_storages(names)
    sim.bridges = default_bridges(names)
    simchild.serve(sim, state_dir)


SPEC = """\
version: 1
stack: {stack}
defaults:
  template: debian-12
  storage: local-lvm
  resources: {{cores: 1, memory: 256, swap: 0, disk: 2}}
  networks:
    net0: {{bridge: vmbr0, ip: dhcp}}
containers:
  ct: {{count: {count}}}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=50)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--create-s", type=float, default=2.0)
    parser.add_argument("--start-s", type=float, default=0.5)
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument("--node-limit", type=int, default=2)
    parser.add_argument("--storage-limit", type=int, default=2)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve), args.nodes, args.latency_ms, args.create_s, args.start_s)
        return 0

    from pxrun.apply.context import ApplyOptions
    from pxrun.apply.engine import apply_plan
    from pxrun.apply.limits import Limits
    from pxrun.connect.client import ProxmoxerClient
    from pxrun.observe.fetch import observe_cluster
    from pxrun.plan.planner import plan as make_plan
    from pxrun.spec.load import load_stack

    with tempfile.TemporaryDirectory() as tmp:
        child = simchild.Child(__file__, "--serve", tmp, "--nodes", str(args.nodes),
                               "--latency-ms", str(args.latency_ms),
                               "--create-s", str(args.create_s), "--start-s", str(args.start_s))
        spec = Path(tmp) / "pxrun.yaml"
        spec.write_text(SPEC.format(stack=STACK, count=args.containers), encoding="utf-8")
        with ProxmoxerClient(child.settings()) as client:
            loaded = load_stack(spec)
            plan = make_plan(loaded.stack, observe_cluster(client, loaded.stack))
            assert not plan.errors, plan.errors
            placed: dict[str, int] = {}
            for change in plan.changes:
                placed[change.node or "?"] = placed.get(change.node or "?", 0) + 1
            options = ApplyOptions(parallelism=args.parallelism,
                                   limits=Limits(node=args.node_limit,
                                                 storage=args.storage_limit))
            started = time.perf_counter()
            summary = apply_plan(client, plan, options=options)
            wall = time.perf_counter() - started
        stats = child.finish()
    done = summary.counts()["done"]
    per_node = min(args.node_limit, args.storage_limit)
    effective = min(args.parallelism, sum(min(n, per_node) for n in placed.values()))
    task = args.create_s + args.start_s
    ideal = math.ceil(args.containers / effective) * task
    print(f"apply: {args.containers} creates on {args.nodes} nodes {dict(sorted(placed.items()))},"
          f" create {args.create_s:g} s + start {args.start_s:g} s, "
          f"{args.latency_ms:g} ms latency")
    print(f"  limits: parallelism {args.parallelism}, {args.node_limit} per node, "
          f"{args.storage_limit} per storage -> effective parallelism {effective}")
    print(f"  done {done}/{args.containers}; wall {wall:.2f} s; ideal "
          f"ceil({args.containers}/{effective}) x {task:g} s = {ideal:.2f} s; "
          f"ratio {wall / ideal:.3f} (target <= 1.2)")
    requests = summary.requests or 0
    print(f"  API requests: {requests} ({requests / args.containers:.1f} per container; "
          f"task status polls included); server max in flight {stats['max_in_flight']}")
    emit(f"apply {args.containers} creates ({args.create_s:g} s task)", wall / ideal, "x ideal",
         target="<= 1.2 x ideal", ok=wall / ideal <= 1.2 and done == args.containers,
         note=f"wall {wall:.1f} s, ideal {ideal:.1f} s, {requests / args.containers:.1f} "
              "requests per container")
    return 0 if done == args.containers else 1


if __name__ == "__main__":
    raise SystemExit(main())
