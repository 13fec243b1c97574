"""Apply with provisioning, end to end: `pxrun --sim apply` of examples/homelab, twice.

    .venv/bin/python bench/bench_apply_provision.py [--rounds 3]

Each round starts from an empty simulator in a fresh directory and runs, as a user would
(a new interpreter per command, the embedded simulator started by `--sim`):
- first: create and provision all six containers (packages, keys, a rendered template,
  Docker, Tailscale, a run step with a secret);
- second: the same apply again, which must find nothing to do.
Printed: wall time of each command, and the engine's own time from its summary line
("Apply complete: … in X s"). The example's secrets are sops-encrypted to the test key.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "homelab"
KEY = ROOT / "tests" / "fixtures" / "age-test-key.txt"


def apply(cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(KEY)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pxrun", "--sim", "apply", "--auto-approve",
                           "-f", str(SPEC)], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"apply failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return seconds, proc.stdout


def engine_seconds(out: str) -> float | None:
    found = re.search(r"Apply complete: .* in ([\d.]+) s\.", out)
    return float(found[1]) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    first: list[float] = []
    engine: list[float] = []
    second: list[float] = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="pxrun-bench-") as tmp:
            seconds, out = apply(Path(tmp))
            first.append(seconds)
            engine.append(engine_seconds(out) or float("nan"))
            seconds, out = apply(Path(tmp))
            if "No changes" not in out:
                raise SystemExit(f"the second apply was not empty:\n{out}")
            second.append(seconds)
    print(f"homelab (6 containers, provisioned) on --sim, {args.rounds} rounds, median:")
    print(f"  first apply:  {statistics.median(first):.2f} s wall "
          f"(engine {statistics.median(engine):.2f} s: creates, starts, provisioning)")
    print(f"  second apply: {statistics.median(second):.2f} s wall (nothing to do)")


if __name__ == "__main__":
    main()
