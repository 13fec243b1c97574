"""Proxmox VE 9 end to end (issue 15, specs/0100): `pxrun --sim` against a running
simulator, whose model the test changes in between as the world would (a node failing, a
registry moving a tag). Raw lines reach the config file over the simulator's node SSH.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pxrun.cli.main import main
from pxrun.sim import rootfs, statelock
from pxrun.sim.runtime import SimFacts, SimRuntime, init_state
from pxrun.sim.settings import SimSettings
from pxrun.sim.state import Simulator
from tests.apply.conftest import spec_text
from tests.sim.test_ssh_pct import connect
from tests.sim.test_ssh_pct import run as ssh_run

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (bwrap)"),
]


@dataclass
class Served:
    """A simulator served from `state` (HTTPS and node SSH); `pxrun --sim` talks to it."""

    state: Path
    sim: Simulator
    facts: SimFacts

    def pxrun(self, *args: str) -> int:
        return main(["--sim", "--sim-dir", str(self.state), *args])

    def ct(self, hostname: str) -> Any:
        with self.sim.lock:
            return next(c for c in self.sim.containers.values()
                        if c.conf.get("hostname") == hostname)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    state = tmp_path / "sim"
    settings = SimSettings(time_scale=0.0, seed=15)  # tasks and HA's fence delay: at once
    init_state(state, settings=settings)
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("PROXMOX_")]:
        monkeypatch.delenv(var)
    # served like `pxrun sim serve`: a `pxrun --sim` command finding it talks to it
    monkeypatch.setitem(statelock._KIND, "kind", "serve")
    with SimRuntime(state, settings=settings) as runtime:
        assert runtime.sim is not None
        yield Served(state, runtime.sim, runtime.facts)


def _events(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


GPU = """\
gpu:
  devices: {dev0: {path: /dev/dri/renderD128, gid: 104}}
  lxc:
    - lxc.cgroup2.devices.allow: c 226:* rwm
    - lxc.mount.entry: /dev/dri dev/dri none bind,optional,create=dir
  idmap: {gids: [104]}
"""


def test_raw_lines_and_idmap_reach_the_config_file_and_converge(
        served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text(GPU), encoding="utf-8")
    assert served.pxrun("apply", "--auto-approve") == 0
    out = capsys.readouterr().out
    assert "raw lxc lines written into /etc/pve/lxc/" in out
    ct = served.ct("gpu")
    assert ct.running  # the start passed the idmap check: /etc/subgid has root:104:1
    assert ct.raw_lxc[:2] == [("lxc.cgroup2.devices.allow", "c 226:* rwm"),
                              ("lxc.mount.entry", "/dev/dri dev/dri none bind,optional,"
                                                  "create=dir")]
    assert ("lxc.idmap", "g 104 104 1") in ct.raw_lxc
    subgid = rootfs.nodefs_dir(served.state, ct.node) / "etc" / "subgid"
    assert "root:104:1" in subgid.read_text().splitlines()
    assert served.pxrun("plan", "--detailed-exitcode") == 0
    # a changed line on the running container: written, and the plan says it restarts
    Path("pxrun.yaml").write_text(spec_text(GPU.replace("226:*", "226:128")), encoding="utf-8")
    capsys.readouterr()
    assert served.pxrun("plan") == 0
    assert "# needs restart" in capsys.readouterr().out
    assert served.pxrun("apply", "--auto-approve") == 0
    assert served.ct("gpu").raw_lxc[0] == ("lxc.cgroup2.devices.allow", "c 226:128 rwm")
    assert served.pxrun("plan", "--detailed-exitcode") == 0


def test_ha_resources_rules_and_a_failover_that_stays(
        served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    spec = spec_text("""\
        web:
          node: pve1
          storage: nfs-shared
          ha: {state: started, max_restart: 2}
        db:
          node: pve2
          storage: nfs-shared
          ha: {}
        """, stack="ha") + "ha_rules:\n  apart: {type: resource-affinity, affinity: negative, " \
        "resources: [web, db]}\n"
    Path("pxrun.yaml").write_text(spec, encoding="utf-8")
    assert served.pxrun("apply", "--auto-approve") == 0
    web = served.ct("web")
    with served.sim.lock:
        ha = served.sim.extra["ha"]
        assert ha["resources"][f"ct:{web.vmid}"]["max_restart"] in (2, "2")
        rule = ha["rules"]["pxrun-ha-apart"]
        assert rule["type"] == "resource-affinity" and rule["affinity"] == "negative"
    assert web.running and web.node == "pve1"
    assert served.pxrun("plan", "--detailed-exitcode") == 0

    served.sim.settings.faults.offline_nodes = ["pve1"]  # pve1 fails; HA recovers web
    capsys.readouterr()
    assert served.pxrun("plan", "--detailed-exitcode") == 0  # nothing to do: it stays
    err = capsys.readouterr().err
    assert "web: moved by HA: it runs on pve3, the spec says pve1; pxrun leaves it there" \
        in err, err
    assert served.ct("web").node == "pve3" and served.ct("web").running

    served.sim.settings.faults.offline_nodes = []  # back: still no action unasked
    assert served.pxrun("apply", "--auto-approve") == 0
    assert served.ct("web").node == "pve3"
    capsys.readouterr()
    assert served.pxrun("apply", "--auto-approve", "--rebalance", "--json") == 0
    steps = [e.get("step") for e in _events(capsys.readouterr().out)
             if e.get("event") == "step_started"]
    assert "migrate" in steps
    assert served.ct("web").node == "pve1" and served.ct("web").running
    assert served.pxrun("plan", "--detailed-exitcode") == 0

    # the rule leaves the spec: pruned; other rules are never touched
    with served.sim.lock:
        served.sim.extra["ha"]["rules"]["theirs"] = {
            "type": "node-affinity", "nodes": "pve2", "resources": f"ct:{web.vmid}"}
    Path("pxrun.yaml").write_text(spec.split("ha_rules:")[0] + "ha_rules: {}\n",
                                  encoding="utf-8")
    assert served.pxrun("apply", "--auto-approve") == 0
    with served.sim.lock:
        assert set(served.sim.extra["ha"]["rules"]) == {"theirs"}


APP = """\
web:
  image: docker.io/library/nginx:1.27
  resources: {memory: 256, disk: 2}
  networks:
    net0: {bridge: vmbr0, ip: dhcp, host_managed: true}
"""


def test_an_image_is_pulled_once_per_node_and_its_digest_recorded(
        served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    both = APP + APP.replace("web:", "web2:", 1)
    Path("pxrun.yaml").write_text(spec_text(both.replace("image:", "node: pve2\n  image:")),
                                  encoding="utf-8")
    assert served.pxrun("apply", "--auto-approve", "--json") == 0
    events = _events(capsys.readouterr().out)
    pulls = [e for e in events if e.get("event") == "step_started" and e.get("step") == "pull"]
    assert len(pulls) == 2 and sum("waiting" in e.get("detail", "") for e in pulls) == 1
    ct = served.ct("web")
    assert ct.conf["entrypoint"].startswith("/docker-entrypoint.sh")
    assert "host-managed=1" in ct.conf["net0"] and ct.conf["cmode"] == "console"
    assert "image_digest" in ct.conf["description"]
    assert served.pxrun("plan", "--detailed-exitcode", "--check-images") == 0

    with served.sim.lock:  # the registry moves the tag
        served.sim.extra.setdefault("oci", {}).setdefault("digests", {})[
            "docker.io/library/nginx:1.27"] = "sha256:" + "b" * 64
    capsys.readouterr()
    assert served.pxrun("plan", "--detailed-exitcode") == 0  # unasked: no registry call
    assert served.pxrun("plan", "--detailed-exitcode", "--check-images") == 2
    out = capsys.readouterr().out
    assert "# image updated: 1.27 → sha256:bbbbbbbbbbbb…" in out
    assert served.pxrun("drift", "--check-images") == 2


def test_destroy_deletes_the_stacks_rules_and_resources(served: Served) -> None:
    spec = spec_text("""\
        a: {ha: {}}
        b: {ha: {}}
        """, stack="gone") + "ha_rules:\n  apart: {type: resource-affinity, affinity: " \
        "negative, resources: [a, b]}\n"
    Path("pxrun.yaml").write_text(spec, encoding="utf-8")
    assert served.pxrun("apply", "--auto-approve") == 0
    assert served.pxrun("destroy", "--auto-approve") == 0
    with served.sim.lock:
        assert served.sim.extra["ha"]["resources"] == {}
        assert served.sim.extra["ha"]["rules"] == {}


def test_a_replace_for_a_new_image_keeps_a_file_in_the_data_volume(
        served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    """Done-when of issue 15: the registry moves postgres:17; with --check-images the plan
    replaces db and hands its data volume to the new container, file and all."""
    Path("pxrun.yaml").write_text(spec_text("""\
        db:
          image: docker.io/library/postgres:17
          networks:
            net0: {bridge: vmbr0, ip: dhcp, host_managed: true}
          env: {POSTGRES_DB: app}
          mounts:
            mp0: {volume: "local-lvm:1", path: /var/lib/postgresql/data}
        """, stack="data"), encoding="utf-8")
    assert served.pxrun("apply", "--auto-approve") == 0
    old = served.ct("db")
    with connect(served.facts, old.node) as conn:
        wrote = ssh_run(conn, f"pct exec {old.vmid} -- sh -c 'echo rows > "
                              "/var/lib/postgresql/data/PG_VERSION.kept'")
        assert wrote.exited == 0, wrote.stderr
    with served.sim.lock:
        served.sim.extra.setdefault("oci", {}).setdefault("digests", {})[
            "docker.io/library/postgres:17"] = "sha256:" + "c" * 64
    capsys.readouterr()
    assert served.pxrun("plan", "--check-images") == 0
    shown = capsys.readouterr().out
    assert "# image updated: 17 → sha256:cccccccccccc…" in shown
    assert served.pxrun("apply", "--auto-approve", "--check-images") == 0
    new = served.ct("db")
    assert "sha256:" + "c" * 64 in new.conf["description"]
    with connect(served.facts, new.node) as conn:
        kept = ssh_run(conn, f"pct exec {new.vmid} -- cat "
                             "/var/lib/postgresql/data/PG_VERSION.kept")
    assert (kept.exited, kept.stdout) == (0, "rows\n"), kept.stderr
    assert served.pxrun("plan", "--detailed-exitcode", "--check-images") == 0
