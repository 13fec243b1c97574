"""Requests per second of the simulator's HTTPS API over one keep-alive connection.

    .venv/bin/python bench/bench_sim_rps.py [--seconds 5] [--path /nodes/pve1/lxc/100/config]

The server runs in a child process pinned to CPU 0, the client in this process pinned to CPU 1
(when the machine has two), so the number is the server's, not the sum of both fighting over
one core. No latency or faults are injected. The client is plain `http.client` (cheaper per
request than `requests`), sending one request at a time, as proxmoxer does. Target: >= 1,500/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import tempfile
import time
from pathlib import Path

import simchild  # bench/ is on sys.path when a benchmark runs as a script
from results import emit

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


def serve(state_dir: Path) -> None:
    """Child: start a default 3-node simulator, print the port and the token, wait for EOF."""
    _pin(0)
    from pxrun.sim.settings import SimSettings
    from pxrun.sim.state import Simulator

    simchild.serve(Simulator.create_default(SimSettings(time_scale=0.0, seed=1)), state_dir)


def _request(
    conn: http.client.HTTPSConnection,
    method: str,
    path: str,
    auth: str,
    body: str | None = None,
) -> tuple[int, bytes]:
    headers = {"Authorization": auth}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, f"/api2/json{path}", body=body, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def _prepare(conn: http.client.HTTPSConnection, auth: str) -> str:
    """Create CT 100 on pve1 and return the config path; fall back to /version."""
    from urllib.parse import urlencode

    form = urlencode(
        {
            "vmid": 100,
            "ostemplate": TEMPLATE,
            "hostname": "bench",
            "rootfs": "local-lvm:8",
            "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
        }
    )
    status, body = _request(conn, "POST", "/nodes/pve1/lxc", auth, form)
    if status != 200:
        print(f"note: create failed ({status} {body[:120]!r}); measuring GET /version")
        return "/version"
    upid = json.loads(body)["data"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _, body = _request(conn, "GET", f"/nodes/pve1/tasks/{upid}/status", auth)
        if json.loads(body)["data"]["status"] == "stopped":
            break
    return "/nodes/pve1/lxc/100/config"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--path", default=None, help="GET this path instead of a CT config")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as tmp:
        child = simchild.Child(__file__, "--serve", tmp)
        info = {"port": child.info["port"], "auth": child.auth_header}
        _pin(1)
        ctx = ssl.create_default_context(cafile=str(Path(tmp) / "ca.pem"))
        conn = http.client.HTTPSConnection("127.0.0.1", info["port"], context=ctx, timeout=10)
        path = args.path or _prepare(conn, info["auth"])
        for _ in range(200):  # warm-up
            _request(conn, "GET", path, info["auth"])
        count = 0
        started = time.perf_counter()
        deadline = started + args.seconds
        while time.perf_counter() < deadline:
            status, _ = _request(conn, "GET", path, info["auth"])
            assert status == 200, status
            count += 1
        elapsed = time.perf_counter() - started
        conn.close()
        server_stats = child.finish()
    print(
        f"GET {path}: {count / elapsed:,.0f} requests/s "
        f"({count} in {elapsed:.1f} s, {server_stats['connections']} TLS connection(s))"
    )
    emit("simulator GET config, requests/s (server on one core)", count / elapsed, "req/s",
         target=">= 1500 req/s", ok=count / elapsed >= 1500)


if __name__ == "__main__":
    main()
