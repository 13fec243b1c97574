"""The README's least-privilege recipe, run as written against the simulator (each `pveum`
line becomes the API call it stands for), then pxrun with the tokens it made: the apply
token plans, applies (with provisioning) and destroys the quick start; the read-only token
plans and reports drift but cannot apply; a role missing one privilege is named by
`pxrun doctor` before apply fails on it. Also: the recipe holds exactly the privileges
and ACL paths of `pxrun/connect/rights.py`.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.cli.main import main
from pxrun.connect.rights import Mode, acl_paths, privileges
from pxrun.sim.runtime import SimFacts, SimRuntime, init_state
from pxrun.sim.settings import SimSettings
from tests.sim.conftest import proxmoxer_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SPEC = (ROOT / "examples" / "quickstart.yaml").read_text() + """\
    provision:
      run:
        - {name: hello, command: "echo hello from pxrun"}
"""


def recipe() -> list[str]:
    """The `pveum` lines of the README's least-privilege recipe, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
                if "pveum role add" in b]
    return [line for line in block.splitlines() if line.startswith("pveum ")]


def _options(words: list[str]) -> tuple[list[str], dict[str, str]]:
    args: list[str] = []
    opts: dict[str, str] = {}
    while words:
        word = words.pop(0)
        if word.startswith("--"):
            opts[word[2:]] = words.pop(0)
        else:
            args.append(word)
    return args, opts


def run_recipe(api: Any, lines: list[str], *, without: str | None = None) -> dict[str, str]:
    """Carry out `pveum` lines through the API (what pveum itself does); returns token id
    -> secret. `without` drops one privilege from every role."""
    tokens: dict[str, str] = {}
    for line in lines:
        args, opts = _options(shlex.split(line)[1:])
        match args:
            case ["role", "add", role]:
                privs = [p for p in opts["privs"].split(",") if p != without]
                api.access.roles.post(roleid=role, privs=",".join(privs))
            case ["user", "add", user]:
                api.access.users.post(userid=user, comment=opts.get("comment", ""))
            case ["user", "token", "add", user, name]:
                answer = api.access.users(user).token(name).post(
                    privsep=int(opts.get("privsep", "1")))
                tokens[f"{user}!{name}"] = answer["value"]
            case ["acl", "modify", path]:
                api.access.acl.put(path=path, **opts)
            case _:
                raise AssertionError(f"the test does not know `{line}`")
    return tokens


def test_the_recipe_holds_exactly_what_rights_lists() -> None:
    lines = recipe()
    roles = {args[2]: set(opts["privs"].split(",")) for args, opts in
             (_options(shlex.split(line)[1:]) for line in lines) if args[:2] == ["role", "add"]}
    assert roles["PxrunPlan"] == set(privileges(Mode.READ))
    assert roles["PxrunApply"] == set(privileges(Mode.APPLY))
    assert roles["PxrunApply"] | roles["PxrunNodes"] == set(privileges(Mode.PROVISION))
    granted: dict[str, set[str]] = {}
    for line in lines:
        args, opts = _options(shlex.split(line)[1:])
        if args[:2] == ["acl", "modify"]:
            for token in opts.get("tokens", "").split(","):
                granted.setdefault(token, set()).add(args[2])
            if args[2] == "/":
                assert opts["propagate"] == "0"  # Sys.Audit on / alone, not on everything
    assert granted["pxrun@pve!plan"] == set(acl_paths(Mode.READ))
    assert granted["pxrun@pve!ci"] == set(acl_paths(Mode.PROVISION))


@dataclass
class Cluster:
    facts: SimFacts
    api: Any
    work: Path
    spec: Path

    def use(self, monkeypatch: pytest.MonkeyPatch, token_id: str, secret: str) -> None:
        """A profile for `token_id` with node SSH to the simulator's nodes."""
        nodes = list(self.facts.nodes)
        profile = {"default": "lab", "clusters": {"lab": {
            "endpoint": self.facts.endpoint, "token_id": token_id, "token_secret": secret,
            "ca_file": str(self.facts.ca_file),
            "ssh": {"port": self.facts.ssh_port, "key_file": str(self.facts.ssh_key),
                    "known_hosts": str(self.facts.known_hosts),
                    "hosts": dict.fromkeys(nodes, "127.0.0.1"),
                    "nodes": {n: {"user": self.facts.ssh_user_for(n)} for n in nodes}}}}}
        path = self.work / "config" / "pxrun" / "clusters.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(profile))
        path.chmod(0o600)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(self.work / "config"))


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    state = tmp_path / "sim"
    init_state(state, settings=SimSettings(time_scale=0.02, seed=11))
    work = tmp_path / "work"
    work.mkdir()
    spec = work / "pxrun.yaml"
    spec.write_text(SPEC)
    monkeypatch.chdir(work)
    for name in [v for v in os.environ if v.startswith("PROXMOX_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NO_COLOR", "1")
    with SimRuntime(state) as runtime:
        yield Cluster(runtime.facts, proxmoxer_for(runtime.facts), work, spec)


def pxrun(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    out = capsys.readouterr()
    return status, out.out + out.err


def test_the_recipe_tokens_plan_apply_provision_and_destroy(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    tokens = run_recipe(cluster.api, recipe())
    cluster.use(monkeypatch, "pxrun@pve!ci", tokens["pxrun@pve!ci"])
    status, text = pxrun(capsys, "doctor", "-f", str(cluster.spec))
    assert status == 0 and "the token lacks" not in text, text
    assert " no " not in text
    assert pxrun(capsys, "plan", "-f", str(cluster.spec))[0] == 0
    status, text = pxrun(capsys, "apply", "--auto-approve", "-f", str(cluster.spec))
    assert status == 0, text
    assert "Apply complete" in text and "hello" in text, text
    status, text = pxrun(capsys, "plan", "--detailed-exitcode", "-f", str(cluster.spec))
    assert status == 0, text  # converged, provisioning included

    cluster.use(monkeypatch, "pxrun@pve!plan", tokens["pxrun@pve!plan"])
    status, text = pxrun(capsys, "plan", "--detailed-exitcode", "-f", str(cluster.spec))
    assert status == 0, text  # the read-only token sees every container
    assert pxrun(capsys, "drift", "-f", str(cluster.spec))[0] == 0
    status, text = pxrun(capsys, "doctor", "-f", str(cluster.spec))
    assert status == 0
    assert "for apply, destroy, create (apply), the token lacks" in text
    assert "for plan" not in text
    status, text = pxrun(capsys, "destroy", "--auto-approve", "-f", str(cluster.spec))
    assert status == 1 and "Pool.Allocate" in text, text  # the stack lock, before anything

    cluster.use(monkeypatch, "pxrun@pve!ci", tokens["pxrun@pve!ci"])
    status, text = pxrun(capsys, "destroy", "--auto-approve", "-f", str(cluster.spec))
    assert status == 0, text


@pytest.mark.parametrize(("missing", "path"), [
    ("SDN.Use", "/sdn/zones/localnetwork/vmbr0"),
    ("Datastore.AllocateSpace", "/storage/local-lvm"),
    ("VM.PowerMgmt", "/vms"),
])
def test_doctor_names_a_missing_privilege_before_apply_fails_on_it(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        missing: str, path: str) -> None:
    tokens = run_recipe(cluster.api, recipe(), without=missing)
    cluster.use(monkeypatch, "pxrun@pve!ci", tokens["pxrun@pve!ci"])
    status, text = pxrun(capsys, "doctor", "-f", str(cluster.spec))
    assert status == 0, text
    assert re.search(rf"no\s+{re.escape(missing)} on {re.escape(path)}\s", text), text
    assert f"the token lacks what this spec needs: {missing} on {path}" in text
    status, text = pxrun(capsys, "apply", "--auto-approve", "-f", str(cluster.spec))
    assert status == 1, text
    assert missing in text, text


def test_the_simulators_operator_token_holds_the_apply_recipe_and_the_safety_nets() -> None:
    """`pxrun sim init`'s `pxrun@pve!pxrun` is the README's apply role plus what specs with
    safety nets need (snapshots, backups, clones for tests), never more areas than pxrun's."""
    from pxrun.connect.rights import CALLS, Mode, acl_paths, privileges, split_need
    from pxrun.sim.auth import OPERATOR_PATHS, OPERATOR_PRIVILEGES

    assert set(privileges(Mode.APPLY)) <= set(OPERATOR_PRIVILEGES)
    conditional = {split_need(need)[0][0] for call in CALLS for need in call.needs
                   if "{snapshots}" in need or "{backups}" in need}
    assert conditional == {"VM.Snapshot", "VM.Backup"}
    assert conditional <= set(OPERATOR_PRIVILEGES)
    for path in acl_paths(Mode.APPLY):  # each under an area the operator's ACLs propagate on
        assert any(path == area or path.startswith(area + "/") for area in OPERATOR_PATHS)
