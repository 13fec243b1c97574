"""The simulator's answers against the `returns` schemas of the official PVE 9.1 schema.

`check_returns` is a small checker for PVE schema types: object properties (present unless
optional, extra properties allowed because PVE's return schemas are incomplete), arrays of
items, scalar types, enums, patterns and `null`. The live test calls every GET endpoint in
the parameter table on a running simulator (`sim_env`) and checks `data`; deliberate or
Proxmox-faithful differences are listed in KNOWN.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from pxrun.sim.table import TABLE

# (template, JSON path) -> why the simulator, like real Proxmox, differs from the schema.
KNOWN: dict[tuple[str, str], str] = {
    ("/cluster/nextid", "data"): "PVE returns the id as a JSON string (reference A1)",
    ("/nodes/{node}/lxc/{vmid}/pending", "data[*].value"): (
        "current values are typed as in the config, e.g. 512 (reference A3 example)"
    ),
}


def _known(template: str, problem: str) -> bool:
    where = re.sub(r"\[\d+\]", "[*]", problem.split(":", 1)[0])
    return (template, where) in KNOWN


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type", "any")
    return list(kind) if isinstance(kind, list) else [kind]


def _fits_scalar(value: Any, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "null":
        return value is None
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool) or value in (0, 1)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return True


def check_returns(value: Any, schema: dict[str, Any], path: str = "data") -> list[str]:
    """Differences between a returned value and a PVE `returns` schema, as readable lines."""
    kinds = _types(schema)
    if value is None:
        return [] if "null" in kinds or "any" in kinds else [f"{path}: null, schema wants {kinds}"]
    fitting = [k for k in kinds if _fits_scalar(value, k)]
    if not fitting:
        return [f"{path}: {type(value).__name__} {value!r:.60}, schema wants {'|'.join(kinds)}"]
    problems: list[str] = []
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value:
                if not sub.get("optional"):
                    problems.append(f"{path}.{key}: missing")
                continue
            if value[key] is None and sub.get("optional"):
                continue
            problems += check_returns(value[key], sub, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += check_returns(item, schema["items"], f"{path}[{i}]")
    elif isinstance(value, str):
        enum = schema.get("enum")
        if enum and value not in enum:
            problems.append(f"{path}: {value!r} not in {enum}")
        pattern = schema.get("pattern")
        if pattern and not re.match(f"^(?:{pattern.replace('(?^:', '(?:')})$", value):
            problems.append(f"{path}: {value!r} does not match {pattern}")
    return problems


# -- the checker itself ------------------------------------------------------------------

OBJ = {
    "type": "object",
    "properties": {
        "vmid": {"type": "integer"},
        "status": {"type": "string", "enum": ["running", "stopped"]},
        "cpu": {"type": "number", "optional": 1},
        "template": {"type": "boolean", "optional": 1},
        "tags": {"type": "string", "optional": 1},
    },
}


@pytest.mark.parametrize(
    ("value", "schema", "problems"),
    [
        ({"vmid": 100, "status": "running", "extra": [1]}, OBJ, []),
        ({"vmid": 100, "status": "running", "cpu": 0, "template": 1, "tags": None}, OBJ, []),
        (
            {"vmid": "100", "status": "paused"},
            OBJ,
            [
                "data.vmid: str '100', schema wants integer",
                "data.status: 'paused' not in ['running', 'stopped']",
            ],
        ),
        (
            {"status": "running", "template": 2},
            OBJ,
            ["data.vmid: missing", "data.template: int 2, schema wants boolean"],
        ),
        (
            [{"vmid": 1, "status": "stopped"}, 5],
            {"type": "array", "items": OBJ},
            ["data[1]: int 5, schema wants object"],
        ),
        (None, {"type": "null"}, []),
        (None, {"type": "string"}, ["data: null, schema wants ['string']"]),
        (
            "abc",
            {"type": "string", "pattern": "[0-9a-f]{8,64}"},
            ["data: 'abc' does not match [0-9a-f]{8,64}"],
        ),
        (True, {"type": "integer"}, ["data: bool True, schema wants integer"]),
        ({}, {"type": "object"}, []),
    ],
)
def test_checker(value: Any, schema: dict[str, Any], problems: list[str]) -> None:
    assert check_returns(value, schema) == problems


# -- the live simulator ------------------------------------------------------------------


def _returns_index(reference_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    tree = json.loads((reference_dir / "pve-apidata-9.1.json").read_text(encoding="utf-8"))
    found: dict[tuple[str, str], dict[str, Any]] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            for method, info in (node.get("info") or {}).items():
                found[(method, node["path"])] = info.get("returns") or {}
            walk(node.get("children") or [])

    walk(tree)
    return found


class Unavailable(Exception):
    """A placeholder cannot be filled from the simulator's current state."""


def _get(prox: Any, path: str, **params: Any) -> Any:
    return prox(path.lstrip("/")).get(**params)


def _wait(prox: Any, node: str, upid: str, deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if _get(prox, f"/nodes/{node}/tasks/{upid}/status").get("status") == "stopped":
            return
    raise Unavailable(f"task {upid} did not finish")


def _container(prox: Any, node: str) -> int:
    """An existing container's vmid, or a new one created from the first template."""
    existing = _get(prox, f"/nodes/{node}/lxc")
    if existing:
        return int(existing[0]["vmid"])
    storages = _get(prox, f"/nodes/{node}/storage")
    template = root = None
    for storage in storages:
        content = storage.get("content", "")
        if "vztmpl" in content and template is None:
            items = _get(
                prox, f"/nodes/{node}/storage/{storage['storage']}/content", content="vztmpl"
            )
            template = items[0]["volid"] if items else None
        if "rootdir" in content and (root is None or storage.get("type") == "lvmthin"):
            root = storage["storage"]  # snapshot-capable when there is such a storage
    if template is None or root is None:
        raise Unavailable("no container, and no template/rootdir storage to create one")
    vmid = int(_get(prox, "/cluster/nextid"))
    upid = prox.nodes(node).lxc.post(
        vmid=vmid, ostemplate=template, rootfs=f"{root}:1", hostname="conform"
    )
    _wait(prox, node, upid)
    return vmid


def _fill(prox: Any, template: str) -> str:
    """The template with every `{placeholder}` replaced by something that exists."""
    values: dict[str, str] = {}
    names = re.findall(r"\{(\w+)\}", template)
    if not names:
        return template
    nodes = _get(prox, "/nodes")
    if not nodes:
        raise Unavailable("no nodes")
    node = values["node"] = nodes[0]["node"]
    if "vmid" in names:
        values["vmid"] = str(_container(prox, node))
        if template.endswith("/interfaces"):  # only a running container has interfaces
            status = _get(prox, f"/nodes/{node}/lxc/{values['vmid']}/status/current")
            if status["status"] != "running":
                _wait(prox, node, prox.nodes(node).lxc(values["vmid"]).status.start.post())
    if "snapname" in names:
        vmid = values["vmid"]
        snaps = [s["name"] for s in _get(prox, f"/nodes/{node}/lxc/{vmid}/snapshot")
                 if s["name"] != "current"]
        if not snaps:
            _wait(prox, node, prox.nodes(node).lxc(vmid).snapshot.post(snapname="conform"))
            snaps = [s["name"] for s in _get(prox, f"/nodes/{node}/lxc/{vmid}/snapshot")
                     if s["name"] != "current"]
        if snaps:
            values["snapname"] = snaps[0]
    if "storage" in names or "volume" in names:
        for storage in _get(prox, f"/nodes/{node}/storage"):
            values.setdefault("storage", storage["storage"])
            if "volume" in names:
                items = _get(prox, f"/nodes/{node}/storage/{storage['storage']}/content")
                if items:
                    values["storage"], values["volume"] = storage["storage"], items[0]["volid"]
                    break
    if "iface" in names:
        ifaces = _get(prox, f"/nodes/{node}/network")
        if ifaces:
            values["iface"] = ifaces[0]["iface"]
    if "upid" in names:
        tasks = _get(prox, f"/nodes/{node}/tasks") or []
        if not tasks:
            _container(prox, node)
            tasks = _get(prox, f"/nodes/{node}/tasks") or []
        if tasks:
            values["upid"] = tasks[0]["upid"]
    if "id" in names and template.startswith("/cluster/backup/"):
        jobs = _get(prox, "/cluster/backup")
        if not jobs:
            prox.cluster.backup.post(id="conform", schedule="02:00",
                                     vmid=_container(prox, node), storage="local")
            jobs = _get(prox, "/cluster/backup")
        values["id"] = jobs[0]["id"]
    if "sid" in names:
        resources = _get(prox, "/cluster/ha/resources")
        if not resources:
            prox.cluster.ha.resources.post(sid=f"ct:{_container(prox, node)}", state="stopped")
            resources = _get(prox, "/cluster/ha/resources")
        values["sid"] = resources[0]["sid"]
    if "rule" in names:
        rules = _get(prox, "/cluster/ha/rules")
        if not rules:
            prox.cluster.ha.rules.post(rule="conform", type="node-affinity",
                                       resources=str(_container(prox, node)), nodes=node)
            rules = _get(prox, "/cluster/ha/rules")
        values["rule"] = rules[0]["rule"]
    if template.startswith("/nodes/{node}/lxc/{vmid}/firewall/"):
        fw = prox.nodes(node).lxc(values["vmid"]).firewall
        if not fw.rules.get():
            fw.aliases.post(name="conform", cidr="192.0.2.1")
            fw.ipset.post(name="conform")
            fw.ipset("conform").post(cidr="192.0.2.0/24")
            fw.rules.post(type="in", action="ACCEPT", enable=1)
        values.update({"pos": "0", "name": "conform", "cidr": "192.0.2.0%2F24"})
        if template.endswith("/aliases/{name}"):
            values["name"] = "conform"
    if "service" in names:
        values["service"] = "pveproxy"
    if "userid" in names:
        values["userid"] = "root@pam"
    if "tokenid" in names:
        tokens = _get(prox, "/access/users/root@pam/token")
        if tokens:
            values["tokenid"] = tokens[0]["tokenid"]
    if "groupid" in names:
        if not _get(prox, "/access/groups"):
            prox.access.groups.post(groupid="conform")
        values["groupid"] = _get(prox, "/access/groups")[0]["groupid"]
    if "roleid" in names:
        values["roleid"] = _get(prox, "/access/roles")[0]["roleid"]
    if "poolid" in names:
        pools = _get(prox, "/pools")
        if not pools:
            prox.pools.post(poolid="conform")
            pools = _get(prox, "/pools")
        values["poolid"] = pools[0]["poolid"]
    missing = [n for n in names if n not in values]
    if missing:
        raise Unavailable(f"nothing to fill {missing} with")
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


GETS = sorted(t for (m, t) in TABLE if m == "GET")


def _a_backup(prox: Any) -> dict[str, str]:
    """`volume=` of a backup archive (made with vzdump when there is none)."""
    node = _get(prox, "/nodes")[0]["node"]
    vmid = _container(prox, node)
    found = _get(prox, f"/nodes/{node}/storage/local/content", content="backup")
    if not found:
        _wait(prox, node, prox.nodes(node).vzdump.post(vmid=vmid, storage="local"))
        found = _get(prox, f"/nodes/{node}/storage/local/content", content="backup")
    if not found:
        raise Unavailable("no backup archive")
    return {"volume": found[0]["volid"]}


# Required query parameters that name live objects: built from the running simulator.
DYNAMIC_QUERY = {"/nodes/{node}/vzdump/extractconfig": _a_backup}
# Required query parameters of GET endpoints (placeholders only fill the path).
QUERY: dict[str, dict[str, str]] = {
    "/nodes/{node}/lxc/{vmid}/feature": {"feature": "copy"},
    "/nodes/{node}/query-url-metadata": {"url": "https://example.com/images/x.tar.zst"},
    "/nodes/{node}/query-oci-repo-tags": {"reference": "docker.io/library/alpine"},
    "/nodes/{node}/rrddata": {"timeframe": "hour"},
    "/nodes/{node}/lxc/{vmid}/rrddata": {"timeframe": "day", "cf": "MAX"},
    "/nodes/{node}/storage/{storage}/rrddata": {"timeframe": "week"},
}


@pytest.mark.integration
@pytest.mark.parametrize("template", GETS)
def test_get_returns_fit_schema(
    template: str, request: pytest.FixtureRequest, reference_dir: Path
) -> None:
    from proxmoxer.core import ResourceException

    try:
        env = request.getfixturevalue("sim_env")
    except pytest.FixtureLookupError:
        pytest.skip("the sim_env fixture (tests/sim/conftest.py) is not available")
    prox = env.proxmoxer()
    schema = _returns_index(reference_dir)[("GET", template)]
    try:
        path = _fill(prox, template)
        query = dict(QUERY.get(template, {}))
        if template in DYNAMIC_QUERY:
            query.update(DYNAMIC_QUERY[template](prox))
        data = _get(prox, path, **query)
    except Unavailable as why:
        pytest.skip(f"{template}: {why}")
    except ResourceException as error:
        if error.status_code == 501:
            pytest.skip(f"{template}: no handler yet (501)")
        raise
    problems = [p for p in check_returns(data, schema) if not _known(template, p)]
    assert not problems, f"GET {path}:\n  " + "\n  ".join(problems)
