"""Wall time, client CPU and requests of `observe_cluster`: 500 containers, 4 nodes, 20 ms.

    .venv/bin/python bench/bench_observe.py [--containers 500] [--nodes 4] [--latency-ms 20]
                                            [--concurrency 32] [--workers 32] [--runs 5]

The simulator runs in a child process (so its work does not share our interpreter's lock),
built directly through its Python state API — setup only; the observation itself goes over
HTTPS through the real client. Every container carries the stack's tag and marker, so each
costs its one `pending` request. Floor: latency x (2 + containers / workers) — one
`cluster/resources` round trip, then everything else at once. Target: <= 1.0 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import simchild  # bench/ is on sys.path when a benchmark runs as a script
from results import emit

STACK = "bench"


def serve(state_dir: Path, containers: int, nodes: int, latency_ms: float,
          concurrency: int) -> None:
    """Child: build the cluster, serve it, print how to reach it, wait for EOF."""
    from pxrun.sim.cluster import GIB, Node, default_bridges, default_storages
    from pxrun.sim.containers import Container
    from pxrun.sim.settings import Faults, SimSettings
    from pxrun.sim.state import Simulator

    settings = SimSettings(time_scale=0.0, seed=1, concurrency=concurrency,
                           faults=Faults(latency_ms=latency_ms))
    sim = Simulator(settings)
    names = [f"pve{i}" for i in range(1, nodes + 1)]
    for i, name in enumerate(names, start=1):
        sim.nodes[name] = Node(name=name, cpus=64, maxmem=512 * GIB, base_mem=4 * GIB,
                               nodeid=i, ip=f"10.20.0.{i + 1}")
    sim.storages = default_storages(names)
    sim.bridges = default_bridges(names)
    for k in range(containers):
        vmid = 1000 + k
        name = f"ct-{k}"
        marker = json.dumps({"name": name, "stack": STACK, "v": 1}, separators=(",", ":"),
                            sort_keys=True)
        sim.containers[vmid] = Container(vmid=vmid, node=names[k % nodes], conf={
            "arch": "amd64", "cores": "2", "hostname": name, "memory": "1024", "swap": "512",
            "ostype": "debian", "unprivileged": "1", "tags": f"pxrun-{STACK};web",
            "rootfs": f"local-lvm:vm-{vmid}-disk-0,size=8G",
            "net0": f"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:{k // 65536 % 256:02X}:"
                    f"{k // 256 % 256:02X}:{k % 256:02X},ip=dhcp,type=veth",
            "description": f"<!-- pxrun:{marker} -->\n",
        }, status="running" if k % 2 else "stopped")
    simchild.serve(sim, state_dir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve), args.containers, args.nodes, args.latency_ms, args.concurrency)
        return 0

    from pxrun.connect.client import ProxmoxerClient
    from pxrun.observe.fetch import observe_cluster

    with tempfile.TemporaryDirectory() as tmp:
        child = simchild.Child(__file__, "--serve", tmp, "--containers", str(args.containers),
                               "--nodes", str(args.nodes), "--latency-ms", str(args.latency_ms),
                               "--concurrency", str(args.concurrency))
        times: list[float] = []
        cpus: list[float] = []
        with ProxmoxerClient(child.settings(), pool_size=args.workers) as client:
            observe_cluster(client, STACK, workers=args.workers)  # warm: TLS handshakes
            for _ in range(args.runs):
                started, cpu = time.perf_counter(), time.process_time()
                observed = observe_cluster(client, STACK, workers=args.workers)
                times.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)  # this process only: the client
                assert len(observed.containers) == args.containers, len(observed.containers)
        stats = child.finish()
    floor = args.latency_ms / 1000 * (2 + args.containers / args.workers)
    print(f"observe_cluster: {args.containers} containers, {args.nodes} nodes, "
          f"{args.latency_ms:g} ms latency, server concurrency {args.concurrency}, "
          f"{args.workers} workers")
    print(f"  requests per observation: {observed.requests}  "
          f"(N + c·k + 1 with c = 4 per node: lxc list, bridges, catalog, templates; "
          f"{args.containers} + 4·{args.nodes} + 1 = {args.containers + 4 * args.nodes + 1})")
    print(f"  wall time: best {min(times):.3f} s, median {statistics.median(times):.3f} s "
          f"over {args.runs} runs  (floor ≈ {floor:.3f} s, target ≤ 1.0 s)")
    cpu = statistics.median(cpus)
    print(f"  client CPU: median {cpu:.3f} s, {cpu / observed.requests * 1000:.2f} ms per "
          f"request (parsing included)")
    print(f"  server: max in flight {stats['max_in_flight']}, "
          f"{stats['requests']} requests in total")
    median = statistics.median(times)
    emit(f"observe {args.containers} CTs on {args.nodes} nodes @ {args.latency_ms:g} ms", median,
         "s", target="<= 1.0 s", ok=median <= 1.0,
         note=f"{observed.requests} requests, floor {floor:.2f} s, client CPU {cpu:.3f} s",
         cpu=cpu)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
