"""The planner's small parts: the Plan's JSON form, secrets, fingerprints and template
shorthands (the option table's coverage is tests/pve/test_options.py)."""

from __future__ import annotations

import json

import pytest

from pxrun.plan import PlanOptions, plan, spec_hash
from pxrun.plan.model import Action, Plan
from pxrun.plan.templates import matches_shorthand, satisfies
from pxrun.spec.steps import decode_fingerprints, label_id
from tests.plan.builders import build_observed, build_stack, recorded


@pytest.mark.parametrize("action", list(Action))
def test_actions_serialise_as_terraform_lists(action: Action) -> None:
    assert Action.from_list(action.as_list()) is action
    assert action.as_list() == {"delete-then-create": ["delete", "create"],
                                "create-then-delete": ["create", "delete"]}.get(
        action.value, [action.value])


def _mixed_plan(**options: object) -> Plan:
    stack = build_stack({"containers": {
        "web": {"password": "hunter22", "env": {"TOKEN": "s3cr3t-value"},
                "resources": {"memory": 2048},
                "provision": {"tailscale": {"auth_key": "tskey-abc123"}}},
        "db": {"unprivileged": True}, "new": {}}})
    observed = build_observed({"containers": {
        "web": {"set": {"resources": {"memory": 1024}, "env": {"TOKEN": "old"}}},
        "db": {"set": {"unprivileged": False}},
        "gone": {"spec": {"name": "gone", "hostname": "gone"}}}}, stack)
    return plan(stack, observed, PlanOptions(**options))  # type: ignore[arg-type]


def test_plan_json_round_trips() -> None:
    result = _mixed_plan()
    data = result.model_dump(mode="json")
    assert {c["address"]: c["action"] for c in data["changes"]} == {
        "db": ["delete", "create"], "gone": ["delete"], "new": ["create"], "web": ["update"]}
    assert Plan.model_validate(json.loads(json.dumps(data))) == result
    assert data["summary"] == {"add": 1, "change": 1, "replace": 1, "destroy": 1, "drifted": 0}


def test_no_secret_value_in_the_plan() -> None:
    text = json.dumps(_mixed_plan(secrets={"secrets.token": "s3cr3t-value"}).model_dump(
        mode="json"))
    for secret in ("hunter22", "tskey-abc123", "s3cr3t-value"):
        assert secret not in text


def test_spec_hash_sees_secrets_but_not_order() -> None:
    a = build_stack({"containers": {"x": {"password": "hunter22"}, "y": {}}})
    b = build_stack({"containers": {"y": {}, "x": {"password": "hunter22"}}})
    c = build_stack({"containers": {"x": {"password": "hunter23"}, "y": {}}})
    assert spec_hash(a) == spec_hash(b) != spec_hash(c)
    assert "hunter22" not in spec_hash(a)


def test_fingerprint_is_per_step_and_hides_secrets() -> None:
    stack = build_stack({"containers": {"web": {
        "ssh_keys": ["ssh-ed25519 AAAAkey me@x"], "password": "hunter22",
        "provision": {"packages": ["nginx"], "run": [{"command": "true"}]}}}})
    text = recorded(stack.containers["web"], stack) or ""
    steps = decode_fingerprints(text)
    labels = ["locale", "packages", "ssh_keys", "password", "run[1]"]
    assert steps is not None and list(steps) == [label_id(label) for label in labels]
    assert steps[label_id("password")].startswith("k")  # an HMAC: it holds a secret
    assert steps[label_id("packages")].startswith("h")
    assert "hunter22" not in text and "nginx" not in text
    assert decode_fingerprints("sha256:legacy") is None
    assert decode_fingerprints("p1:root=abc") is None
    assert decode_fingerprints("") == {}


def test_the_plan_names_steps_not_hashes() -> None:
    stack = build_stack({"containers": {"web": {"provision": {
        "files": [{"dest": "/etc/motd", "content": "hello"}],
        "run": [{"name": "enable nginx", "command": "systemctl enable nginx"}]}}}})
    old = build_stack({"containers": {"web": {"provision": {
        "files": [{"dest": "/etc/motd", "content": "hi"}],
        "run": [{"name": "enable nginx", "command": "systemctl enable nginx"}]}}}})
    observed = build_observed({"containers": {"web": {
        "fingerprint": recorded(old.containers["web"], old)}}}, stack)
    change = plan(stack, observed, PlanOptions(node_ssh_available=True)).changes[0]
    assert change.action is Action.UPDATE
    (diff,) = change.diffs
    assert (diff.path, diff.new) == ("provision", ["files[/etc/motd]", "run[enable nginx]"])
    assert change.operations[-1].model_dump()["steps"] == (
        "network", "files[/etc/motd]", "run[enable nginx]")


@pytest.mark.parametrize(("short", "file", "ok"), [
    ("debian-12", "debian-12-standard_12.7-1_amd64.tar.zst", True),
    ("debian", "debian-12-standard_12.7-1_amd64.tar.zst", True),
    ("debian-1", "debian-12-standard_12.7-1_amd64.tar.zst", False),
    ("debian-12", "debian-12-turnkey-nextcloud_18.0-1_amd64.tar.gz", False),
    ("ubuntu-24.04", "ubuntu-24.04-standard_24.04-2_amd64.tar.zst", True),
    ("alpine", "alpine-3.20-default_20240908_amd64.tar.xz", True),
    ("alpine", "alpine-3.20-default_20240908_arm64.tar.xz", False),
    ("archlinux", "archlinux-base_20240911-1_amd64.tar.zst", True),
])
def test_shorthand_matching(short: str, file: str, ok: bool) -> None:
    assert matches_shorthand(short, file) is ok


def test_a_recorded_volid_satisfies_its_shorthand() -> None:
    volid = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    assert satisfies("debian-12", volid)
    assert not satisfies("debian-13", volid)
    assert satisfies(volid, "nfs:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst")
