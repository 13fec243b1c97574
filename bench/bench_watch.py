"""One `pxrun watch` cycle against 500 managed containers at 20 ms latency, and the watch
process's resident memory over 100 cycles.

    .venv/bin/python bench/bench_watch.py [--containers 500] [--latency-ms 20]
                                          [--cycles 100] [--apply-cycles 10]

A simulator runs in this process (as in bench_plan_e2e.py) with N containers of stack
`bench` created through the API; then latency and the server's concurrency limit are
switched on and `pxrun watch` runs as a child process, connected through the environment,
with `--interval 50ms --jitter 0 --cycles N`. The child's JSON log gives each cycle's
duration; its RSS is read from /proc at every `cycle_finished` line. A second run with
`--apply` (this watcher holds the stack lock, reads cluster facts and plans normally)
reports the active cycle. Targets: a cycle <= 1.5 s (as `pxrun plan`), and no RSS growth
between cycle 10 and the last cycle. Each cycle's CPU time (the watcher's own, all
threads) is printed too: on a shared machine it is the number to compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_plan_e2e import seeded_simulator
from results import emit


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def watch(env: dict[str, str], work: Path, spec: Path, cycles: int,
          *extra: str) -> tuple[list[float], list[float], dict[int, int]]:
    """Run the watcher for `cycles` cycles; (wall seconds, CPU seconds, {cycle: RSS KiB})
    per cycle. CPU is the watcher process's own (all its threads), so it is comparable on
    a busy machine where wall time is not."""
    command = [sys.executable, "-m", "pxrun", "watch", "-f", str(spec), "--interval", "50ms",
               "--jitter", "0", "--cycles", str(cycles), "--listen", "127.0.0.1:0", *extra]
    proc = subprocess.Popen(command, env=env, cwd=work, stdout=subprocess.PIPE, text=True)
    seconds: list[float] = []
    cpu: list[float] = []
    rss: dict[int, int] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "cycle_finished":
            seconds.append(float(event["seconds"]))
            cpu.append(float(event["cpu_seconds"]))
            rss[int(event["cycle"])] = rss_kib(proc.pid)
        elif event["event"] in ("check_failed", "plan_error"):
            print(f"  {event['event']}: {event['error']}", file=sys.stderr)
    proc.wait(timeout=60)
    return seconds, cpu, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--apply-cycles", type=int, default=10)
    args = parser.parse_args()

    with seeded_simulator(args.containers, args.latency_ms, args.concurrency) as (
            _, work, spec, env):
        report_only, report_cpu, rss = watch(env, work, spec, args.cycles)
        active, active_cpu, _ = watch(env, work, spec, args.apply_cycles, "--apply")
    for label, times, cpu in (("report-only", report_only, report_cpu),
                              ("--apply (lock holder)", active, active_cpu)):
        median = statistics.median(times)
        verdict = "ok" if median <= 1.5 else "over the 1.5 s target"
        emit(f"watch cycle, {label}, {args.containers} CTs", median, "s", target="<= 1.5 s",
             ok=median <= 1.5, note=f"best {min(times):.3f} s, {len(times)} cycles")
        print(f"watch cycle, {label}, {args.containers} containers, {args.latency_ms:g} ms "
              f"latency: median {median:.3f} s, best {min(times):.3f} s, worst "
              f"{max(times):.3f} s over {len(times)} cycles ({verdict}); CPU median "
              f"{statistics.median(cpu):.3f} s, best {min(cpu):.3f} s")
    first = min(10, len(rss))
    last = max(rss)
    growth = rss[last] - rss[first]
    print(f"watch RSS: cycle {first} {rss[first] / 1024:.1f} MiB, cycle {last} "
          f"{rss[last] / 1024:.1f} MiB (growth {growth / 1024:+.1f} MiB; cycle 1 "
          f"{rss[1] / 1024:.1f} MiB)")
    emit("watch RSS growth after cycle 10", growth / 1024, "MiB", target="no growth (<= 1 MiB)",
         ok=growth / 1024 <= 1.0, note=f"{rss[last] / 1024:.1f} MiB at cycle {last}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
