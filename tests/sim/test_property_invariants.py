"""Random sequences of container operations through plain proxmoxer keep the cluster sane.

Hypothesis drives create / start / stop / migrate / move_volume (storage and reassign) /
resize / snapshot (create, rollback, delete) / clone / template / destroy against a fresh
simulator over HTTPS. Any call may be refused as Proxmox would refuse it; after every step the
state read back through the API must hold:
- no volume is named twice (by two containers, or by two keys of one config);
- no orphan: every disk volume on a storage is named by some container's config or snapshot;
- each storage's `used` equals the sum of the sizes of its volumes;
- no two running containers share an IPv4 address.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from pxrun.sim.auth import init_credentials
from pxrun.sim.server import SimServer
from pxrun.sim.settings import SimSettings
from pxrun.sim.state import Simulator

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
NODES = ("pve1", "pve2")
VMIDS = (201, 202, 203)
STORAGES = ("local-lvm", "local", "nfs-shared")
VOLUME_KEYS = ("rootfs", "mp0", "mp1", "unused0", "unused1", "unused2")


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    state = tmp_path_factory.mktemp("prop")
    token_id, secret = init_credentials(state)
    return state, token_id, secret


class Cluster:
    """A fresh simulator behind HTTPS and a proxmoxer client for one example."""

    def __init__(self, creds: tuple[Path, str, str]) -> None:
        state, token_id, secret = creds
        self.sim = Simulator.create_default(SimSettings(time_scale=0.0, seed=5))
        self.server = SimServer(self.sim, state).start()
        user, token = token_id.split("!")
        self.px = ProxmoxAPI(self.server.host_port, user=user, token_name=token,
                             token_value=secret, verify_ssl=str(self.server.ca_file))

    def close(self) -> None:
        self.server.stop()
        self.sim.close()

    def guests(self) -> list[tuple[int, str]]:
        return sorted((int(i["vmid"]), str(i["node"]))
                      for i in self.px.cluster.resources.get(type="vm"))

    def wait(self, node: str, upid: Any) -> None:
        if not isinstance(upid, str):
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.px.nodes(node).tasks(upid).status.get()["status"] == "stopped":
                return
        raise AssertionError(f"task {upid} did not finish")


def _op(cluster: Cluster, step: tuple[Any, ...]) -> None:
    """One step. `pick` chooses an existing container (or names a new vmid)."""
    kind, pick, other, storage, node = step
    px = cluster.px
    guests = cluster.guests()
    if kind == "create":
        mp_storage = storage if other % 3 else STORAGES[(STORAGES.index(storage) + 1) % 3]
        upid = px.nodes(node).lxc.post(
            vmid=VMIDS[pick % len(VMIDS)], ostemplate=TEMPLATE, rootfs=f"{storage}:1",
            mp0=f"{mp_storage}:1,mp=/data", net0="name=eth0,bridge=vmbr0,ip=dhcp",
            start=int(other % 2 == 0))
        cluster.wait(node, upid)
        return
    if not guests:
        return
    vmid, where = guests[pick % len(guests)]
    others = [v for v, n in guests if n == where and v != vmid] or [vmid]
    ct = px.nodes(where).lxc(vmid)
    if kind == "start":
        cluster.wait(where, ct.status.start.post())
    elif kind == "stop":
        cluster.wait(where, ct.status.stop.post())
    elif kind == "migrate":
        cluster.wait(where, ct.migrate.post(target=node, restart=1))
    elif kind == "move":
        key = ("rootfs", "mp0", "unused0")[other % 3]
        cluster.wait(where, ct.move_volume.post(volume=key, storage=storage,
                                                delete=other % 2))
    elif kind == "reassign":
        key = ("mp0", "mp1", "unused0")[other % 3]
        target = "unused2" if key.startswith("unused") else "mp1"
        cluster.wait(where, ct.move_volume.post(volume=key, **{
            "target-vmid": others[other % len(others)], "target-volume": target}))
    elif kind == "resize":
        cluster.wait(where, ct.resize.put(disk=("rootfs", "mp0")[other % 2], size="+1G"))
    elif kind == "detach":
        ct.config.put(delete=("mp0", "mp1", "unused0")[other % 3])
    elif kind == "snapshot":
        cluster.wait(where, ct.snapshot.post(snapname=f"s{other % 3}"))
    elif kind == "rollback":
        cluster.wait(where, ct.snapshot(f"s{other % 3}").rollback.post())
    elif kind == "delsnap":
        cluster.wait(where, ct.snapshot(f"s{other % 3}").delete())
    elif kind == "clone":
        cluster.wait(where, ct.clone.post(newid=VMIDS[other % len(VMIDS)], full=1))
    elif kind == "template":
        ct.template.post()
        for task in px.nodes(where).tasks.get(source="all", vmid=vmid, typefilter="vztemplate"):
            cluster.wait(where, task["upid"])
    elif kind == "destroy":
        cluster.wait(where, ct.delete(force=1, purge=1))


def check_invariants(cluster: Cluster) -> None:
    px = cluster.px
    named: Counter[str] = Counter()
    snapshot_named: set[str] = set()
    addresses: Counter[str] = Counter()
    for item in px.cluster.resources.get(type="vm"):
        ct = px.nodes(item["node"]).lxc(item["vmid"])
        config = ct.config.get(current=1)
        own = [config[k].split(",")[0] for k in config
               if k in VOLUME_KEYS or k.startswith(("mp", "unused"))]
        own = [v for v in own if ":" in v]
        assert len(own) == len(set(own)), (item["vmid"], config)
        named.update(own)
        for snap in ct.snapshot.get():
            if snap["name"] != "current":
                snap_conf = ct.snapshot(snap["name"]).config.get()
                snapshot_named.update(str(v).split(",")[0] for k, v in snap_conf.items()
                                      if k == "rootfs" or k.startswith("mp"))
        if ct.status.current.get()["status"] == "running":
            for iface in ct.interfaces.get():
                if iface["name"] != "lo" and iface.get("inet"):
                    addresses[iface["inet"].split("/")[0]] += 1
    assert [v for v, n in named.items() if n > 1] == [], "a volume named twice"
    assert [a for a, n in addresses.items() if n > 1] == [], "two containers, one address"
    for node in ("pve1", "pve2", "pve3"):
        for storage in px.nodes(node).storage.get():
            items = px.nodes(node).storage(storage["storage"]).content.get()
            assert storage["used"] == sum(i["size"] for i in items), (node, storage)
            disks = {i["volid"] for i in items if i["content"] in ("rootdir", "images")}
            orphans = disks - set(named) - snapshot_named
            assert not orphans, f"orphan volumes on {node}/{storage['storage']}: {orphans}"


STEP = st.tuples(
    st.sampled_from(["create", "create", "start", "stop", "migrate", "move", "reassign",
                     "resize", "detach", "snapshot", "rollback", "delsnap", "clone",
                     "template", "destroy"]),
    st.integers(0, 5), st.integers(0, 5), st.sampled_from(STORAGES),
    st.sampled_from(NODES))


@pytest.mark.integration
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=4, max_size=14))
def test_random_operations_keep_the_invariants(credentials: tuple[Path, str, str],
                                               steps: list[tuple[Any, ...]]) -> None:
    cluster = Cluster(credentials)
    try:
        for step in steps:
            try:
                _op(cluster, step)
            except ResourceException as refused:
                assert refused.status_code in (400, 500), refused
            check_invariants(cluster)
    finally:
        cluster.close()
