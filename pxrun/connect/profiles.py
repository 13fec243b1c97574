"""The profiles file (`~/.config/pxrun/clusters.yaml`) and the shape of a cluster block.

A cluster block is the same in a profile and in a spec's inline `cluster:` block:

    endpoint: https://pve1.lan:8006       # or host[:port]
    token_id: pxrun@pve!ci
    token_secret: ...                     # or, better:
    token_secret_file: secrets.sops.yaml  # decrypted with `sops -d`, relative to this file
    token_secret_key: proxmox.token       # dotted path inside the decrypted file
    verify: true                          # TLS verification (default true; alias verify_ssl)
    ca_file: pve-ca.pem                   # relative to this file
    fingerprint: "AB:CD:...:EF"           # SHA-256 of the server certificate (pinning)
    timeout: 10                           # seconds per request
    ssh:                                  # node SSH, for `pct set` and provisioning
      user: root                          # or a user with passwordless sudo for pct
      port: 22
      key_file: ~/.ssh/id_ed25519
      known_hosts: ~/.ssh/known_hosts     # host keys are always checked against it
      trust_unknown_hosts: false          # true: record an unknown key on first use
      jump: admin@bastion.lan:22          # a jump host for every node (optional)
      hosts: {pve1: 10.0.0.11}            # node -> address (default: /cluster/status ip)
      nodes:                              # per-node overrides of any of the above
        pve2: {host: 10.0.1.12, port: 2222, user: pxrun, key_file: ~/.ssh/pve2, jump: gw}
      containers: {user: root, port: 22}  # for provision.via: ssh (straight into the CT)

The profiles file holds several such blocks under `clusters:`, and may name a `default:`.
Why reject unknown keys: a typo like `fingerprnt` would otherwise silently turn pinning off.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pxrun.errors import ConfigError

BLOCK_KEYS = frozenset({
    "endpoint", "token_id", "token_secret", "token_secret_file", "token_secret_key", "verify",
    "ca_file", "fingerprint", "timeout", "ssh", "verify_ssl",
})
SSH_KEYS = frozenset({"user", "port", "key_file", "known_hosts", "hosts", "jump",
                      "trust_unknown_hosts", "nodes", "containers"})
OVERRIDE_KEYS = frozenset({"host", "port", "user", "key_file", "jump"})


@dataclass(frozen=True)
class SopsRef:
    """A token secret still encrypted: decrypted only if no higher-ranked source has one."""

    file: Path
    key: str


@dataclass(frozen=True)
class ProfilesFile:
    """The parsed profiles file. `loose_permissions`: others may read a file holding secrets."""

    path: Path
    default: str | None
    clusters: dict[str, dict[str, Any]]
    loose_permissions: bool = False


def default_profiles_path(env: Mapping[str, str]) -> Path:
    """`$XDG_CONFIG_HOME/pxrun/clusters.yaml`, else `~/.config/pxrun/clusters.yaml`."""
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path(env.get("HOME") or Path.home()
                                                                   ) / ".config"
    return base / "pxrun" / "clusters.yaml"


def load_profiles(path: Path) -> ProfilesFile | None:
    """Read the profiles file; None when it does not exist."""
    from pxrun.connect.dotenv import CONFIG_LIMIT
    from pxrun.spec.paths import LocalFileError, read_bounded

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.__class__.__name__}") from exc
    try:  # bounded, as `.env`: a FIFO, a device or a huge file is refused, never read
        text = read_bounded(path, limit=CONFIG_LIMIT, fifo=False).decode("utf-8")
    except (LocalFileError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with `clusters:`")
    unknown = set(data) - {"default", "clusters"}
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(map(str, unknown)))}",
                          hint="the file has `default: NAME` and `clusters: {NAME: {...}}`")
    clusters = data.get("clusters") or {}
    if not isinstance(clusters, dict) or not all(isinstance(v, dict) for v in clusters.values()):
        raise ConfigError(f"{path}: `clusters` must map profile names to cluster blocks")
    default = data.get("default")
    if default is not None and (not isinstance(default, str) or default not in clusters):
        raise ConfigError(f"{path}: default profile {default!r} is not one of the clusters")
    has_plain_secret = any("token_secret" in block for block in clusters.values())
    loose = has_plain_secret and bool(stat.S_IMODE(mode) & (stat.S_IRWXG | stat.S_IRWXO))
    return ProfilesFile(path=path, default=default,
                        clusters={str(k): dict(v) for k, v in clusters.items()},
                        loose_permissions=loose)


def block_values(block: Mapping[str, Any], *, label: str, base_dir: Path) -> dict[str, Any]:
    """Raw setting values of one cluster block: relative paths made absolute, the secret
    reference kept encrypted. Values are validated later, by `settings.resolve`, which knows
    which source won."""
    unknown = set(block) - BLOCK_KEYS
    if unknown:
        raise ConfigError(f"{label}: unknown key(s) {', '.join(sorted(map(str, unknown)))}",
                          hint=f"a cluster block may have: {', '.join(sorted(BLOCK_KEYS))}")
    if "verify" in block and "verify_ssl" in block:
        raise ConfigError(f"{label}: give verify or verify_ssl, not both")
    values: dict[str, Any] = {("verify" if k == "verify_ssl" else k): v
                              for k, v in block.items()
                              if v is not None and k not in {"token_secret_file",
                                                             "token_secret_key", "ssh"}}
    reveal = getattr(values.get("token_secret"), "get_secret_value", None)
    if reveal is not None:  # the spec model's pydantic SecretStr
        values["token_secret"] = reveal()
    if "ca_file" in values:
        values["ca_file"] = _path(values["ca_file"], base_dir, label, "ca_file")
    secret_file = block.get("token_secret_file")
    if secret_file is not None:
        if "token_secret" in values:
            raise ConfigError(f"{label}: give token_secret or token_secret_file, not both")
        key = block.get("token_secret_key", "token_secret")
        if not isinstance(key, str) or not key:
            raise ConfigError(f"{label}: token_secret_key must be a dotted key path")
        values["token_secret"] = SopsRef(_path(secret_file, base_dir, label, "token_secret_file"),
                                         key)
    elif "token_secret_key" in block:
        raise ConfigError(f"{label}: token_secret_key needs token_secret_file")
    ssh = block.get("ssh")
    if ssh is not None:
        values["ssh"] = _ssh(ssh, label, base_dir)
    return values


def _path(value: Any, base_dir: Path, label: str, key: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{label}: {key} must be a file path")
    path = Path(os.path.expanduser(value.strip()))
    return path if path.is_absolute() else base_dir / path


def _ssh(value: Any, label: str, base_dir: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: ssh must be a mapping (user, port, key_file, hosts)")
    unknown = set(value) - SSH_KEYS
    if unknown:
        raise ConfigError(f"{label}: unknown ssh key(s) {', '.join(sorted(map(str, unknown)))}")
    out = {k: v for k, v in value.items() if v is not None}
    for key in ("key_file", "known_hosts"):
        if key in out:
            out[key] = _path(out[key], base_dir, label, f"ssh.{key}")
    hosts = out.get("hosts", {})
    if not isinstance(hosts, dict) or not all(isinstance(v, str) for v in hosts.values()):
        raise ConfigError(f"{label}: ssh.hosts must map node names to addresses")
    if "trust_unknown_hosts" in out and not isinstance(out["trust_unknown_hosts"], bool):
        raise ConfigError(f"{label}: ssh.trust_unknown_hosts must be true or false")
    if "jump" in out and not isinstance(out["jump"], str):
        raise ConfigError(f"{label}: ssh.jump must be [user@]host[:port]")
    nodes = out.get("nodes", {})
    if not isinstance(nodes, dict):
        raise ConfigError(f"{label}: ssh.nodes must map node names to ssh overrides")
    out["nodes"] = {str(node): _override(v, f"{label}: ssh.nodes.{node}", base_dir)
                    for node, v in nodes.items()}
    if "containers" in out:
        out["containers"] = _override(out["containers"], f"{label}: ssh.containers", base_dir)
    return out


def _override(value: Any, where: str, base_dir: Path) -> dict[str, Any]:
    """One per-node (or containers) override block: host, port, user, key_file, jump."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping ({', '.join(sorted(OVERRIDE_KEYS))})")
    unknown = set(value) - OVERRIDE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    out = {k: v for k, v in value.items() if v is not None}
    if "port" in out and (not isinstance(out["port"], int) or not 0 < out["port"] < 65536):
        raise ConfigError(f"{where}: port must be a number from 1 to 65535")
    for key in ("host", "user", "jump"):
        if key in out and not isinstance(out[key], str):
            raise ConfigError(f"{where}: {key} must be text")
    if "key_file" in out:
        out["key_file"] = _path(out["key_file"], base_dir, where, "key_file")
    return out
