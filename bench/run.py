"""Run every benchmark in bench/ and write bench/RESULTS.md.

    .venv/bin/python bench/run.py [--quick] [--only NAME] [--out bench/RESULTS.md]

Each benchmark runs as its own process (as documented in its file) and prints `RESULT`
lines (results.py); this runner collects them into one report: the targets of issue 16
with median, target and status, pxrun beside its peers, how each cost grows with N, and
the machine the numbers come from (CPU, cores, memory, Python, load average at the start
and the end). Timings on a loaded machine are not comparable: the load average is in the
report so a reader can tell. `--quick` runs a small, fast subset with smaller sizes (a
check that every benchmark still runs, not numbers to quote).

Before measuring, pxrun's modules are byte-compiled: with PYTHONDONTWRITEBYTECODE set (as
in some CI and agent environments) every start would otherwise compile changed modules
again and time the compiler.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PREFIX = "RESULT "


@dataclass(frozen=True)
class Bench:
    name: str
    argv: tuple[str, ...]
    quick: tuple[str, ...] | None  # None: left out of --quick
    timeout: float = 1800


BENCHES: tuple[Bench, ...] = (
    Bench("cli", ("bench_cli.py",), ("bench_cli.py", "--runs", "3", "--containers", "100")),
    Bench("plan", ("bench_plan.py",), ("bench_plan.py", "--containers", "1000", "--runs", "1")),
    Bench("observe", ("bench_observe.py",), ("bench_observe.py", "--containers", "100",
                                             "--runs", "2")),
    Bench("plan-e2e", ("bench_plan_e2e.py",), ("bench_plan_e2e.py", "--containers", "100",
                                               "--runs", "1")),
    Bench("plan-e2e-proxmox", ("bench_plan_e2e.py", "--node-workers", "3", "--server-time-ms",
                               "5", "--label", "plan e2e, 500 CTs on 4 nodes @ 20 ms, "
                               "Proxmox-like server (3 workers per node, 5 ms each)"),
          ("bench_plan_e2e.py", "--containers", "100", "--runs", "1", "--node-workers", "3",
           "--server-time-ms", "5")),
    Bench("plan-e2e-5000", ("bench_plan_e2e.py", "--containers", "5000", "--runs", "1",
                            "--rss-target-mb", "250"), None),
    Bench("apply", ("bench_apply.py",), ("bench_apply.py", "--containers", "8")),
    Bench("provision", ("bench_provision.py",), ("bench_provision.py", "--steps", "5",
                                                 "--rounds", "2")),
    Bench("apply-provision", ("bench_apply_provision.py",), ("bench_apply_provision.py",
                                                             "--rounds", "1")),
    Bench("peers", ("bench_peers.py",), ("bench_peers.py", "--runs", "1")),
    Bench("watch", ("bench_watch.py",), None),
    Bench("sim-rps", ("bench_sim_rps.py",), ("bench_sim_rps.py", "--seconds", "2")),
    Bench("sim-build", ("bench_sim_build.py",), ("bench_sim_build.py", "--count", "200")),
    Bench("hostile", ("bench_hostile.py",), None),
    Bench("baseline", ("bench_baseline.py",), ("bench_baseline.py", "--runs", "1",
                                               "--plan-runs", "1")),
    Bench("growth", ("bench_growth.py",), ("bench_growth.py", "--sizes", "10,100",
                                           "--apply-max", "100"), timeout=3600),
)


@dataclass
class Outcome:
    bench: Bench
    seconds: float
    returncode: int
    results: list[dict[str, Any]] = field(default_factory=list)
    tail: str = ""


def run(bench: Bench, quick: bool) -> Outcome:
    argv = bench.quick if quick else bench.argv
    assert argv is not None
    started = time.perf_counter()
    print(f"== {bench.name}: {' '.join(argv)}", flush=True)
    try:
        proc = subprocess.run([sys.executable, *argv], cwd=HERE, capture_output=True, text=True,
                              timeout=bench.timeout, check=False)
        out, err, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err, code = f"timed out after {bench.timeout:g} s", -1
    outcome = Outcome(bench, time.perf_counter() - started, code)
    for line in out.splitlines():
        if line.startswith(PREFIX):
            outcome.results.append(json.loads(line[len(PREFIX):]))
        else:
            print(f"   {line}")
    if code != 0:
        outcome.tail = (err.strip().splitlines() or ["(no error output)"])[-1]
        print(f"   exit {code}: {outcome.tail}")
        if outcome.results and code == 1:  # a benchmark that says "missed" by its status
            outcome.returncode = 0
    return outcome


def machine(load_start: tuple[float, ...]) -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                   .splitlines() if line.startswith("MemTotal"))
        memory = f"{mem / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "unknown"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True, check=False).stdout.strip()
    load_end = os.getloadavg()
    return [
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}, commit "
        f"{commit or 'unknown'}",
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {memory}",
        f"- {platform.system()} {platform.release()}; Python {platform.python_version()}",
        f"- load average at the start {_load(load_start)}, at the end {_load(load_end)} "
        f"(above ~0.5 per core, timings are inflated: compare CPU times, or run again on a "
        f"quiet machine)",
    ]


def _load(values: tuple[float, ...]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def _value(result: dict[str, Any]) -> str:
    value = result.get("value")
    if value is None:
        return "—"
    unit = result.get("unit", "")
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit in ("x", "x ideal"):
        return f"{value:.2f} {unit}"
    if isinstance(value, float):
        return f"{value:,.1f} {unit}"
    return f"{value:,} {unit}"


def _status(result: dict[str, Any]) -> str:
    ok = result.get("ok")
    if result.get("value") is None:
        return "not run"
    return "—" if ok is None else ("ok" if ok else "**missed**")


def report(outcomes: list[Outcome], quick: bool, load_start: tuple[float, ...]) -> str:
    results = [r for o in outcomes for r in o.results]
    lines = ["# Benchmark results", "",
             "Written by `bench/run.py`" + (" --quick (a smoke run: small sizes, not numbers "
                                            "to quote)" if quick else "") +
             ". Medians of each benchmark's runs; each tool runs as a fresh process unless "
             "the benchmark says otherwise.", "", "## Machine", "", *machine(load_start), "",
             "## Targets (issue 16)", "", "| benchmark | median | target | status | notes |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {_value(r)} | {r.get('target') or '—'} | {_status(r)} | "
              f"{r.get('note', '')} |" for r in results if r.get("table") == "targets"]
    peers = [r for r in results if r.get("table") == "peers"]
    if peers:
        lines += ["", "## Side by side with peers (same simulator, same latency)", "",
                  "| run | wall time | notes |", "|---|---|---|"]
        lines += [f"| {r['name']} | {_value(r)} | {r.get('note', '')} |" for r in peers]
    baseline = [r for r in results if r.get("table") == "baseline"]
    if baseline:
        lines += ["", "## Where the targets were set (today's code against the code issue 16 "
                  "measured)", "",
                  "Both versions run here in alternating rounds (`bench/bench_baseline.py`), "
                  "so the machine's speed cancels out of their ratio. The value is what "
                  "today's code would take where the issue was measured: the ratio times the "
                  "issue's figure for the old code, or today's time over the machine factor.",
                  "", "| benchmark | projected | target | status | measured here |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['name']} | {_value(r)} | {r.get('target') or '—'} | {_status(r)} | "
                  f"{r.get('note', '')} |" for r in baseline]
    growth = [r for r in results if r.get("table") == "growth"]
    if growth:
        sizes = sorted({int(r["n"]) for r in growth})
        names = list(dict.fromkeys(r["name"] for r in growth))
        lines += ["", "## How each cost grows with N", "",
                  "| cost | " + " | ".join(f"N = {n:,}" for n in sizes) + " |",
                  "|---|" + "---|" * len(sizes)]
        for name in names:
            cells = []
            for n in sizes:
                found = next((r for r in growth if r["name"] == name and r["n"] == n), None)
                cells.append(_growth_cell(found))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append("Seconds are wall time except where marked CPU; `—`: not run at that "
                     "size (apply of 5,000 creates at 20 ms takes minutes and grows linearly).")
    failed = [o for o in outcomes if o.returncode != 0]
    lines += ["", "## Runs", "", "| benchmark | seconds | exit |", "|---|---|---|"]
    lines += [f"| {o.bench.name} | {o.seconds:.0f} | {o.returncode}"
              + (f": {o.tail}" if o.tail else "") + " |" for o in outcomes]
    if failed:
        lines += ["", f"{len(failed)} benchmark(s) did not finish cleanly; see the runs table."]
    return "\n".join(lines) + "\n"


def _growth_cell(result: dict[str, Any] | None) -> str:
    if result is None or result.get("value") is None:
        return "—"
    value = result["value"]
    if result.get("unit") == "s":
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return f"{value:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A fast subset, small sizes.")
    parser.add_argument("--only", action="append", default=[],
                        help="Run only this benchmark (repeatable): "
                             + ", ".join(b.name for b in BENCHES))
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    load_start = os.getloadavg()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "pxrun")],
                   check=False, capture_output=True)
    chosen = [b for b in BENCHES if (not args.only or b.name in args.only)
              and (b.quick is not None or not args.quick)]
    outcomes = [run(b, args.quick) for b in chosen]
    args.out.write_text(report(outcomes, args.quick, load_start), encoding="utf-8")
    missed = [r["name"] for o in outcomes for r in o.results if r.get("ok") is False]
    print(f"wrote {args.out}: {sum(len(o.results) for o in outcomes)} results, "
          f"{len(missed)} targets missed, {sum(o.returncode != 0 for o in outcomes)} "
          "benchmarks failed")
    return 1 if any(o.returncode != 0 for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
