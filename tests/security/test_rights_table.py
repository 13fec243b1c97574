"""The privilege table (`pxrun/connect/rights.py`) against its two sources of truth: the
official API schema's permission rules, and the requests pxrun actually makes.

- Every row names an endpoint of the 9.1 schema, and holds the privileges its `check`
  demands (all of them, or one of an `any` list) on the same object.
- Every request a run of plan, apply (create, update, resize, migrate, a new mount point,
  template download, provisioning), drift, list, doctor and destroy makes, recorded by the
  simulator's request log, is a row of the table; read-only commands call only `read` rows.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from pxrun.cli.main import main
from pxrun.connect.rights import CALLS, CONDITIONAL, Call, Mode, split_need
from pxrun.sim.runtime import init_state
from pxrun.sim.settings import SimSettings

ROOT = Path(__file__).resolve().parents[2]


def _schema(reference_dir: Path) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}

    def walk(items: list[Any]) -> None:
        for item in items:
            for method, info in (item.get("info") or {}).items():
                out[(method, item["path"])] = info.get("permissions") or {}
            walk(item.get("children") or [])

    walk(json.loads((reference_dir / "pve-apidata-9.1.json").read_text()))
    return out


def _covers(ours: str, theirs: str) -> bool:
    """Whether our ACL path template grants on the schema's: the same object, or its area
    (a placeholder's name may differ: `/pool/{poolid}` is ours `/pool`)."""
    def norm(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    ours, theirs = norm(ours), norm(theirs)
    return theirs == ours or theirs.startswith(ours.rstrip("/") + "/")


def _demanded(check: Any) -> list[tuple[tuple[str, ...], str, bool]]:
    """(privileges, path, any_of) for each `perm` term of a schema check."""
    if not isinstance(check, list) or not check:
        return []
    if check[0] == "perm":
        return [(tuple(check[2]), check[1], "any" in check[3:])]
    if check[0] in ("and", "or"):
        return [term for sub in check[1:] for term in _demanded(sub)]
    return []


@pytest.mark.parametrize("call", CALLS, ids=[f"{c.method} {c.path}" for c in CALLS])
def test_each_row_holds_what_the_schema_checks(call: Call, reference_dir: Path) -> None:
    schema = _schema(reference_dir)
    assert (call.method, call.path) in schema, "not an endpoint of the 9.1 schema"
    needs = [(privs, CONDITIONAL.get(path, path))  # a conditional need: what it stands for
             for privs, path in (split_need(need) for need in call.needs)]
    for privileges, path, any_of in _demanded(schema[(call.method, call.path)].get("check")):
        held = [p for p in privileges
                if any(p in ours and _covers(where, path) for ours, where in needs)]
        if any_of:
            assert held, (privileges, path)
        else:
            assert held == list(privileges), (privileges, path)


def _stack(name: str) -> str:
    """The head of both runs' specs: stack `name`, small containers on local-lvm, DHCP."""
    return (f"version: 1\nstack: {name}\ndefaults:\n  storage: local-lvm\n"
            "  resources: {cores: 1, memory: 256, swap: 0, disk: 4}\n"
            "  networks:\n    net0: {bridge: vmbr0, ip: dhcp}\ncontainers:\n")


SPEC = _stack("cover") + """\
  web:
    template: debian-12
    node: pve1
    provision:
      run:
        - {name: hello, command: "echo hello"}
  box:
    template: %s
    node: pve2
"""
CHANGED = {
    "resources: {cores: 1, memory: 256, swap: 0, disk: 4}":
        "resources: {cores: 2, memory: 512, swap: 0, disk: 6}",
    "node: pve1": "node: pve3",
    "    provision:":
        "    mounts:\n      mp0: {volume: 'local-lvm:1', path: /data}\n    provision:",
}


def _simulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A fresh simulator state and the request log path; no PROXMOX_* from outside."""
    state = tmp_path / "sim"
    init_state(state, settings=SimSettings(time_scale=0.02, seed=3))
    monkeypatch.chdir(tmp_path)
    for name in [v for v in os.environ if v.startswith("PROXMOX_")]:
        monkeypatch.delenv(name)
    return state, tmp_path / "requests.jsonl"


def _rows(log: Path) -> list[tuple[str, str, Call | None]]:
    patterns = [(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(c.path)) + "$"),
                 c) for c in CALLS]
    seen = []
    for line in log.read_text().splitlines():
        request = json.loads(line)
        path = "/" + request["path"].lstrip("/")
        match = next((c for pattern, c in patterns
                      if c.method == request["method"] and pattern.match(path)), None)
        seen.append((request["method"], path, match))
    log.unlink()
    return seen


@pytest.mark.integration
def test_every_request_pxrun_makes_is_in_the_table(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    state, log = _simulator(tmp_path, monkeypatch)
    spec = tmp_path / "pxrun.yaml"
    spec.write_text(SPEC % "ubuntu-24.04")  # not on the nodes yet: a download
    runs: list[tuple[Mode, list[str]]] = [
        (Mode.READ, ["plan"]), (Mode.APPLY, ["apply", "--auto-approve"]),
        (Mode.READ, ["drift"]), (Mode.READ, ["doctor"]), (Mode.READ, ["list"])]
    called: set[tuple[str, str]] = set()

    def go(mode: Mode, args: list[str]) -> None:
        extra = ["-f", str(spec)] if args[0] != "list" else []
        status = main(["--sim", "--sim-dir", str(state), "--request-log", str(log), *args,
                       *extra])
        out = capsys.readouterr()
        assert status in (0, 2), (args, out.out, out.err)
        for method, path, row in _rows(log):
            assert row is not None, f"{args[0]} called {method} {path}, not in the table"
            assert row.mode <= mode, f"{args[0]} called {method} {path}, a {row.mode} row"
            called.add((row.method, row.path))

    for mode, args in runs:
        go(mode, args)
    text = spec.read_text()
    for old, new in CHANGED.items():
        text = text.replace(old, new)
    spec.write_text(text)
    go(Mode.APPLY, ["apply", "--auto-approve"])
    go(Mode.READ, ["plan"])
    go(Mode.APPLY, ["destroy", "--auto-approve"])
    exercised = {("POST", "/nodes/{node}/lxc"), ("PUT", "/nodes/{node}/lxc/{vmid}/config"),
                 ("PUT", "/nodes/{node}/lxc/{vmid}/resize"),
                 ("POST", "/nodes/{node}/lxc/{vmid}/migrate"),
                 ("POST", "/nodes/{node}/aplinfo"), ("DELETE", "/nodes/{node}/lxc/{vmid}")}
    assert exercised <= called, exercised - called


SAFETY = _stack("nets") + """\
  db:
    template: %s
    node: pve1
    mounts:
      mp0: {volume: 'local-lvm:1', path: /srv/data}
    lifecycle: {snapshot: before_change, snapshot_keep: 1, backup_before_destroy: local}
"""


@pytest.mark.integration
def test_the_safety_nets_requests_are_in_the_table(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Snapshots before a risky change, a replace that hands the data volume over, a backup
    before destroy, `pxrun rollback` and `pxrun restore`: each request is a row, and the
    spec's requirements name the snapshot and backup privileges (the recipe does not)."""
    from pxrun.connect.rights import privileges, requirements, spec_facts
    from pxrun.spec.load import load_stack

    state, log = _simulator(tmp_path, monkeypatch)
    spec = tmp_path / "pxrun.yaml"
    called: set[tuple[str, str]] = set()

    def go(*args: str) -> None:
        status = main(["--sim", "--sim-dir", str(state), "--request-log", str(log), *args,
                       "-f", str(spec)])
        out = capsys.readouterr()
        assert status == 0, (args, out.out, out.err)
        for method, path, row in _rows(log):
            assert row is not None, f"{args[0]} called {method} {path}, not in the table"
            called.add((row.method, row.path))

    spec.write_text(SAFETY % "debian-12")
    go("apply", "--auto-approve")
    zone = "    node: pve1\n    timezone: %s\n"
    spec.write_text((SAFETY % "debian-12").replace("    node: pve1\n", zone % "UTC"))
    go("apply", "--auto-approve")  # a restart: a snapshot first
    spec.write_text(SAFETY % "ubuntu-24.04")
    go("apply", "--auto-approve")  # a replace: backup, reassign, old snapshots dropped
    go("destroy", "--auto-approve")
    go("restore", "db", "--auto-approve")
    go("apply", "--auto-approve")  # started again
    for tz in ("Europe/Berlin", "Europe/Rome"):  # a snapshot each, the older one deleted
        spec.write_text((SAFETY % "ubuntu-24.04").replace("    node: pve1\n", zone % tz))
        go("apply", "--auto-approve")
    go("rollback", "db", "--auto-approve")
    exercised = {("POST", "/nodes/{node}/lxc/{vmid}/snapshot"),
                 ("DELETE", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}"),
                 ("POST", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback"),
                 ("POST", "/nodes/{node}/vzdump"),
                 ("POST", "/nodes/{node}/lxc/{vmid}/move_volume")}
    assert exercised <= called, exercised - called

    needed = {(r.privilege, r.path) for r in requirements(spec_facts(load_stack(spec).stack))}
    assert {("VM.Snapshot", "/vms"), ("VM.Backup", "/vms"),
            ("Datastore.AllocateSpace", "/storage/local")} <= needed
    assert "VM.Snapshot" not in privileges(Mode.APPLY)  # only for specs that use them
