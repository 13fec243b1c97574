"""Observe reads the Proxmox VE 9 parts: HA resources (always, once), HA rules (when the
spec has ha_rules), raw lxc lines (one more request for containers whose spec sets them),
the version, and the image a container was made from (its marker)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pxrun.connect.client import ProxmoxerClient
from pxrun.observe.fetch import observe_cluster
from pxrun.observe.pve9 import parse_ha_resources, parse_ha_rules
from pxrun.pve.marker import Marker, join_description, stack_tag
from pxrun.sim.reqlog import RequestLog
from pxrun.spec.model import Container, HaSettings, IdMap, IdRange, Stack
from tests.observe.conftest import create_ct
from tests.sim.conftest import SimEnv

pytestmark = pytest.mark.integration


def _owned(name: str, **extra: str) -> dict[str, str]:
    return {"tags": stack_tag("apps"), "description": join_description(
        "", Marker(stack="apps", name=name, extra=extra))}


@pytest.fixture
def cluster(client: ProxmoxerClient, sim_env: SimEnv) -> ProxmoxerClient:
    create_ct(client, "pve1", 101, hostname="gpu", **_owned("gpu"))
    create_ct(client, "pve2", 102, hostname="web", **_owned(
        "web", image="docker.io/library/nginx:1.27", image_digest="sha256:" + "a" * 64))
    create_ct(client, "pve2", 103, hostname="db", **_owned("db"))
    with sim_env.sim.lock:  # what a root shell wrote into 101.conf (tests/sim/test_etcpve_*)
        sim_env.sim.containers[101].raw_lxc = [
            ("lxc.cgroup2.devices.allow", "c 226:* rwm"), ("lxc.idmap", "u 0 100000 65536"),
            ("lxc.idmap", "g 0 100000 44"), ("lxc.idmap", "g 44 44 1"),
            ("lxc.idmap", "g 45 100045 65491")]
    client.post("cluster/ha/resources", sid="ct:102", state="stopped", max_restart=3)
    client.post("cluster/ha/resources", sid="103", failback=0)
    client.post("cluster/ha/rules", rule="pxrun-apps-apart", type="resource-affinity",
                affinity="negative", resources="ct:102,ct:103")
    client.post("cluster/ha/rules", rule="theirs", type="node-affinity", nodes="pve1:2,pve3",
                resources="ct:103", strict=1)
    return client


def _stack(**containers: Container) -> Stack:
    return Stack(stack="apps", containers={n: c.model_copy(update={"name": n})
                                           for n, c in containers.items()}, ha_rules={})


def test_reads_ha_rules_raw_lines_and_the_image(cluster: ProxmoxerClient, sim_env: SimEnv,
                                                tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    log_file = tmp_path / "requests.jsonl"
    server_log = RequestLog(log_file)
    monkeypatch.setattr(sim_env.server, "_log", server_log)
    stack = _stack(gpu=Container(name="gpu", lxc=["lxc.cgroup2.devices.allow: c 226:* rwm"]),
                   web=Container(name="web", image="nginx:1.27", ha=HaSettings(
                       state="stopped")),
                   db=Container(name="db", ha=HaSettings()))
    obs = observe_cluster(cluster, stack, facts=False)
    server_log.close()
    gpu, web, db = (obs.containers[n] for n in ("gpu", "web", "db"))
    assert gpu.current.lxc == ["lxc.cgroup2.devices.allow: c 226:* rwm"]
    assert gpu.current.idmap == IdMap(gids=[IdRange(container=44, host=44)])
    assert web.current.lxc is None  # its spec sets no raw lines: not read
    assert web.current.image == "docker.io/library/nginx:1.27"
    assert web.image_digest == "sha256:" + "a" * 64
    assert web.current.ha == HaSettings(state="stopped", max_restart=3, max_relocate=1,
                                        failback=True)
    assert db.current.ha is not None and db.current.ha.failback is False
    assert gpu.current.ha is None
    assert obs.ha_rules is not None and set(obs.ha_rules) == {"pxrun-apps-apart", "theirs"}
    assert obs.ha_rules["pxrun-apps-apart"].vmids == (102, 103)
    assert obs.ha_rules["theirs"].nodes == {"pve1": 2, "pve3": 0}
    assert obs.pve_version is not None and obs.pve_version.startswith("9.1")
    paths = Counter(json.loads(line)["path"] for line in log_file.read_text().splitlines())
    assert paths["/nodes/pve1/lxc/101/config"] == 1  # the raw lines: one more request
    assert paths["/cluster/ha/resources"] == paths["/cluster/ha/rules"] == 1
    assert obs.requests == sum(paths.values())


def test_without_ha_rules_in_the_spec_rules_are_not_read(cluster: ProxmoxerClient,
                                                         sim_env: SimEnv) -> None:
    stack = Stack(stack="apps", containers={"db": Container(name="db")})
    obs = observe_cluster(cluster, stack, facts=False)
    assert obs.ha_rules is None and obs.ha_resources is not None
    assert obs.pve_version is None  # no PVE 9 field: no version asked
    sim_env.sim.settings.pve_version = "8.4"
    old = observe_cluster(cluster, _stack(db=Container(name="db", ha=HaSettings())),
                          facts=False)
    assert old.ha_rules is None and old.ha_problem is not None and "rules" in old.ha_problem
    assert old.pve_version is not None and old.pve_version.startswith("8.4")


def test_parsers_of_recorded_answers() -> None:
    resources = parse_ha_resources([
        {"sid": "ct:101", "state": "enabled", "type": "ct", "digest": "x"},
        {"sid": "vm:100", "state": "started"},
        {"sid": "ct:102", "state": "ignored", "max_relocate": 0, "failback": 0}])
    assert resources == {101: HaSettings(state="started"),
                         102: HaSettings(state="ignored", max_relocate=0, failback=False)}
    rules = parse_ha_rules([{"rule": "r", "type": "node-affinity", "nodes": "a:1,b",
                             "resources": "ct:1,vm:2", "strict": 1, "order": 1}])
    assert rules["r"].vmids == (1,) and rules["r"].others == ("vm:2",) and rules["r"].strict
