"""The simulator's parameter table against the official PVE 9.1 schema.

Every (method, template) in `TABLE` must exist in `pve-apidata-9.1.json` with the same
parameter names, types, optionality, formats (named formats by name, property strings key by
key), patterns, lengths, ranges, enums and `requires`. Deliberate differences must be listed
here explicitly; anything else fails with a readable diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pxrun.sim.propstr import FORMATS
from pxrun.sim.table import TABLE
from pxrun.sim.table_param import Param
from pxrun.sim.validate import implemented_endpoints

# The endpoints the simulator promises to implement (the simulator issue's list).
REQUIRED = """
GET /version
GET /access/ticket
POST /access/ticket
GET /access/permissions
GET /cluster/resources
GET /cluster/nextid
GET /cluster/status
GET /nodes
GET /nodes/{node}/status
GET /nodes/{node}/network
GET /nodes/{node}/network/{iface}
GET /nodes/{node}/storage
GET /nodes/{node}/storage/{storage}/status
GET /nodes/{node}/storage/{storage}/content
GET /nodes/{node}/storage/{storage}/content/{volume}
DELETE /nodes/{node}/storage/{storage}/content/{volume}
POST /nodes/{node}/storage/{storage}/download-url
GET /nodes/{node}/aplinfo
POST /nodes/{node}/aplinfo
GET /nodes/{node}/lxc
POST /nodes/{node}/lxc
GET /nodes/{node}/lxc/{vmid}
DELETE /nodes/{node}/lxc/{vmid}
GET /nodes/{node}/lxc/{vmid}/config
PUT /nodes/{node}/lxc/{vmid}/config
GET /nodes/{node}/lxc/{vmid}/pending
GET /nodes/{node}/lxc/{vmid}/status
GET /nodes/{node}/lxc/{vmid}/status/current
POST /nodes/{node}/lxc/{vmid}/status/start
POST /nodes/{node}/lxc/{vmid}/status/stop
POST /nodes/{node}/lxc/{vmid}/status/shutdown
POST /nodes/{node}/lxc/{vmid}/status/reboot
PUT /nodes/{node}/lxc/{vmid}/resize
POST /nodes/{node}/lxc/{vmid}/move_volume
GET /nodes/{node}/lxc/{vmid}/migrate
POST /nodes/{node}/lxc/{vmid}/migrate
GET /nodes/{node}/lxc/{vmid}/interfaces
GET /nodes/{node}/tasks
GET /nodes/{node}/tasks/{upid}
DELETE /nodes/{node}/tasks/{upid}
GET /nodes/{node}/tasks/{upid}/status
GET /nodes/{node}/tasks/{upid}/log
GET /pools
POST /pools
PUT /pools
DELETE /pools
GET /pools/{poolid}
PUT /pools/{poolid}
DELETE /pools/{poolid}
"""

# Parameters the simulator knows but deliberately refuses (answered with a clear 400).
UNSUPPORTED: set[tuple[str, str, str]] = set()

# Table entries allowed to differ from the schema, with the reason. Keep this empty unless
# Proxmox's runtime behaviour differs from its published schema.
DEVIATIONS: dict[tuple[str, str, str], str] = {}


def _index(nodes: list[dict[str, Any]], into: dict[tuple[str, str], dict[str, Any]]) -> None:
    for node in nodes:
        for method, info in (node.get("info") or {}).items():
            into[(method, node["path"])] = info
        _index(node.get("children") or [], into)


@pytest.fixture(scope="module")
def schema(reference_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    tree = json.loads((reference_dir / "pve-apidata-9.1.json").read_text(encoding="utf-8"))
    found: dict[tuple[str, str], dict[str, Any]] = {}
    _index(tree, found)
    return found


def _pattern(text: str | None) -> str | None:
    return None if text is None else text.replace("(?^:", "(?:")


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def compare_param(where: str, ours: Param, theirs: dict[str, Any]) -> list[str]:
    """Readable differences between one table entry and one schema property."""
    problems: list[str] = []

    def differ(what: str, mine: Any, official: Any) -> None:
        if mine != official:
            problems.append(f"{where}: {what} is {mine!r}, schema says {official!r}")

    differ("type", ours.type, theirs.get("type", "string"))
    differ("optional", ours.optional, bool(theirs.get("optional")))
    fmt = theirs.get("format")
    if isinstance(fmt, dict):
        if ours.propstr is None:
            problems.append(f"{where}: schema has a property string, table has none")
        else:
            sub = FORMATS[ours.propstr]
            differ("property-string keys", sorted(sub), sorted(fmt))
            for key in sorted(set(sub) & set(fmt)):
                problems += compare_param(f"{where}.{key}", sub[key], fmt[key])
    else:
        differ("format", ours.format, fmt)
        differ("property string", ours.propstr, None)
    differ("pattern", _pattern(ours.pattern), _pattern(theirs.get("pattern")))
    differ("maxLength", ours.max_length, theirs.get("maxLength"))
    differ("minLength", ours.min_length, theirs.get("minLength"))
    differ("maximum", _num(ours.maximum), _num(theirs.get("maximum")))
    differ("minimum", _num(ours.minimum), _num(theirs.get("minimum")))
    enum = theirs.get("enum")
    differ("enum", list(ours.enum) if ours.enum else None, list(enum) if enum else None)
    differ("requires", ours.requires, theirs.get("requires"))
    differ("default_key", ours.default_key, bool(theirs.get("default_key")))
    official_default = theirs.get("default")
    if ours.default is not None:
        differ("default", str(ours.default), str(official_default))
    return problems


def test_table_covers_the_promised_endpoints() -> None:
    promised = {tuple(line.split()) for line in REQUIRED.strip().splitlines()}
    assert promised - set(TABLE) == set()
    assert set(implemented_endpoints()) == set(TABLE)


@pytest.mark.parametrize("key", sorted(TABLE), ids=lambda k: f"{k[0]} {k[1]}")
def test_endpoint_parameters_match_schema(
    key: tuple[str, str], schema: dict[tuple[str, str], dict[str, Any]]
) -> None:
    method, template = key
    assert key in schema, f"{method} {template} is not in the official schema"
    official = schema[key].get("parameters", {})
    props: dict[str, Any] = official.get("properties", {})
    assert not official.get("additionalProperties"), "schema allows additional properties"
    ours = TABLE[key].params
    problems = []
    for name in sorted(set(props) - set(ours)):
        problems.append(f"{name}: in the schema but not in the table")
    for name in sorted(set(ours) - set(props)):
        problems.append(f"{name}: in the table but not in the schema")
    for name in sorted(set(ours) & set(props)):
        if (method, template, name) in DEVIATIONS:
            continue
        problems += compare_param(name, ours[name], props[name])
    assert not problems, f"{method} {template}:\n  " + "\n  ".join(problems)


def test_unsupported_markers_are_exactly_the_listed_ones() -> None:
    marked = {
        (m, t, name)
        for (m, t), ep in TABLE.items()
        for name, p in ep.params.items()
        if p.unsupported
    }
    assert marked == UNSUPPORTED


# Endpoints Proxmox VE 9 added (the simulator answers them 501 in 8.4 mode).
PVE9_ONLY = {
    ("GET", "/nodes/{node}/lxc/{vmid}/migrate"),
    *((m, "/cluster/ha/rules") for m in ("GET", "POST")),
    *((m, "/cluster/ha/rules/{rule}") for m in ("GET", "PUT", "DELETE")),
    ("GET", "/nodes/{node}/query-oci-repo-tags"),  # 9.1: OCI images
    ("POST", "/nodes/{node}/storage/{storage}/oci-registry-pull"),
    ("GET", "/cluster/bulk-action"),  # 9.1: cluster-wide bulk actions
    ("GET", "/cluster/bulk-action/guest"),
    *(("POST", f"/cluster/bulk-action/guest/{a}") for a in ("start", "shutdown", "suspend",
                                                             "migrate")),
}


def test_endpoints_that_exist_in_pve8_too(reference_dir: Path) -> None:
    """Every table entry but the PVE-9-only ones is also in the 8.4 schema."""
    tree = json.loads((reference_dir / "pve-apidata-8.4.json").read_text(encoding="utf-8"))
    found: dict[tuple[str, str], dict[str, Any]] = {}
    _index(tree, found)
    assert set(TABLE) - set(found) == PVE9_ONLY


def test_every_registered_route_has_a_table_entry() -> None:
    """The server validates every routed request, so every handler needs an entry."""
    import importlib
    import pkgutil

    from pxrun.sim import api

    try:
        handlers = importlib.import_module("pxrun.sim.handlers")
    except ImportError:
        pytest.skip("no handlers package yet")
    for module in pkgutil.iter_modules(handlers.__path__):
        importlib.import_module(f"{handlers.__name__}.{module.name}")
    routes = {(r.method, r.template) for r in api.ROUTES if not r.template.startswith("/_t/")}
    assert sorted(routes - set(TABLE)) == []


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        (Param(type="integer"), {"type": "integer", "optional": 1}, []),
        (
            Param(type="integer", optional=False),
            {"type": "integer", "optional": 1},
            ["x: optional is False, schema says True"],
        ),
        (
            Param(format="pve-node"),
            {"type": "string", "format": "pve-vmid", "optional": 1},
            ["x: format is 'pve-node', schema says 'pve-vmid'"],
        ),
        (
            Param(enum=("a", "b")),
            {"type": "string", "enum": ["b", "a"], "optional": 1},
            ["x: enum is ['a', 'b'], schema says ['b', 'a']"],
        ),
        (Param(type="number", minimum=0), {"type": "number", "minimum": "0", "optional": 1}, []),
        (
            Param(propstr="unused"),
            {
                "optional": 1,
                "format": {
                    "volume": {"type": "string", "default_key": 1, "format": "pve-volume-id"},
                    "x": {},
                },
            },
            ["x: property-string keys is ['volume'], schema says ['volume', 'x']"],
        ),
    ],
)
def test_compare_param_reports_differences(
    ours: Param, theirs: dict[str, Any], expected: list[str]
) -> None:
    assert compare_param("x", ours, theirs) == expected
