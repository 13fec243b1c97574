"""Ansible's community.proxmox collection, unmodified, against the simulator (spec 0024).

One simulator for the module (HTTPS API and node SSH on loopback, tasks at time scale 0) and
two `ansible-playbook` runs, because Ansible costs about a second per start: `lifecycle.yml`
(info modules, pool, container create/start/update, template download, then tasks inside the
container through the `proxmox_pct_remote` connection plugin) and `teardown.yml` (stop, remove,
clean up). The fixture records the JSON callback's results and the simulator's state through
the API (proxmoxer) after each run; the tests check both. TLS is verified against the
simulator's CA (`REQUESTS_CA_BUNDLE`), SSH host keys against its known_hosts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pxrun.sim.runtime import SimFacts, SimRuntime, init_state
from pxrun.sim.settings import SimSettings

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
PLAYBOOKS = Path(__file__).parent / "playbooks"
VMID = 201
CONTAINER_PYTHON = "/usr/bin/python3"  # the interpreter Ansible runs inside the container
# The inventory group that runs the API modules on this machine.
CONTROLLER = {"hosts": {"localhost": {"ansible_connection": "local",
                                      "ansible_python_interpreter": sys.executable}}}


def _have_ansible() -> bool:
    if not ANSIBLE_PLAYBOOK.exists():
        return False
    try:
        return importlib.util.find_spec("ansible_collections.community.proxmox") is not None
    except ImportError:
        return False


PCT_READY = shutil.which("bwrap") is not None and Path(CONTAINER_PYTHON).exists()

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not _have_ansible(),
        reason="ansible with community.proxmox is not installed (pip install 'ansible>=12')",
    ),
]
needs_pct = pytest.mark.skipif(
    not PCT_READY, reason=f"pct exec needs bubblewrap (bwrap) and {CONTAINER_PYTHON}"
)


@dataclass
class Run:
    """One ansible-playbook run: exit status and each task's result per host."""

    returncode: int
    stderr: str
    results: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def __call__(self, task: str, host: str = "localhost") -> dict[str, Any]:
        try:
            return self.results[(host, task)]
        except KeyError:
            raise AssertionError(
                f"no result for task {task!r} on {host!r}; stderr:\n{self.stderr[-2000:]}"
            ) from None


@dataclass
class Lifecycle:
    facts: SimFacts
    node: str
    ostemplate: str
    catalog_template: str
    up: Run  # lifecycle.yml
    down: Run  # teardown.yml
    after_up: dict[str, Any]  # the simulator's state after lifecycle.yml, read with proxmoxer
    after_down: dict[str, Any]
    requests: list[dict[str, Any]]  # the simulator's request log


def _proxmoxer(facts: SimFacts) -> Any:
    from proxmoxer import ProxmoxAPI

    user, token = facts.token_id.split("!", 1)
    return ProxmoxAPI(f"127.0.0.1:{facts.port}", user=user, token_name=token,
                      token_value=facts.token_secret, verify_ssl=str(facts.ca_file))


def _inventory(facts: SimFacts, node: str) -> dict[str, Any]:
    container = {
        "ansible_connection": "community.proxmox.proxmox_pct_remote",
        "ansible_host": "127.0.0.1",
        "ansible_port": facts.ssh_port,
        "ansible_user": facts.ssh_user_for(node),
        "ansible_ssh_private_key_file": str(facts.ssh_key),
        "ansible_python_interpreter": CONTAINER_PYTHON,
        "proxmox_vmid": VMID,
    }
    return {
        "controller": CONTROLLER,
        # The simulator's SSH login is the node's name, not root, so the plugin would prefix
        # `sudo`; the empty become method sends `pct exec ...` as a root login does (spec 0024).
        "containers": {"hosts": {f"ct{VMID}": {**container, "proxmox_become_method": ""}}},
        "pct_sudo": {"hosts": {f"ct{VMID}-sudo": container}},
    }


def _run(playbook: str, workdir: Path, facts: SimFacts, extra: dict[str, Any],
         inventory: Path) -> Run:
    vars_file = workdir / "vars.json"
    vars_file.write_text(json.dumps(extra), encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PROXMOX_", "ANSIBLE_", "REQUESTS_", "CURL_CA"))}
    env.update({
        "HOME": str(workdir),  # ~/.ssh/known_hosts (the simulator's host key), ~/.ansible
        "REQUESTS_CA_BUNDLE": str(facts.ca_file),  # validate_certs: true against the sim's CA
        "ANSIBLE_STDOUT_CALLBACK": "json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    })
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), "-e", f"@{vars_file}",
            str(PLAYBOOKS / playbook)]
    if not PCT_READY:
        argv[1:1] = ["--skip-tags", "pct"]
    proc = subprocess.run(argv, env=env, cwd=workdir, capture_output=True, text=True,
                          timeout=300, check=False)
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"ansible-playbook printed no JSON (rc {proc.returncode}):\n"
                             f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}") from None
    run = Run(proc.returncode, proc.stderr)
    for play in out["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                run.results[(host, task["task"]["name"])] = result
    return run


def _snapshot(px: Any, node: str) -> dict[str, Any]:
    cts = {ct["vmid"]: ct for ct in px.nodes(node).lxc.get()}
    snap: dict[str, Any] = {
        "containers": cts,
        "resources": px.cluster.resources.get(type="vm"),
        "pools": {p["poolid"]: p for p in px.pools.get()},
        "templates": [v["volid"] for v in
                      px.nodes(node).storage("local").content.get(content="vztmpl")],
        "disks": [v["volid"] for v in px.nodes(node).storage("local-lvm").content.get()],
    }
    if VMID in cts:
        snap["config"] = px.nodes(node).lxc(VMID).config.get()
        snap["status"] = px.nodes(node).lxc(VMID).status.current.get()
    return snap


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    work = tmp_path_factory.mktemp("ansible")
    state = work / "sim"
    init_state(state)
    log = work / "requests.jsonl"
    with SimRuntime(state, settings=SimSettings(time_scale=0), request_log=log) as runtime:
        facts = runtime.facts
        node = facts.nodes[0]
        px = _proxmoxer(facts)
        seeded = px.nodes(node).storage("local").content.get(content="vztmpl")
        ostemplate = seeded[0]["volid"]
        have = {v["volid"].split("/", 1)[1] for v in seeded}
        catalog = next(t["template"] for t in px.nodes(node).aplinfo.get()
                       if t["template"] not in have)
        (work / ".ssh").mkdir()
        shutil.copy(facts.known_hosts, work / ".ssh" / "known_hosts")
        inventory = work / "inventory.json"
        inventory.write_text(json.dumps(_inventory(facts, node)), encoding="utf-8")
        user, token = facts.token_id.split("!", 1)
        extra = {"api_host": "127.0.0.1", "api_port": facts.port, "api_user": user,
                 "api_token_id": token, "api_token_secret": facts.token_secret,
                 "node": node, "vmid": VMID, "ostemplate": ostemplate,
                 "catalog_template": catalog}
        up = _run("lifecycle.yml", work, facts, extra, inventory)
        after_up = _snapshot(px, node)
        down = _run("teardown.yml", work, facts, extra, inventory)
        after_down = _snapshot(px, node)
        requests = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        yield Lifecycle(facts, node, ostemplate, catalog, up, down, after_up, after_down,
                        requests)


def _ok(result: dict[str, Any], changed: bool) -> dict[str, Any]:
    assert not result.get("failed") and not result.get("unreachable"), result
    assert result["changed"] is changed, result
    return result


# -- read-only modules --------------------------------------------------------------------


def test_node_info_lists_the_cluster(life: Lifecycle) -> None:
    nodes = _ok(life.up("node_info"), False)["proxmox_nodes"]
    assert sorted(n["node"] for n in nodes) == sorted(life.facts.nodes)
    assert {n["status"] for n in nodes} == {"online"}


def test_storage_info_reads_storage_cfg(life: Lifecycle) -> None:
    storages = {s["storage"]: s for s in _ok(life.up("storage_info"), False)["proxmox_storages"]}
    assert {"local", "local-lvm"} <= set(storages)
    assert "vztmpl" in storages["local"]["content"]  # the module splits the comma list
    assert storages["local-lvm"]["type"] == "lvmthin"
    one = _ok(life.up("storage_info_one"), False)["proxmox_storages"]
    assert [s["storage"] for s in one] == ["local-lvm"]
    missing = life.up("storage_info_missing")
    assert missing["failed"] and missing["msg"] == "Storage 'nosuchstore' does not exist"


def test_storage_contents_info_lists_the_seeded_template(life: Lifecycle) -> None:
    content = _ok(life.up("storage_contents"), False)["proxmox_storage_content"]
    assert life.ostemplate in [item["volid"] for item in content]


# -- container lifecycle ------------------------------------------------------------------


def test_create_builds_the_requested_container(life: Lifecycle) -> None:
    result = _ok(life.up("ct_create"), True)
    assert result["vmid"] == VMID
    config = life.after_up["config"]
    assert config["hostname"] == "ansible-ct"
    assert config["swap"] == 256
    assert config["unprivileged"] == 1
    assert config["ostype"] == "debian"
    assert config["rootfs"] == f"local-lvm:vm-{VMID}-disk-0,size=8G"
    net0 = dict(kv.split("=", 1) for kv in config["net0"].split(","))
    assert net0["name"] == "eth0" and net0["bridge"] == "vmbr0" and net0["ip"] == "dhcp"
    assert net0["hwaddr"].startswith("BC:24:11:") and net0["type"] == "veth"
    members = life.after_up["pools"]["ansible"]
    assert members["comment"] == "made by ansible"


def test_create_again_is_a_no_op(life: Lifecycle) -> None:
    result = _ok(life.up("ct_create_again"), False)
    assert result["msg"] == "Container config is already up to date."
    creates = [r for r in life.requests
               if r["method"] == "POST" and r["path"] == f"/nodes/{life.node}/lxc"]
    assert len(creates) == 1


def test_start_and_vm_info(life: Lifecycle) -> None:
    _ok(life.up("ct_start"), True)
    assert life.after_up["status"]["status"] == "running"
    vms = _ok(life.up("vm_info"), False)["proxmox_vms"]
    assert [(vm["vmid"], vm["type"], vm["status"]) for vm in vms] == [(VMID, "lxc", "running")]
    assert vms[0]["pool"] == "ansible"
    assert vms[0]["config"]["cores"] == 2  # read before ct_update


def test_update_changes_a_running_container_in_place(life: Lifecycle) -> None:
    _ok(life.up("ct_update"), True)
    config = life.after_up["config"]
    assert (config["cores"], config["memory"]) == (3, 2048)  # hot-plugged while running
    assert life.after_up["status"]["status"] == "running"
    put = [r for r in life.requests
           if r["method"] == "PUT" and r["path"] == f"/nodes/{life.node}/lxc/{VMID}/config"]
    assert len(put) == 1 and put[0]["status"] == 200


def test_template_download_from_the_catalog(life: Lifecycle) -> None:
    _ok(life.up("template_download"), True)
    _ok(life.up("template_download_again"), False)
    assert f"local:vztmpl/{life.catalog_template}" in life.after_up["templates"]


def test_stop_then_remove(life: Lifecycle) -> None:
    _ok(life.down("ct_stop"), True)
    vms = _ok(life.down("vm_info_stopped"), False)["proxmox_vms"]
    assert [vm["status"] for vm in vms] == ["stopped"]
    _ok(life.down("ct_remove"), True)
    _ok(life.down("ct_remove_again"), False)
    after = life.after_down
    assert VMID not in after["containers"]
    assert all(r.get("vmid") != VMID for r in after["resources"])
    assert not [d for d in after["disks"] if f"-{VMID}-" in d]  # the volume is freed


def test_teardown_removes_template_and_emptied_pool(life: Lifecycle) -> None:
    _ok(life.down("template_remove"), True)
    assert f"local:vztmpl/{life.catalog_template}" not in life.after_down["templates"]
    assert life.ostemplate in life.after_down["templates"]
    _ok(life.down("pool_remove"), True)  # destroy took the CT out of the pool
    assert "ansible" not in life.after_down["pools"]


def test_playbooks_succeed_and_every_error_is_one_proxmox_gives(life: Lifecycle) -> None:
    assert life.up.returncode == 0, life.up.stderr[-2000:]
    assert life.down.returncode == 0, life.down.stderr[-2000:]
    errors = sorted({(r["method"], r["path"], r["status"]) for r in life.requests
                     if r["status"] != 200})
    assert errors == [
        # the proxmox module probes for the CT before creating it: 500 "does not exist"
        ("GET", f"/nodes/{life.node}/lxc/{VMID}/config", 500),
        ("GET", "/storage/nosuchstore", 500),  # storage_info_missing
    ]


# -- inside the container: the proxmox_pct_remote connection plugin -------------------------


@needs_pct
def test_pct_remote_runs_commands_and_copies_files(life: Lifecycle) -> None:
    host = f"ct{VMID}"
    os_release = _ok(life.up("os_release", host), False)["stdout"]
    assert "ID=debian" in os_release.splitlines()
    copied = _ok(life.up("copy_file", host), True)
    assert (copied["dest"], copied["mode"], copied["owner"]) == ("/root/hello.txt", "0640", "root")
    assert _ok(life.up("read_back", host), False)["stdout"] == "hello from ansible"


@needs_pct
def test_pct_remote_default_become_with_sudo_on_the_node(life: Lifecycle) -> None:
    """The plugin's default: an ordinary node login that prefixes `sudo` to `pct exec`."""
    result = life.up("sudo_pct", f"ct{VMID}-sudo")
    assert not result.get("unreachable"), result
    assert result.get("rc") == 0, result
