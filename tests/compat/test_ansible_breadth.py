"""community.proxmox, unmodified, for snapshots, backups, clones, templates, uploads and the
dynamic inventory, against `pxrun sim serve`'s runtime (spec 0024, simulator breadth issue).

One simulator, one `ansible-playbook` run (`breadth.yml`) and one `ansible-inventory --list`
with the collection's inventory plugin. The tests check the modules' results and the
simulator's state read back through plain proxmoxer.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pxrun.sim.runtime import SimFacts, SimRuntime, init_state
from pxrun.sim.settings import SimSettings
from tests.compat.test_ansible_proxmox import (
    ANSIBLE_PLAYBOOK,
    CONTROLLER,
    Run,
    _ok,
    _proxmoxer,
    _run,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not ANSIBLE_PLAYBOOK.exists(),
                       reason="ansible with community.proxmox is not installed"),
]
UPLOAD = "uploaded-1.0-1_amd64.tar.gz"


@dataclass
class Breadth:
    facts: SimFacts
    node: str
    run: Run
    after: dict[str, Any]
    inventory: dict[str, Any]
    requests: list[dict[str, Any]]


def _upload_file(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        data = b"ID=debian\n"
        info = tarfile.TarInfo("./etc/os-release")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def _inventory(work: Path, facts: SimFacts) -> dict[str, Any]:
    user, token = facts.token_id.split("!", 1)
    source = work / "cluster.proxmox.yml"
    source.write_text(json.dumps({
        "plugin": "community.proxmox.proxmox", "url": facts.endpoint, "user": user,
        "token_id": token, "token_secret": facts.token_secret, "validate_certs": True,
        "want_facts": True}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PROXMOX_", "ANSIBLE_", "REQUESTS_", "CURL_CA"))}
    env.update({"HOME": str(work), "REQUESTS_CA_BUNDLE": str(facts.ca_file),
                "ANSIBLE_INVENTORY_ENABLED": "community.proxmox.proxmox"})
    proc = subprocess.run([str(ANSIBLE_PLAYBOOK.parent / "ansible-inventory"), "-i",
                           str(source), "--list"], env=env, cwd=work, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data: dict[str, Any] = _plain(json.loads(proc.stdout))
    return data


def _plain(value: Any) -> Any:
    """ansible-inventory marks strings from plugins as `{"__ansible_unsafe": text}`."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.fixture(scope="module")
def breadth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Breadth]:
    work = tmp_path_factory.mktemp("ansible-breadth")
    state = work / "sim"
    init_state(state)
    log = work / "requests.jsonl"
    with SimRuntime(state, settings=SimSettings(time_scale=0), request_log=log) as runtime:
        facts = runtime.facts
        node = facts.nodes[0]
        px = _proxmoxer(facts)
        ostemplate = px.nodes(node).storage("local").content.get(content="vztmpl")[0]["volid"]
        inventory_file = work / "inventory.json"
        inventory_file.write_text(json.dumps({"controller": CONTROLLER}), encoding="utf-8")
        user, token = facts.token_id.split("!", 1)
        extra = {"api_host": "127.0.0.1", "api_port": facts.port, "api_user": user,
                 "api_token_id": token, "api_token_secret": facts.token_secret,
                 "node": node, "ostemplate": ostemplate,
                 "upload_src": str(_upload_file(work / UPLOAD))}
        run = _run("breadth.yml", work, facts, extra, inventory_file)
        after = {
            "base": px.nodes(node).lxc(301).config.get(),
            "snapshots": px.nodes(node).lxc(301).snapshot.get(),
            "clone": px.nodes(node).lxc(302).config.get(),
            "linked": px.nodes(node).lxc(303).config.get(),
            "linked_status": px.nodes(node).lxc(303).status.current.get(),
            "local": px.nodes(node).storage("local").content.get(),
        }
        inventory = _inventory(work, facts)
        requests = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        yield Breadth(facts, node, run, after, inventory, requests)


def test_snapshot_create_rollback_remove(breadth: Breadth) -> None:
    run = breadth.run
    _ok(run("snap_create"), True)
    _ok(run("snap_create_again"), False)
    _ok(run("base_update"), True)
    _ok(run("snap_rollback"), True)
    _ok(run("snap_remove"), True)
    _ok(run("snap_remove_again"), False)
    assert breadth.after["base"]["memory"] == 512  # the rollback undid the update
    assert [s["name"] for s in breadth.after["snapshots"]] == ["current"]


def test_backup_lands_on_the_storage(breadth: Breadth) -> None:
    result = _ok(breadth.run("backup"), True)
    assert {task["node"] for task in result["backups"]} == set(breadth.facts.nodes)
    archives = [v for v in breadth.after["local"] if v["content"] == "backup"]
    assert [(a["vmid"], a["notes"]) for a in archives] == [(301, "ansible-base by ansible")]


def test_template_upload(breadth: Breadth) -> None:
    _ok(breadth.run("template_upload"), True)
    assert f"local:vztmpl/{UPLOAD}" in [v["volid"] for v in breadth.after["local"]]


def test_full_clone_template_and_linked_clone(breadth: Breadth) -> None:
    run = breadth.run
    _ok(run("clone_full"), True)
    assert breadth.after["clone"]["hostname"] == "ansible-clone"
    assert breadth.after["clone"]["rootfs"].startswith("local-lvm:vm-302-disk-0,")
    _ok(run("to_template"), True)
    _ok(run("to_template_again"), False)
    assert breadth.after["base"]["template"] == 1
    assert breadth.after["base"]["rootfs"].startswith("local-lvm:base-301-disk-0,")
    _ok(run("clone_linked"), True)
    _ok(run("linked_start"), True)
    assert breadth.after["linked"]["rootfs"].startswith("local-lvm:vm-303-disk-0,")
    assert breadth.after["linked_status"]["status"] == "running"


def test_playbook_succeeds_without_unimplemented_calls(breadth: Breadth) -> None:
    assert breadth.run.returncode == 0, breadth.run.stderr[-3000:]
    errors = sorted({(r["method"], r["path"], r["status"]) for r in breadth.requests
                     if r["status"] != 200})
    assert [e for e in errors if e[2] == 501] == []
    # `proxmox` probes a vmid before creating or cloning: 500 "does not exist", as in PVE
    assert {e[2] for e in errors} <= {500}


def test_inventory_plugin_lists_containers_with_facts(breadth: Breadth) -> None:
    inventory = breadth.inventory
    hosts = inventory["_meta"]["hostvars"]
    assert {"ansible-clone", "ansible-linked"} <= set(hosts)
    assert "ansible-base" not in hosts  # the plugin leaves templates out
    assert set(inventory["proxmox_all_lxc"]["hosts"]) >= {"ansible-clone", "ansible-linked"}
    assert "ansible-linked" in inventory["proxmox_all_running"]["hosts"]
    linked = hosts["ansible-linked"]
    assert linked["proxmox_vmid"] == 303 and linked["proxmox_status"] == "running"
    assert linked["proxmox_hostname"] == "ansible-linked"
    assert any(i["name"] == "eth0" for i in linked["proxmox_lxc_interfaces"])
    assert set(inventory["proxmox_nodes"]["hosts"]) == set(breadth.facts.nodes)
