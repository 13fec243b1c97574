"""Provisioning transport overhead: one SSH connection, N `pct exec` per measurement.

    .venv/bin/python bench/bench_provision.py [--steps 20] [--rounds 5]

The simulator runs as `pxrun sim serve` in a child process (its SSH server and sandboxes
must not share our interpreter's lock); one container is created through the API. Then,
over one reused connection (the way a provisioning run works):
- connect: opening the connection (TCP, key exchange, host key check, auth); the first
  command after it also seeds the container's file view (printed apart);
- exec: `pct exec <vmid> -- sh -c 'true'`, N times per round, the per-step overhead;
- exec+stdin: a step that sends 4 KiB on stdin (a run step's bundle, a key file);
- put: a file through `pct push` after an upload to a private temp dir on the node;
- shell: the same `pct exec` inside a node shell (`bash -c 'pct exec …'`), for comparison.
Target: exec median <= 50 ms per step on loopback after connecting.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET_MS = 50.0


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    p90 = sorted(samples)[int(len(samples) * 0.9) - 1]
    print(f"{name:<11} median {median:7.1f} ms   p90 {p90:7.1f} ms   n={len(samples)}")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from proxmoxer import ProxmoxAPI

    from pxrun.connect.settings import SshSettings
    from pxrun.provision.actions import Put
    from pxrun.provision.runner import ProvisionSession
    from pxrun.provision.transport import PctTransport

    with tempfile.TemporaryDirectory(prefix="bench-provision-") as tmp:
        state = Path(tmp) / "sim"
        child = subprocess.Popen([sys.executable, "-m", "pxrun", "--json", "sim", "serve",
                                  str(state), "--port", "0", "--ssh-port", "0",
                                  "--time-scale", "0"],
                                 stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            assert child.stdout is not None
            facts = json.loads(child.stdout.readline())
            user, token = facts["token_id"].split("!")
            px = ProxmoxAPI(facts["endpoint"].removeprefix("https://"), user=user,
                            token_name=token, token_value=facts["token_secret"],
                            verify_ssl=facts["ca_file"])
            lxc = px.nodes("pve1").lxc
            for post in (lambda: lxc.post(vmid=101, hostname="bench", rootfs="local-lvm:4",
                                          ostemplate="local:vztmpl/debian-12-standard_12.7-1"
                                                     "_amd64.tar.zst"),
                         lxc(101).status.start.post):
                upid = post()
                while px.nodes("pve1").tasks(upid).status.get()["status"] != "stopped":
                    pass  # tasks finish at once (time scale 0): this polls, it does not sleep
            ssh = SshSettings(port=facts["ssh_port"], key_file=Path(facts["ssh_key"]),
                              known_hosts=Path(facts["known_hosts"]),
                              hosts={"pve1": "127.0.0.1"}, users={"pve1": "pve1"})
            with ProvisionSession(ssh, log_dir=Path(tmp) / "logs") as session:
                transport = session.transport("pve1", 101)
                assert isinstance(transport, PctTransport)
                start = time.perf_counter()
                with session.pool.connection(transport.target):
                    connect_ms = (time.perf_counter() - start) * 1000
                start = time.perf_counter()
                assert transport.run("true").status == 0
                first_ms = (time.perf_counter() - start) * 1000
                data = b"x" * 4096
                put = Put("/root/bench.bin", data, "0600", None, None)
                samples: dict[str, list[float]] = {"exec": [], "exec+stdin": [], "put": [],
                                                   "shell": []}
                shell_cmd = "bash -c " + shlex.quote(transport.command("true"))
                conn_target = transport.target
                for _ in range(args.rounds):
                    samples["exec"] += timed(lambda: transport.run("true"), args.steps)
                    samples["exec+stdin"] += timed(
                        lambda: transport.run("cat >/dev/null", stdin=data), args.steps)
                    samples["put"] += timed(lambda: transport.put(put), args.steps // 4 or 1)

                    def shell() -> None:
                        with session.pool.connection(conn_target) as conn:
                            conn.client.exec_command(shell_cmd)[1].channel.recv_exit_status()

                    samples["shell"] += timed(shell, args.steps // 4 or 1)
        finally:
            child.terminate()
            child.wait(timeout=30)
    print(f"provisioning transport: {args.rounds} rounds x {args.steps} steps, one connection")
    print(f"{'connect':<11} {connect_ms:7.1f} ms (TCP, key exchange, host key, auth)")
    print(f"{'first exec':<11} {first_ms:7.1f} ms (seeds the container's file view)")
    medians = {name: report(name, values) for name, values in samples.items()}
    status = "OK" if medians["exec"] <= TARGET_MS else "OVER"
    print(f"target: exec median <= {TARGET_MS:.0f} ms per step -> {status}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results import emit

    emit("provisioning step overhead (pct exec)", medians["exec"], "ms",
         target=f"<= {TARGET_MS:g} ms", ok=status == "OK",
         note=f"connect {connect_ms:.0f} ms, first exec {first_ms:.0f} ms")
    return 0 if status == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
