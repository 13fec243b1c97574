"""The checked-in schemas/pxrun.schema.json matches the models, and says what editors need."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pxrun.cli.main import main
from pxrun.spec.jsonschema import SCHEMA_PATH, render_schema, spec_schema, stale_reason

DESIGN_EXAMPLE: dict[str, Any] = {
    "version": 1, "stack": "homelab", "cluster": "home", "vars": {"domain": "lan"},
    "secrets": "secrets.sops.yaml",
    "defaults": {"template": "debian-12", "storage": "local-lvm",
                 "resources": {"cores": 2, "memory": 1024, "swap": 512, "disk": 10},
                 "networks": {"net0": {"bridge": "vmbr0", "ip": "dhcp"}}, "unprivileged": True},
    "containers": {"web": {
        "count": 2, "hostname": "web-{{ index }}.{{ vars.domain }}", "node": "auto",
        "networks": {"net0": {"ip": "10.0.0.2{{ index }}/24", "gw": "10.0.0.1", "vlan": 20}},
        "mounts": {"mp0": {"volume": "local-lvm:32", "path": "/srv/data", "backup": True},
                   "mp1": {"host_path": "/mnt/media", "path": "/media", "read_only": True}},
        "devices": {"dev0": {"path": "/dev/dri/renderD128", "gid": 104}},
        "features": {"nesting": True}, "state": "running", "onboot": True,
        "startup": {"order": 2, "up": 30}, "tags": ["web"], "protection": True,
        "lifecycle": {"prevent_destroy": True, "ignore_changes": ["description"]},
        "depends_on": ["db"],
        "provision": {"ssh_keys": ["ssh-ed25519 AAAA me@laptop"], "packages": ["nginx"],
                      "docker": True, "tailscale": {"auth_key": "{{ secrets.tailscale_key }}"},
                      "files": [{"dest": "/etc/nginx/sites-enabled/default",
                                 "template": "files/nginx.conf.j2", "mode": "0644"}],
                      "run": [{"name": "enable nginx",
                               "script": "systemctl enable --now nginx"}]}},
        "db": {}},
}


def test_checked_in_schema_is_fresh() -> None:
    assert stale_reason() is None, "run `python -m pxrun schema --write` and commit the result"


def test_schema_header_and_help() -> None:
    schema = spec_schema()
    assert list(schema)[:2] == ["$schema", "$id"]
    assert schema["title"] == "pxrun spec"
    memory = schema["$defs"]["Resources"]["properties"]["memory"]
    assert "MiB" in json.dumps(memory)  # field docstrings reach the editor


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize(
    ("doc", "ok"),
    [
        (DESIGN_EXAMPLE, True),
        ({}, True),
        ({"containers": {"web": {"resources": {"memroy": 1}}}}, False),
        ({"containers": {"web": {"networks": {"net32": {}}}}}, False),
        ({"containers": {"web": {"networks": {"nett0": {}}}}}, False),
        ({"containers": {"web": {"networks": {"net0": {"vlan": 5000}}}}}, False),
        ({"containers": {"web": {"networks": {"net0": {"vlan": "{{ vars.vlan }}"}}}}}, True),
        ({"containers": {"web": {"vmid": 99}}}, False),
        ({"containers": {"web": {"tags": ["-x"]}}}, False),
        ({"containers": {"Web": {}}}, False),
        ({"defaults": {"count": 2}}, False),
        ({"containers": {"web": {"provision": {"users": [{"groups": ["a"]}]}}}}, False),
    ],
)
def test_editor_sees_the_same_rules(doc: dict[str, Any], ok: bool) -> None:
    errors = list(_validator().iter_errors(doc))
    assert (not errors) == ok, [e.message for e in errors]


def test_cli_check_write_and_print(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "pxrun.schema.json"
    assert main(["schema", "--check", "--file", str(target)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["schema", "--write", "--file", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_schema()
    assert main(["schema", "--check", "--file", str(target)]) == 0
    target.write_text("{}\n", encoding="utf-8")
    assert main(["schema", "--check", "--file", str(target)]) == 1
    err = capsys.readouterr().err
    assert "is stale" in err and "pxrun schema --write" in err
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["$id"] == spec_schema()["$id"]


def test_write_and_check_exclude_each_other() -> None:
    assert main(["schema", "--write", "--check"]) == 3


def test_print_is_the_shipped_schema_and_the_repository_path_leads_to_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    # `pxrun schema` prints the file shipped in the package (fresh: see above); the path
    # the examples name (schemas/pxrun.schema.json) is a link to that same file.
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == SCHEMA_PATH.read_text(encoding="utf-8") == render_schema()
    in_repo = Path(__file__).resolve().parents[2] / "schemas" / "pxrun.schema.json"
    assert in_repo.resolve() == SCHEMA_PATH
    assert SCHEMA_PATH.parent.name == "spec" and SCHEMA_PATH.parent.parent.name == "pxrun"
