"""How each cost grows with the number of containers: N = 10, 100, 1,000, 5,000.

    .venv/bin/python bench/bench_growth.py [--sizes 10,100,1000,5000] [--latency-ms 20]
                                           [--apply-max 1000]

Per N, each as a user meets it:
- `pxrun validate` of a stack of N containers (a fresh process): seconds;
- the pure planner, N creates with placement on 4 nodes: seconds;
- `pxrun plan` end to end against N managed containers on 4 nodes at 20 ms latency (a fresh
  process): seconds, API requests, peak RSS;
- `apply` of N creates (tasks at once, 20 ms latency, parallelism 4), up to --apply-max
  (5,000 creates take minutes at that latency and grow linearly): seconds, API requests.
Every figure becomes a RESULT line of table `growth` (bench/run.py makes the table).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_cli import generate_spec  # noqa: E402
from bench_plan import NODES, STORAGES, make_stack  # noqa: E402
from bench_plan_e2e import seeded_simulator, spec_text  # noqa: E402
from results import emit, run_measured  # noqa: E402

from tests.plan.builders import build_observed  # noqa: E402


def grow(name: str, n: int, value: float, unit: str, **extra: object) -> None:
    emit(name, value, unit, table="growth", n=n, **extra)


def validate(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "pxrun.yaml").write_text(generate_spec(max(n, 2)), encoding="utf-8")
        done, wall, cpu, rss = run_measured([sys.executable, "-m", "pxrun", "validate"],
                                            cwd=tmp)
        assert done.returncode == 0, done.stderr
    print(f"N={n}: validate {wall:.3f} s (CPU {cpu:.3f} s, {rss:.0f} MiB)")
    grow("validate (s)", n, wall, "s", cpu=cpu)


def pure_plan(n: int) -> None:
    from pxrun.plan import plan

    stack = make_stack(n)
    empty = build_observed({"nodes": NODES, "storages": STORAGES}, stack)
    started = time.process_time()
    plan(stack, empty)
    cpu = time.process_time() - started
    print(f"N={n}: pure plan of creates {cpu:.3f} s CPU")
    grow("pure plan, creates (CPU s)", n, cpu, "s")


def plan_e2e(n: int, latency_ms: float) -> None:
    with seeded_simulator(n, latency_ms, 32, nodes=4) as (runtime, work, spec, env):
        stats = runtime._http.stats
        before = stats.requests
        done, wall, cpu, rss = run_measured(
            [sys.executable, "-m", "pxrun", "plan", "-f", str(spec), "--detailed-exitcode"],
            env=env, cwd=work)
        requests = stats.requests - before
        assert done.returncode == 0, done.stdout + done.stderr
    print(f"N={n}: plan e2e {wall:.3f} s (CPU {cpu:.3f} s), {requests} requests, "
          f"peak RSS {rss:.0f} MiB")
    grow("plan e2e (s)", n, wall, "s", cpu=cpu)
    grow("plan e2e (requests)", n, requests, "requests")
    grow("plan e2e (peak RSS MiB)", n, rss, "MiB")


def apply_creates(n: int, latency_ms: float) -> None:
    from pxrun.apply.context import ApplyOptions
    from pxrun.apply.engine import apply_plan
    from pxrun.connect.client import ProxmoxerClient
    from pxrun.connect.settings import ConnectionSettings, Endpoint, Secret
    from pxrun.observe.fetch import observe_cluster
    from pxrun.plan import plan
    from pxrun.spec.load import load_stack

    with seeded_simulator(0, latency_ms, 32, nodes=4) as (runtime, _work, spec, _env):
        spec.write_text(spec_text(n), encoding="utf-8")
        facts = runtime.facts
        conn = ConnectionSettings(endpoint=Endpoint("127.0.0.1", facts.port),
                                  token_id=facts.token_id,
                                  token_secret=Secret(facts.token_secret), ca_file=facts.ca_file)
        with ProxmoxerClient(conn) as client:
            loaded = load_stack(spec)
            the_plan = plan(loaded.stack, observe_cluster(client, loaded.stack))
            started = time.perf_counter()
            summary = apply_plan(client, the_plan, options=ApplyOptions(ip_poll=0.02))
            wall = time.perf_counter() - started
        assert summary.ok, [r.error for r in summary.results if r.error][:3]
    requests = summary.requests or 0
    print(f"N={n}: apply of creates {wall:.2f} s, {requests} requests")
    grow("apply creates (s)", n, wall, "s")
    grow("apply creates (requests)", n, requests, "requests")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,5000")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--apply-max", type=int, default=1000)
    args = parser.parse_args()
    for n in (int(x) for x in args.sizes.split(",")):
        validate(n)
        pure_plan(n)
        plan_e2e(n, args.latency_ms)
        if n <= args.apply_max:
            apply_creates(n, args.latency_ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
