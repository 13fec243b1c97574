"""CLI start-up benchmark: `pxrun --help`, local commands on a small spec (`validate -f
examples/quickstart.yaml`, `schema`) and `pxrun validate` on a generated large spec.

Each command runs as a fresh subprocess (Python start included, as a user or CI job sees
it), N times; the script prints the median and the fastest run, and the median CPU time
(user + sys of the child), which a loaded machine inflates far less than wall time.
Targets on a 2-core machine (DESIGN.md section 11): --help <= 0.12 s, local commands on a
small spec <= 150 ms, validate of 500 containers <= 0.6 s.

    .venv/bin/python bench/bench_cli.py [--runs 15] [--containers 500] [--check]

With --check the exit status is 1 when a median misses its target (for CI trends, not for
the test suite: timings on shared machines are noisy).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from results import emit, run_measured  # bench/ is on sys.path when run as a script

TARGETS = {"--help": 0.12, "validate quickstart": 0.15, "schema": 0.15, "validate": 0.6}
QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.yaml"


def generate_spec(containers: int) -> str:
    """A realistic stack: defaults, a counted group, templates, mounts, provisioning."""
    counted = containers // 2
    lines = [
        "version: 1",
        "stack: bench",
        "vars: {domain: bench.lan, gateway: 10.0.0.1}",
        "defaults:",
        "  template: debian-12",
        "  storage: local-lvm",
        "  resources: {cores: 2, memory: 1024, swap: 512, disk: 10}",
        "  networks:",
        "    net0: {bridge: vmbr0, ip: dhcp}",
        "  features: {nesting: true}",
        "  tags: [bench]",
        "containers:",
    ]
    # count is at most 1,000 per group (Proxmox-sized stacks split into groups)
    for group, start in enumerate(range(0, counted, 1000)):
        size = min(1000, counted - start)
        name = "web" if group == 0 else f"web{group + 1}"
        lines += [
            f"  {name}:",
            f"    count: {size}",
            f'    hostname: "{name}-{{{{ index }}}}.{{{{ vars.domain }}}}"',
            "    resources: {memory: 2048}",
            "    networks:",
            f'      net0: {{bridge: vmbr0, ip: "10.{100 + group}.{{{{ index // 250 }}}}.'
            '{{ index % 250 + 1 }}/16",'
            " gw: \"{{ vars.gateway }}\"}",
            "    depends_on: [db-1]",
            "    provision:",
            "      packages: [nginx, curl]",
            "      run:",
            '        - {name: hello, command: "echo {{ name }}"}',
        ]
    for i in range(1, containers - counted + 1):
        lines += [
            f"  db-{i}:",
            f"    hostname: db-{i}.bench.lan",
            f"    vmid: {1000 + i}",
            "    node: pve1",
            "    resources: {cores: 4, memory: 4096, disk: 32}",
            "    mounts:",
            f"      mp0: {{volume: 'local-lvm:8', path: /srv/data{i}, backup: true}}",
            "    networks:",
            f"      net0: {{bridge: vmbr0, ip: 10.2.{i // 250}.{i % 250 + 1}/16, gw: 10.2.0.1,"
            " vlan: 20}",
            "    startup: {order: 1, up: 10}",
            "    onboot: true",
            "    description: a database",
        ]
    return "\n".join(lines) + "\n"


def time_command(argv: list[str], runs: int, cwd: Path) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of `runs` runs of `argv`."""
    walls, cpus = [], []
    for _ in range(runs):
        proc, wall, cpu, _rss = run_measured(argv, cwd=cwd)
        walls.append(wall)
        cpus.append(cpu)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    return walls, cpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    pxrun = [sys.executable, "-m", "pxrun"]
    missed = False
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "pxrun.yaml").write_text(generate_spec(args.containers))
        cases = {"--help": [*pxrun, "--help"],
                 "validate quickstart": [*pxrun, "validate", "-f", str(QUICKSTART)],
                 "schema": [*pxrun, "schema"],
                 "validate": [*pxrun, "validate"]}
        for name, argv in cases.items():
            times, cpus = time_command(argv, args.runs, work)
            median, cpu = statistics.median(times), statistics.median(cpus)
            target = TARGETS[name]
            label = f"validate({args.containers})" if name == "validate" else name
            verdict = "ok" if median <= target else "SLOW"
            missed = missed or median > target
            print(f"{label:<20} median {median:.3f} s  min {min(times):.3f} s  "
                  f"cpu {cpu:.3f} s  target {target:.2f} s  {verdict}  ({args.runs} runs)")
            emit(f"pxrun {label}" if name != "--help" else "pxrun --help", median, "s",
                 target=f"<= {target:g} s", ok=median <= target,
                 note=f"CPU {cpu:.3f} s, best {min(times):.3f} s, {args.runs} runs")
        # What no pxrun code can go below: the interpreter, and the libraries every command
        # that reads a spec imports (the design card's click, pydantic and PyYAML).
        floors = {"Python start-up": [sys.executable, "-c", "pass"],
                  "Python + click + pydantic + PyYAML imports": [
                      sys.executable, "-c", "import click, yaml; from pydantic import BaseModel"]}
        for name, argv in floors.items():
            times, cpus = time_command(argv, args.runs, work)
            median, cpu = statistics.median(times), statistics.median(cpus)
            print(f"floor: {name:<44} median {median:.3f} s  cpu {cpu:.3f} s")
            emit(f"floor: {name}", median, "s",
                 note=f"CPU {cpu:.3f} s, best {min(times):.3f} s; no pxrun code runs")
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
