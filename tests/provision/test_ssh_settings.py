"""Per-node SSH overrides, jump hosts and trust-on-first-use in a profile, as the transport
resolves them (precedence: per-node override > `hosts` > /cluster/status > node name)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pxrun.connect.settings import SettingsInputs, SshOverride, resolve
from pxrun.errors import ConfigError
from pxrun.provision.sshconn import container_target, node_target, parse_jump

PROFILE = """
clusters:
  home:
    endpoint: pve1.lan
    token_id: pxrun@pve!ci
    token_secret: 0000-secret
    ssh:
      user: pxrun
      key_file: keys/id
      known_hosts: keys/known_hosts
      trust_unknown_hosts: true
      jump: admin@bastion:2200
      hosts: {pve1: 10.0.0.11}
      nodes:
        pve2: {host: 10.0.1.12, port: 2222, user: root, key_file: keys/pve2, jump: "gw"}
      containers: {user: deploy, port: 2022}
"""


def settings_from(tmp_path: Path, text: str) -> object:
    path = tmp_path / "clusters.yaml"
    path.write_text(text)
    path.chmod(0o600)
    return resolve(SettingsInputs(env={}, cwd=tmp_path, cluster="home", profiles_path=path))


def test_a_profile_gives_per_node_overrides(tmp_path: Path) -> None:
    ssh = settings_from(tmp_path, PROFILE).ssh  # type: ignore[attr-defined]
    assert ssh.nodes == {"pve2": SshOverride(host="10.0.1.12", port=2222, user="root",
                                             key_file=tmp_path / "keys/pve2", jump="gw")}
    addresses = {"pve1": "192.0.2.1", "pve2": "192.0.2.2", "pve3": "192.0.2.3"}
    one, two, three = (node_target(ssh, n, addresses) for n in ("pve1", "pve2", "pve3"))
    assert (one.host, one.port, one.user, one.key_file) == ("10.0.0.11", 22, "pxrun",
                                                            tmp_path / "keys/id")
    assert (two.host, two.port, two.user, two.key_file) == ("10.0.1.12", 2222, "root",
                                                            tmp_path / "keys/pve2")
    assert three.host == "192.0.2.3"  # from /cluster/status
    assert one.trust_unknown and one.known_hosts == tmp_path / "keys/known_hosts"
    assert one.jump is not None and one.jump.where == "admin@bastion:2200"
    assert two.jump is not None and two.jump.where == "root@gw:22"
    ct = container_target(ssh, "CT 101", "10.0.0.50")
    assert (ct.host, ct.port, ct.user) == ("10.0.0.50", 2022, "deploy")


@pytest.mark.parametrize(("ssh", "message"), [
    ("nodes: {pve2: {hots: x}}", "ssh.nodes.pve2: unknown key(s) hots"),
    ("nodes: {pve2: {port: 70000}}", "ssh.nodes.pve2: port must be a number"),
    ("nodes: [pve2]", "ssh.nodes must map node names"),
    ("trust_unknown_hosts: maybe", "trust_unknown_hosts must be true or false"),
    ("jump: [a, b]", "ssh.jump must be [user@]host[:port]"),
    ("containers: root", "ssh.containers must be a mapping"),
])
def test_bad_overrides_are_clear_errors(tmp_path: Path, ssh: str, message: str) -> None:
    text = ("clusters:\n  home:\n    endpoint: h\n    token_id: a@pve!b\n    token_secret: s\n"
            f"    ssh: {{{ssh}}}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        settings_from(tmp_path, text)


def test_jump_host_spellings() -> None:
    base = node_target(resolve_base(), "pve1")
    assert parse_jump("bastion", base).where == "root@bastion:22"
    assert parse_jump("me@[fd00::1]:2222", base).where == "me@fd00::1:2222"


def resolve_base() -> object:
    from pxrun.connect.settings import SshSettings

    return SshSettings()
