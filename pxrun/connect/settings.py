"""Connection settings: where the endpoint, token and TLS options come from, and which won.

Sources, highest first (each setting is resolved on its own, and remembers its source so
`pxrun doctor` can show it):

1. command-line flags (`--endpoint`, `--token-id`, `--ca-file`, `--fingerprint`, `--insecure`,
   `--timeout`; never the secret: process arguments are visible to every local user);
2. the environment (`PROXMOX_HOST`, `PROXMOX_TOKEN_ID`, `PROXMOX_TOKEN_SECRET`,
   `PROXMOX_VERIFY_SSL`, `PROXMOX_CA_FILE`, `PROXMOX_FINGERPRINT`, `PROXMOX_TIMEOUT`);
3. `./.env` (same keys; read, never exported);
4. a profile of the profiles file, chosen by `--cluster`, else by the spec's `cluster: NAME`,
   else by the file's `default:`;
5. the spec's inline `cluster:` block.

With `--sim` the simulator's facts are the only source besides `--timeout`: a real
cluster's settings never reach the simulator, nor the simulator's a real cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pxrun.connect.dotenv import read_dotenv
from pxrun.connect.profiles import (
    SopsRef,
    block_values,
    default_profiles_path,
    load_profiles,
)
from pxrun.connect.tokenid import parse_token_id, pasted_token_secret
from pxrun.errors import ConfigError

ENV_KEYS: dict[str, str] = {
    "endpoint": "PROXMOX_HOST",
    "token_id": "PROXMOX_TOKEN_ID",
    "token_secret": "PROXMOX_TOKEN_SECRET",
    "verify": "PROXMOX_VERIFY_SSL",
    "ca_file": "PROXMOX_CA_FILE",
    "fingerprint": "PROXMOX_FINGERPRINT",
    "timeout": "PROXMOX_TIMEOUT",
}
DEFAULT_PORT = 8006
DEFAULT_TIMEOUT = 10.0
TLS_OFF_WARNING = "TLS verification is off"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Endpoint:
    """Where the API listens. Always HTTPS: Proxmox offers nothing else."""

    host: str
    port: int = DEFAULT_PORT

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.netloc}"


@dataclass(frozen=True)
class SshOverride:
    """Per-node (or, under `containers`, per-container) SSH settings; None: the block's."""

    host: str | None = None
    port: int | None = None
    user: str | None = None
    key_file: Path | None = None
    jump: str | None = None  # [user@]host[:port]


@dataclass(frozen=True)
class SshSettings:
    """How provisioning reaches the nodes: login user, port, key, and node -> address.

    `hosts` maps a node name to the address to dial (default: the address the cluster
    reports, else the node name); `users` overrides the login per node (the simulator logs
    in as the node's name); `nodes` overrides anything per node, `containers` for SSH
    straight into containers (`provision.via: ssh`). `trust_unknown_hosts` records an
    unknown host key on first use instead of refusing it.
    """

    user: str = "root"
    port: int = 22
    key_file: Path | None = None
    known_hosts: Path | None = None
    hosts: Mapping[str, str] = field(default_factory=dict)
    users: Mapping[str, str] = field(default_factory=dict)
    jump: str | None = None
    trust_unknown_hosts: bool = False
    nodes: Mapping[str, SshOverride] = field(default_factory=dict)
    containers: SshOverride | None = None

    def target(self, node: str) -> tuple[str, int, str]:
        """(address, port, login user) that reach `node`."""
        return self.hosts.get(node, node), self.port, self.users.get(node, self.user)


class TlsMode(StrEnum):
    """How the server's certificate is checked, strongest rule first."""

    PINNED = "pinned"  # the certificate's SHA-256 fingerprint must match
    CA_FILE = "ca-file"  # chain verified against the given CA bundle, hostname checked
    SYSTEM = "system"  # chain verified against the system trust store, hostname checked
    OFF = "off"  # nothing checked: explicit opt-out only


@dataclass(frozen=True)
class ConnectionFlags:
    """The connection options given on the command line (no secret among them, on purpose)."""

    endpoint: str | None = None
    token_id: str | None = None
    ca_file: Path | None = None
    fingerprint: str | None = None
    insecure: bool = False
    timeout: float | None = None

    def values(self) -> dict[str, tuple[Any, str]]:
        raw = {"endpoint": (self.endpoint, "--endpoint"), "token_id": (self.token_id, "--token-id"),
               "ca_file": (self.ca_file, "--ca-file"),
               "fingerprint": (self.fingerprint, "--fingerprint"),
               "verify": (False if self.insecure else None, "--insecure"),
               "timeout": (self.timeout, "--timeout")}
        return {k: v for k, v in raw.items() if v[0] is not None}


@dataclass(frozen=True)
class ConnectionSettings:
    """Resolved, validated settings. `sources` maps each setting to where it came from."""

    endpoint: Endpoint
    token_id: str
    token_secret: Secret
    verify: bool = True
    ca_file: Path | None = None
    fingerprint: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    ssh: SshSettings = field(default_factory=SshSettings)
    profile: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def tls_mode(self) -> TlsMode:
        if self.fingerprint:
            return TlsMode.PINNED
        if not self.verify:
            return TlsMode.OFF
        return TlsMode.CA_FILE if self.ca_file else TlsMode.SYSTEM

    @property
    def user(self) -> str:
        """`user@realm` of the token id (`user@realm!name`)."""
        return self.token_id.split("!", 1)[0]

    @property
    def token_name(self) -> str:
        return self.token_id.split("!", 1)[1]

    def describe(self) -> list[tuple[str, str, str]]:
        """(setting, shown value, source) rows for `pxrun doctor`; the secret is masked."""
        shown = {
            "endpoint": self.endpoint.url, "token_id": self.token_id, "token_secret": "********",
            "verify": "yes" if self.verify else "no",
            "ca_file": str(self.ca_file) if self.ca_file else "",
            "fingerprint": self.fingerprint or "", "timeout": f"{self.timeout:g} s",
        }
        return [(k, v, self.sources.get(k, "default")) for k, v in shown.items()
                if v or k in self.sources]


@dataclass(frozen=True)
class SettingsInputs:
    """Everything `resolve` reads. Tests build it from fixture files; the CLI from the process."""

    env: Mapping[str, str]
    cwd: Path
    flags: ConnectionFlags = field(default_factory=ConnectionFlags)
    cluster: str | None = None  # --cluster NAME
    profiles_path: Path | None = None  # None: XDG default
    spec_cluster: Any = None  # a profile name, or a mapping (the spec's inline block)
    spec_dir: Path | None = None  # relative paths of the spec block are relative to it
    sim: Mapping[str, Any] | None = None  # the simulator's facts, when --sim


def resolve(inputs: SettingsInputs) -> ConnectionSettings:
    """Merge the sources by precedence, then validate each winning value."""
    layers, profile_name, warnings = _layers(inputs)
    merged: dict[str, tuple[Any, str]] = {}
    for values in layers:
        for key, value in values.items():
            merged.setdefault(key, value)
    if inputs.cluster and profile_name:
        for key, (_, source) in merged.items():
            if source.startswith(("environment", ".env")):
                warnings.append(f"{source} overrides {key} of profile {profile_name!r}")
    return _validate(merged, profile_name, warnings, inputs)


def _layers(inputs: SettingsInputs) -> tuple[list[dict[str, tuple[Any, str]]], str | None,
                                             list[str]]:
    flags = inputs.flags.values()
    if inputs.sim is not None:
        sim = {k: (v, "simulator") for k, v in inputs.sim.items()}
        return [sim, {k: v for k, v in flags.items() if k == "timeout"}], None, []
    env = {k: (inputs.env[name], f"environment {name}") for k, name in ENV_KEYS.items()
           if inputs.env.get(name, "") != ""}
    dotenv_path = inputs.cwd / ".env"
    dotenv = {k: (value, f".env {name}") for k, name in ENV_KEYS.items()
              if (value := read_dotenv(dotenv_path).get(name, "")) != ""}
    layers = [flags, env, dotenv]
    warnings: list[str] = []
    spec_block = inputs.spec_cluster
    if hasattr(spec_block, "model_dump"):
        # only what the spec spelled out: a default `ssh` block must not count as "node
        # SSH configured" (cli.cluster.node_ssh_configured)
        spec_block = spec_block.model_dump(exclude_none=True, exclude_unset=True)
    profile_name = inputs.cluster or (spec_block if isinstance(spec_block, str) else None)
    path = inputs.profiles_path or default_profiles_path(inputs.env)
    profiles = load_profiles(path)
    if profile_name is None and profiles is not None:
        profile_name = profiles.default
    if profile_name is not None:
        if profiles is None or profile_name not in profiles.clusters:
            known = ", ".join(sorted(profiles.clusters)) if profiles else ""
            hint = (f"known profiles: {known}" if known else
                    f"create {path} with `clusters: {{{profile_name}: {{endpoint: ...}}}}`")
            raise ConfigError(f"no cluster profile named {profile_name!r} in {path}", hint=hint)
        label = f"profile {profile_name} ({path})"
        layers.append({k: (v, label) for k, v in block_values(
            profiles.clusters[profile_name], label=label, base_dir=path.parent).items()})
        if profiles.loose_permissions:
            warnings.append(f"{path} holds a token secret and is readable by others: chmod 600")
    if isinstance(spec_block, Mapping):
        label = "spec cluster block"
        base = inputs.spec_dir or inputs.cwd
        layers.append({k: (v, label) for k, v in block_values(
            spec_block, label=label, base_dir=base).items()})
    elif spec_block is not None and not isinstance(spec_block, str):
        raise ConfigError("the spec's cluster: must be a profile name or a mapping")
    return layers, profile_name, warnings


def _validate(merged: Mapping[str, tuple[Any, str]], profile: str | None, warnings: list[str],
              inputs: SettingsInputs) -> ConnectionSettings:
    def missing(what: str, env_name: str) -> ConfigError:
        path = inputs.profiles_path or default_profiles_path(inputs.env)
        return ConfigError(f"no {what} configured",
                           hint=f"set {env_name} (environment or .env), add a profile to {path} "
                                "and pass --cluster NAME, or try --sim")

    if "endpoint" not in merged:
        raise missing("Proxmox endpoint", "PROXMOX_HOST")
    if "token_id" not in merged:
        raise missing("API token id", "PROXMOX_TOKEN_ID")
    sources = {k: source for k, (_, source) in merged.items()}

    def value(key: str) -> tuple[Any, str]:
        return merged[key]

    endpoint = parse_endpoint(*value("endpoint"))
    token_id, pasted = parse_token_id(*value("token_id"))
    if "token_secret" not in merged and pasted is None:
        raise missing("API token secret", "PROXMOX_TOKEN_SECRET")
    raw_secret, secret_source = merged.get("token_secret", (None, ""))
    if isinstance(raw_secret, SopsRef):
        from pxrun.connect.sopsfile import decrypt_value  # (subprocess: only when needed)

        raw_secret = decrypt_value(raw_secret.file, raw_secret.key)
        sources["token_secret"] = f"{secret_source}, sops {value('token_secret')[0].file.name}"
    if pasted is not None:
        raw_secret = pasted_token_secret(pasted, raw_secret, value("token_id")[1], secret_source,
                                          warnings)
        sources.setdefault("token_secret", f"{value('token_id')[1]} (after '=')")
    if not isinstance(raw_secret, str) or not raw_secret.strip():
        raise ConfigError(f"{secret_source}: the token secret is empty")
    verify = parse_bool(*merged["verify"]) if "verify" in merged else True
    ca_file = (_existing_file(*merged["ca_file"], base=inputs.cwd)
               if merged.get("ca_file", (None,))[0] else None)
    fingerprint = (parse_fingerprint(*merged["fingerprint"])
                   if merged.get("fingerprint", (None,))[0] else None)
    timeout = parse_timeout(*merged["timeout"]) if "timeout" in merged else DEFAULT_TIMEOUT
    ssh = _ssh(merged["ssh"]) if "ssh" in merged else SshSettings()
    if not verify and not fingerprint:
        warnings.append(f"{TLS_OFF_WARNING} ({sources['verify']}): anyone on the network path "
                        "can impersonate the cluster and read the token secret")
    return ConnectionSettings(endpoint=endpoint, token_id=token_id,
                              token_secret=Secret(raw_secret.strip()), verify=verify,
                              ca_file=ca_file, fingerprint=fingerprint, timeout=timeout, ssh=ssh,
                              profile=profile, sources=sources, warnings=tuple(warnings))


def parse_endpoint(text: Any, source: str = "endpoint") -> Endpoint:
    """`https://host:port`, `host:port` or `host` (port 8006); IPv6 as `[addr]:port`."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{source}: the endpoint must be a host name or https:// URL")
    rest = text.strip()
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        if scheme.lower() != "https":
            raise ConfigError(f"{source}: {scheme}:// is not supported",
                              hint="the Proxmox API is served over https only (port 8006)")
    rest = rest.rstrip("/")
    rest = rest.removesuffix("/api2/json").rstrip("/")
    host, port = rest, str(DEFAULT_PORT)
    if rest.startswith("["):
        close = rest.find("]")
        host, tail = rest[1:close], rest[close + 1:]
        if close < 0 or (tail and not tail.startswith(":")):
            raise ConfigError(f"{source}: cannot read the IPv6 address in {text!r}")
        port = tail[1:] or port
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    if not host or "/" in host or " " in host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{source}: {text!r} is not host[:port] or https://host[:port]")
    return Endpoint(host=host, port=int(port))


def parse_bool(value: Any, source: str = "verify") -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{source}: {value!r} is not a yes/no value (1, 0, true, false)")


def parse_fingerprint(value: Any, source: str = "fingerprint") -> str:
    """SHA-256 fingerprint as `AB:CD:...` (64 hex digits; colons, case and a `sha256` prefix
    optional, so the output of `openssl x509 -fingerprint -sha256` pastes as is)."""
    text = str(value).strip()
    text = re.sub(r"^(sha256\s*fingerprint\s*=|sha256[:=]?)\s*", "", text, flags=re.IGNORECASE)
    digits = text.replace(":", "").replace(" ", "").upper()
    if not re.fullmatch(r"[0-9A-F]{64}", digits):
        raise ConfigError(f"{source}: not a SHA-256 fingerprint (64 hex digits)",
                          hint="`pxrun doctor` shows the server's fingerprint")
    return ":".join(digits[i:i + 2] for i in range(0, 64, 2))


def parse_timeout(value: Any, source: str = "timeout") -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ConfigError(f"{source}: timeout must be a number of seconds in (0, 3600]")
    return seconds


def _existing_file(value: Any, source: str, *, base: Path) -> Path:
    path = base / Path(value).expanduser()  # an absolute path stays as it is
    if not path.is_file():
        raise ConfigError(f"{source}: CA file {path} does not exist",
                          hint="copy the cluster's CA from a node: /etc/pve/pve-root-ca.pem")
    return path


def _ssh(raw: tuple[Any, str]) -> SshSettings:
    value, source = raw
    if isinstance(value, SshSettings):
        return value
    try:
        return SshSettings(user=str(value.get("user", "root")), port=int(value.get("port", 22)),
                           key_file=Path(value["key_file"]) if value.get("key_file") else None,
                           known_hosts=(Path(value["known_hosts"]) if value.get("known_hosts")
                                        else None),
                           hosts=dict(value.get("hosts", {})),
                           jump=str(value["jump"]) if value.get("jump") else None,
                           trust_unknown_hosts=bool(value.get("trust_unknown_hosts", False)),
                           nodes={str(k): SshOverride(**v)
                                  for k, v in (value.get("nodes") or {}).items()},
                           containers=(SshOverride(**value["containers"])
                                       if value.get("containers") else None))
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{source}: invalid ssh settings") from exc
