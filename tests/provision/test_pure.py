"""The pure parts of provisioning: facts from os-release, which steps run, fingerprints, the
builders' scripts (valid sh, never a secret), and file sources that may not leave the spec.

Table cases live in `cases/*.yaml`: a new behaviour is a new entry.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pxrun.errors import ProvisionError
from pxrun.provision.actions import Exec, Facts, parse_facts
from pxrun.provision.build import BuildContext
from pxrun.provision.build_apps import actions_for
from pxrun.provision.sources import load_sources, read_source
from pxrun.provision.transport import PctTransport, stream_script
from pxrun.spec.model import Container
from pxrun.spec.steps import (
    decode_fingerprints,
    encode_fingerprints,
    fingerprint_key,
    provision_steps,
    step_fingerprints,
    steps_to_run,
)

CASES = Path(__file__).parent / "cases"


def cases(name: str) -> list[Any]:
    data = yaml.safe_load((CASES / name).read_text())
    return [pytest.param(case, id=case["name"]) for case in data]


@pytest.mark.parametrize("case", cases("facts.yaml"))
def test_facts(case: dict[str, Any]) -> None:
    facts = parse_facts(case["output"])
    for key, value in case["expect"].items():
        assert getattr(facts, key) == value, key


KEY = fingerprint_key("s", [])


@pytest.mark.parametrize("case", cases("selection.yaml"))
def test_selection(case: dict[str, Any]) -> None:
    container = Container(name="c", hostname="c", provision=case["provision"])
    steps = provision_steps(container)
    desired = step_fingerprints(steps, KEY, frozenset(),
                                {s.label: s.item.content.encode() for s in steps
                                 if s.kind == "files"})
    recorded = None
    if case["recorded"] is not None:
        recorded = decode_fingerprints(encode_fingerprints(
            {label: desired[label] if how == "same" else "hother"
             for label, how in case["recorded"].items()}))
    chosen = steps_to_run(steps, desired, recorded, first=case["first"])
    assert [s.label for s in chosen] == case["expect"]


def spec(password: str, auth_key: str, token: str, motd: str = "hi") -> Container:
    return Container(name="c", hostname="c", password=password, provision={
        "packages": ["nginx"], "tailscale": {"auth_key": auth_key},
        "files": [{"dest": "/etc/motd", "content": motd}],
        "run": [{"name": "r", "command": "x", "env": {"T": token}}]})


def fingerprints(container: Container, secrets: set[str]) -> dict[str, str]:
    steps = provision_steps(container)
    contents = {s.label: s.item.content.encode() for s in steps if s.kind == "files"}
    return step_fingerprints(steps, fingerprint_key("s", secrets), frozenset(secrets), contents)


def test_secret_steps_are_keyed_and_a_rotation_touches_only_them() -> None:
    old = fingerprints(spec("pw-one-1", "tskey-a", "tok-1"), {"pw-one-1", "tskey-a", "tok-1"})
    assert {k: v[0] for k, v in old.items()} == {
        "locale": "h", "packages": "h", "password": "k", "files[/etc/motd]": "h",
        "tailscale": "k", "run[r]": "k"}
    new = fingerprints(spec("pw-one-1", "tskey-b", "tok-1"), {"pw-one-1", "tskey-b", "tok-1"})
    changed = {k for k in old if old[k] != new[k]}
    assert changed == {"password", "tailscale", "run[r]"}
    again = fingerprints(spec("pw-one-1", "tskey-a", "tok-1"), {"pw-one-1", "tskey-a", "tok-1"})
    assert again == old  # deterministic
    text = encode_fingerprints(old)
    assert decode_fingerprints(text) is not None and len(decode_fingerprints(text) or {}) == 6
    assert decode_fingerprints("p1:root=abc") is None and decode_fingerprints("") == {}


def test_a_secret_inside_a_file_makes_the_file_step_keyed() -> None:
    plain = fingerprints(spec("pw-one-1", "tskey-a", "tok-1", motd="hello"), {"pw-one-1"})
    secret = fingerprints(spec("pw-one-1", "tskey-a", "tok-1", motd="pw-one-1"), {"pw-one-1"})
    assert plain["files[/etc/motd]"][0] == "h" and secret["files[/etc/motd]"][0] == "k"


FAMILIES = {"apt": ("debian", "systemd"), "dnf": ("rocky", "systemd"),
            "apk": ("alpine", "openrc"), "pacman": ("arch", "systemd")}
secret_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\n"),
                      min_size=4, max_size=40).map(lambda s: "S3cr:" + s)


@settings(max_examples=25, deadline=None)
@given(password=secret_text, key=secret_text, token=secret_text)
def test_no_builder_puts_a_secret_into_a_script(password: str, key: str, token: str) -> None:
    container = Container(
        name="c", hostname="c", password=password, ssh_keys=["ssh-ed25519 AAAA k"],
        provision={"packages": ["nginx"], "users": [{"name": "u", "sudo": True}],
                   "docker": True, "tailscale": {"auth_key": "tskey-" + key},
                   "run": [{"command": "x", "env": {"T": token}}]})
    for family, (os_id, init) in FAMILIES.items():
        ctx = BuildContext(Facts(os_id, (), "1", family, init), "c")
        for step in provision_steps(container):
            for action in actions_for(step, ctx, 60):
                if isinstance(action, Exec):
                    for secret in (password, key, token):
                        assert secret not in action.script, (family, step.label)


def test_every_script_is_valid_sh_on_every_family(tmp_path: Path) -> None:
    container = Container(
        name="c", hostname="c", password="hunter22", ssh_keys=["ssh-ed25519 AAAA k"],
        provision={"wait_network": {"timeout": 5}, "locale": "en_US.UTF-8",
                   "packages": ["nginx"], "users": [{"name": "u", "uid": 1001, "sudo": True,
                                                     "groups": ["g"], "shell": "/bin/bash"}],
                   "files": [{"dest": "/etc/motd", "content": "x"}],
                   "docker": {"users": ["u"]}, "tailscale": {"auth_key": "tskey-x",
                                                             "tags": ["tag:a"]},
                   "run": [{"script": "echo 'PXRUN_EOF'\n", "timeout": 5, "cwd": "/srv"}]})
    scripts: list[str] = []
    for family, (os_id, init) in FAMILIES.items():
        ctx = BuildContext(Facts(os_id, (), "1", family, init), "c",
                           {"files[/etc/motd]": b"x"})
        for step in provision_steps(container):
            for action in actions_for(step, ctx, 60):
                if isinstance(action, Exec):
                    scripts.append(action.script)
                    if action.stdin and step.kind == "run":
                        scripts.append(action.stdin.decode())
                else:
                    scripts.append(stream_script(action))
    for index, script in enumerate(scripts):
        path = tmp_path / f"s{index}.sh"
        path.write_text(script)
        check = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True,
                               check=False)
        assert check.returncode == 0, f"{check.stderr}\n{script}"


def test_the_pct_command_line_is_one_quoted_sh_c() -> None:
    transport = PctTransport(None, _target("root"), 101)  # type: ignore[arg-type]
    assert transport.command("echo 'it''s' $X") == (
        "pct exec 101 -- sh -c 'echo '\"'\"'it'\"'\"''\"'\"'s'\"'\"' $X'")
    assert PctTransport(None, _target("ops"), 7777).command("id").startswith(  # type: ignore[arg-type]
        "sudo -n pct exec 7777 -- sh -c id")


def _target(user: str) -> Any:
    from pxrun.provision.sshconn import SshTarget

    return SshTarget(name="pve1", host="h", user=user)


# -- sources ---------------------------------------------------------------------------------


def test_sources_stay_inside_the_spec_folder(tmp_path: Path) -> None:
    spec_dir = tmp_path / "spec"
    (spec_dir / "files").mkdir(parents=True)
    (spec_dir / "files" / "ok").write_text("fine")
    (tmp_path / "outside").write_text("secret")
    (spec_dir / "files" / "link").symlink_to(tmp_path / "outside")
    os.mkfifo(spec_dir / "files" / "fifo")
    assert read_source(spec_dir, "files/ok") == b"fine"
    with pytest.raises(ProvisionError, match="outside the spec's folder"):
        read_source(spec_dir, "files/link")
    with pytest.raises(ProvisionError, match="not a regular file"):
        read_source(spec_dir, "files/fifo")
    with pytest.raises(ProvisionError, match="No such file"):
        read_source(spec_dir, "files/missing")
    container = Container(name="c", hostname="c", provision={"files": [
        {"dest": "/a", "src": "files/ok"}, {"dest": "/b", "template": "files/ok"}]})
    assert load_sources(provision_steps(container), spec_dir) == {"files/ok": b"fine"}
