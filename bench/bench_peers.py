"""pxrun side by side with its peers, on the same simulator at 20 ms latency.

    .venv/bin/python bench/bench_peers.py [--containers 10] [--latency-ms 20] [--runs 3]
                                          [--proxctl PATH]

1. Ansible `community.proxmox` (a test dependency): a playbook that creates N containers
   with the `proxmox` module (one loop item each, `state: present`), against `pxrun apply
   --auto-approve` of a spec with the same N containers (`state: stopped`: created, not
   started, the same work). Target: pxrun <= 0.1 x Ansible's wall time.
2. proxctl 0.2.11 (Rust, on PyPI; `pip install proxctl==0.2.11` into a venv, give its
   binary with --proxctl or PROXCTL, else it is looked up on PATH and in
   /tmp/proxctl-venv): the N containers pxrun made, exported with `proxctl export`, then
   `proxctl apply --dry-run` of that export against `pxrun plan` of the spec, both with
   nothing to change. Target: pxrun <= 0.7 x proxctl. proxctl does not take a CA file, so
   it runs with `--insecure` (it still speaks TLS; only the verification is skipped).

Each tool runs as a fresh process, as a user runs it; the wall time includes its start-up.
The simulator runs in this process (tasks at 5 % of their durations).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import emit, run_measured

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = """\
- name: N containers with community.proxmox
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: create
      community.proxmox.proxmox:
        api_host: 127.0.0.1
        api_port: {port}
        api_user: "{user}"
        api_token_id: "{token}"
        api_token_secret: "{secret}"
        validate_certs: true
        node: pve1
        vmid: "{{{{ item }}}}"
        hostname: "ans-{{{{ item }}}}"
        cores: 1
        memory: 512
        swap: 256
        ostemplate: "{template}"
        disk: "local-lvm:4"
        netif:
          net0: "name=eth0,bridge=vmbr0,ip=dhcp"
        unprivileged: true
        state: present
      loop: "{{{{ range({first}, {last}) | list }}}}"
"""
SPEC = """\
version: 1
stack: {stack}
defaults:
  template: {template}
  storage: local-lvm
  node: pve1
  resources: {{cores: 1, memory: 512, swap: 256, disk: 4}}
  networks:
    net0: {{bridge: vmbr0, ip: dhcp}}
  state: stopped
containers:
  ct:
    count: {count}
"""
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


@contextmanager
def simulator(latency_ms: float) -> Iterator[tuple[Any, Path, dict[str, str]]]:
    """A fresh simulator with latency: (runtime, work dir, environment for pxrun)."""
    from pxrun.sim.runtime import SimRuntime, init_state
    from pxrun.sim.settings import SimSettings

    with tempfile.TemporaryDirectory(prefix="pxrun-peers-") as tmp:
        work = Path(tmp)
        settings = SimSettings(time_scale=0.05, seed=1, concurrency=32)
        settings.faults.latency_ms = latency_ms
        init_state(work / "sim", settings=settings)
        with SimRuntime(work / "sim", settings=settings) as runtime:
            facts = runtime.facts
            env = {k: v for k, v in os.environ.items() if not k.startswith("PROXMOX_")}
            env.update({"PROXMOX_HOST": facts.endpoint, "PROXMOX_TOKEN_ID": facts.token_id,
                        "PROXMOX_TOKEN_SECRET": facts.token_secret,
                        "PROXMOX_CA_FILE": str(facts.ca_file), "NO_COLOR": "1"})
            yield runtime, work, env


def pxrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "pxrun", *args]


def timed(argv: list[str], env: dict[str, str], cwd: Path, runtime: Any,
          ) -> tuple[float, float, int, str]:
    """(wall s, CPU s, API requests, stdout+stderr) of one run; exits on a failure."""
    stats = runtime._http.stats
    before = stats.requests
    done, wall, cpu, _ = run_measured(argv, env=env, cwd=cwd)
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(argv[:4])} failed ({done.returncode}):\n"
                         f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
    return wall, cpu, stats.requests - before, done.stdout + done.stderr


def ansible_side_by_side(count: int, latency_ms: float) -> None:
    playbook_bin = Path(sys.executable).parent / "ansible-playbook"
    if not playbook_bin.exists():
        emit("Ansible community.proxmox, 10 creates", None, "", table="peers",
             note="not run: ansible-playbook is not installed (pip install 'ansible>=12')")
        return
    with simulator(latency_ms) as (runtime, work, env):
        facts = runtime.facts
        user, token = facts.token_id.split("!", 1)
        (work / "play.yml").write_text(PLAYBOOK.format(
            port=facts.port, user=user, token=token, secret=facts.token_secret,
            template=TEMPLATE, first=500, last=500 + count), encoding="utf-8")
        aenv = {k: v for k, v in env.items() if not k.startswith("PROXMOX_")}
        aenv.update({"HOME": str(work), "REQUESTS_CA_BUNDLE": str(facts.ca_file),
                     "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                     "ANSIBLE_LOCALHOST_WARNING": "0"})
        a_wall, a_cpu, a_req, out = timed([str(playbook_bin), "-i", "localhost,", "-e",
                                           f"ansible_python_interpreter={sys.executable}",
                                           str(work / "play.yml")], aenv, work, runtime)
        assert out.count("changed: [localhost] => (item=") == count, out[-1500:]
        (work / "pxrun.yaml").write_text(SPEC.format(stack="peers", template=TEMPLATE,
                                                     count=count), encoding="utf-8")
        p_wall, p_cpu, p_req, out = timed(pxrun("apply", "--auto-approve", "-f", "pxrun.yaml"),
                                          env, work, runtime)
        assert f"{count} done" in out, out[-1500:]
    ratio = p_wall / a_wall
    print(f"{count} creates @ {latency_ms:g} ms: Ansible {a_wall:.2f} s (CPU {a_cpu:.2f} s, "
          f"{a_req} requests); pxrun apply {p_wall:.2f} s (CPU {p_cpu:.2f} s, {p_req} "
          f"requests); ratio {ratio:.3f}")
    emit(f"Ansible community.proxmox, {count} creates @ {latency_ms:g} ms", a_wall, "s",
         table="peers", note=f"CPU {a_cpu:.2f} s, {a_req} requests")
    emit(f"pxrun apply, the same {count} creates", p_wall, "s", table="peers",
         note=f"CPU {p_cpu:.2f} s, {p_req} requests (start-up, lock, plan included)")
    emit(f"pxrun / Ansible, {count} creates", ratio, "x", target="<= 0.1 x", ok=ratio <= 0.1,
         note=f"pxrun {p_wall:.2f} s vs Ansible {a_wall:.2f} s")


def find_proxctl(given: str | None) -> str | None:
    for candidate in (given, os.environ.get("PROXCTL"), shutil.which("proxctl"),
                      "/tmp/proxctl-venv/bin/proxctl"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def proxctl_side_by_side(count: int, latency_ms: float, runs: int, binary: str | None) -> None:
    proxctl = find_proxctl(binary)
    if proxctl is None:
        emit("proxctl 0.2.11 apply --dry-run", None, "", table="peers",
             note="not run: no proxctl binary (pip install proxctl==0.2.11 into a venv, then "
                  "--proxctl PATH or PROXCTL=PATH)")
        return
    with simulator(latency_ms) as (runtime, work, env):
        facts = runtime.facts
        (work / "pxrun.yaml").write_text(SPEC.format(stack="peers", template=TEMPLATE,
                                                     count=count), encoding="utf-8")
        timed(pxrun("apply", "--auto-approve", "-f", "pxrun.yaml"), env, work, runtime)
        penv = {k: v for k, v in env.items() if not k.startswith("PROXMOX_")}
        penv.update({"PROXMOX_HOST": f"127.0.0.1:{facts.port}", "HOME": str(work),
                     "PROXMOX_TOKEN": f"{facts.token_id}={facts.token_secret}"})
        base = [proxctl, "--insecure", "-o", "text"]
        _, _, _, exported = timed([*base, "export", "container", "--all"], penv, work, runtime)
        (work / "manifests.yaml").write_text(exported, encoding="utf-8")
        px: list[tuple[float, float, int]] = []
        pc: list[tuple[float, float, int]] = []
        out = ""
        for _ in range(runs):
            wall, cpu, req, out = timed([*base, "apply", "--dry-run", "-f", "manifests.yaml"],
                                        penv, work, runtime)
            pc.append((wall, cpu, req))
            wall, cpu, req, _ = timed(pxrun("plan", "--detailed-exitcode", "-f", "pxrun.yaml"),
                                      env, work, runtime)
            px.append((wall, cpu, req))
    changes = sum(1 for line in out.splitlines() if "up to date" not in line and line.strip())
    pc_wall, px_wall = statistics.median(r[0] for r in pc), statistics.median(r[0] for r in px)
    ratio = px_wall / pc_wall
    print(f"no-change plan of {count} @ {latency_ms:g} ms: proxctl {pc_wall:.3f} s "
          f"({pc[0][2]} requests, {changes} lines of changes shown); pxrun plan {px_wall:.3f} s "
          f"({px[0][2]} requests); ratio {ratio:.2f}")
    emit(f"proxctl 0.2.11 apply --dry-run, {count} CTs @ {latency_ms:g} ms", pc_wall, "s",
         table="peers", note=f"CPU {statistics.median(r[1] for r in pc):.3f} s, "
                             f"{pc[0][2]} requests, --insecure")
    emit(f"pxrun plan, the same {count} CTs (no changes)", px_wall, "s", table="peers",
         note=f"CPU {statistics.median(r[1] for r in px):.3f} s, {px[0][2]} requests")
    emit(f"pxrun plan / proxctl apply --dry-run, {count} CTs", ratio, "x", target="<= 0.7 x",
         ok=ratio <= 0.7, note=f"medians of {runs}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--proxctl", default=None, help="The proxctl binary.")
    parser.add_argument("--only", choices=["ansible", "proxctl"], default=None)
    args = parser.parse_args()
    if args.only in (None, "ansible"):
        ansible_side_by_side(args.containers, args.latency_ms)
    if args.only in (None, "proxctl"):
        proxctl_side_by_side(args.containers, args.latency_ms, args.runs, args.proxctl)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
