"""Build a cluster of N containers through the simulator's API, with its state on disk.

    .venv/bin/python bench/bench_sim_build.py [--count 5000] [--clients 4]

The simulator runs in a child process with a state directory (every change is written before
its call answers, spec 0025) and tasks at time scale 0. Each client thread creates its share
of containers with `POST /nodes/{node}/lxc` over one keep-alive connection (rootfs on the
node's local-lvm, one DHCP NIC) and waits for each task. Prints the wall time, the
rate, and the time to load the resulting state directory again. Target: 5,000 in < 60 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import simchild  # bench/ is on sys.path when a benchmark runs as a script

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
NODES = ("pve1", "pve2", "pve3")


def serve(state_dir: Path) -> None:
    """Child: a default 3-node simulator saved in `state_dir`, served until stdin closes."""
    from pxrun.sim.settings import SimSettings
    from pxrun.sim.state import Simulator

    sim = Simulator.create_default(SimSettings(time_scale=0.0, seed=1))
    sim.save(state_dir / "state")
    simchild.serve(sim, state_dir)
    sim.close()


class Client:
    def __init__(self, port: int, auth: str, ca_file: str) -> None:
        ctx = ssl.create_default_context(cafile=ca_file)
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
        self.auth = auth

    def call(self, method: str, path: str, form: dict[str, object] | None = None) -> object:
        headers = {"Authorization": self.auth}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, f"/api2/json{path}", body=body, headers=headers)
        reply = self.conn.getresponse()
        data = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"{method} {path}: {reply.status} {data[:200]!r}")
        return json.loads(data)["data"]


def create_many(client: Client, vmids: list[int]) -> None:
    """Create each container and wait for its task, as a provisioning script does."""
    for vmid in vmids:
        node = NODES[vmid % len(NODES)]
        upid = str(client.call("POST", f"/nodes/{node}/lxc", {
            "vmid": vmid, "ostemplate": TEMPLATE, "hostname": f"ct{vmid}",
            "rootfs": "local-lvm:0.1", "memory": 256,
            "net0": "name=eth0,bridge=vmbr0,ip=dhcp"}))
        while True:
            status = client.call("GET", f"/nodes/{node}/tasks/{quote(upid)}/status")
            assert isinstance(status, dict)
            if status["status"] == "stopped":
                assert status["exitstatus"] == "OK", status
                break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as tmp:
        child = simchild.Child(__file__, "--serve", tmp)
        port, auth, ca = child.info["port"], child.auth_header, child.info["ca_file"]
        vmids = list(range(1000, 1000 + args.count))
        shares = [vmids[i::args.clients] for i in range(args.clients)]
        started = time.perf_counter()
        threads = [threading.Thread(target=create_many, args=(Client(port, auth, ca), share))
                   for share in shares]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        waiter = Client(port, auth, ca)
        listed = waiter.call("GET", "/cluster/resources?type=vm")
        assert isinstance(listed, list) and len(listed) == args.count, len(listed)
        stats = child.finish()
        from pxrun.sim.state import Simulator

        loaded = time.perf_counter()
        sim = Simulator.load(Path(tmp) / "state")
        load_s = time.perf_counter() - loaded
        assert len(sim.containers) == args.count
        size = (Path(tmp) / "state" / "state.json").stat().st_size
    print(f"created {args.count} containers through the API in {elapsed:.1f} s "
          f"({args.count / elapsed:,.0f}/s, {args.clients} clients, {stats['requests']} "
          f"requests); state on disk {size / 1e6:.1f} MB, loads again in {load_s:.2f} s")


if __name__ == "__main__":
    main()
