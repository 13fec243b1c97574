"""Fingerprints: of each provisioning step, and of the whole resolved stack (the spec hash).

A container's marker records the fingerprint of the provisioning that last ran on it
(DESIGN §8). The planner compares it with the fingerprint of what the spec asks now, step
by step, so only changed steps re-run. The encoding keeps per-step hashes readable:

    p1:root=3f9c0a1b2c3d4e5f,packages=0a1b2c3d4e5f6a7b

Secrets (root password, Tailscale auth key) enter the hashes only through a salted, slow
key derivation, because the marker is readable by anyone who can read the container's
config and a plain hash of a weak password is a dictionary lookup away. Pure functions.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, SecretStr

from pxrun.spec.model import Container, Stack

FINGERPRINT_PREFIX = "p1:"
STEPS = ("root", "users", "packages", "docker", "tailscale", "files", "run")
"""Provisioning steps in the order they run. `root`: root's password and ssh keys."""
_KDF_ROUNDS = 20_000


def hash_secret(value: str, salt: str) -> str:
    """A secret -> a salted PBKDF2 digest: stable, comparable, not reversible cheaply."""
    digest = hashlib.pbkdf2_hmac("sha256", value.encode(), f"pxrun:{salt}".encode(), _KDF_ROUNDS)
    return digest.hex()


def _plain(value: Any, salt: str, cache: dict[str, str]) -> Any:
    """A model or value as plain JSON data, every SecretStr replaced by its hash."""
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        if secret not in cache:
            cache[secret] = "kdf:" + hash_secret(secret, salt)
        return cache[secret]
    if isinstance(value, BaseModel):
        return {k: _plain(getattr(value, k), salt, cache) for k in type(value).model_fields}
    if isinstance(value, dict):
        return {str(k): _plain(v, salt, cache) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, salt, cache) for v in value]
    return value


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _step_data(container: Container, file_digests: dict[str, str]) -> dict[str, Any]:
    """What each step does, as data; steps with nothing to do are left out."""
    prov = container.provision
    keys = [*container.ssh_keys, *(prov.ssh_keys if prov else [])]
    steps: dict[str, Any] = {}
    if keys or container.password is not None:
        steps["root"] = {"ssh_keys": keys, "password": container.password}
    if prov is None:
        return steps
    files = [{**f.model_dump(), "digest": file_digests.get(f.src or f.template or "")}
             for f in prov.files]
    docker = prov.docker if isinstance(prov.docker, BaseModel) else bool(prov.docker)
    for name, data in (("users", prov.users), ("packages", prov.packages),
                       ("docker", docker), ("tailscale", prov.tailscale),
                       ("files", files), ("run", prov.run)):
        if data:
            steps[name] = data
    return steps


def step_fingerprints(container: Container, stack: str,
                      file_digests: dict[str, str] | None = None) -> dict[str, str]:
    """Per provisioning step, a short hash of what it will do (in STEPS order)."""
    cache: dict[str, str] = {}
    salt = f"{stack}/{container.name}"
    data = _step_data(container, file_digests or {})
    return {name: _digest(_plain(data[name], salt, cache))[:16] for name in STEPS if name in data}


def encode_fingerprint(steps: dict[str, str]) -> str:
    """Per-step hashes -> the string recorded in the marker ('' when nothing to provision)."""
    if not steps:
        return ""
    return FINGERPRINT_PREFIX + ",".join(f"{name}={steps[name]}" for name in steps)


def decode_fingerprint(text: str | None) -> dict[str, str] | None:
    """The marker's fingerprint -> per-step hashes; None when it is absent or unreadable
    (an unknown encoding counts as "every step changed")."""
    if text is None:
        return None
    if text == "":
        return {}
    if not text.startswith(FINGERPRINT_PREFIX):
        return None
    steps: dict[str, str] = {}
    for item in text[len(FINGERPRINT_PREFIX):].split(","):
        name, sep, value = item.partition("=")
        if not sep or name not in STEPS:
            return None
        steps[name] = value
    return steps


def provision_fingerprint(container: Container, stack: str,
                          file_digests: dict[str, str] | None = None) -> str:
    """The fingerprint apply records on the container after provisioning it."""
    return encode_fingerprint(step_fingerprints(container, stack, file_digests))


def changed_steps(desired: dict[str, str], recorded: dict[str, str] | None) -> tuple[str, ...]:
    """Steps whose hash differs from what ran (all of them when nothing readable ran)."""
    if recorded is None:
        return tuple(desired)
    return tuple(name for name, value in desired.items() if recorded.get(name) != value)


def _secrets_of(stack: Stack) -> dict[str, SecretStr]:
    """Every secret of a resolved stack by path (model_dump shows them as stars)."""
    found: dict[str, SecretStr] = {}
    if isinstance(stack.cluster, BaseModel):
        found["cluster.token_secret"] = stack.cluster.token_secret
    for name, ct in stack.containers.items():
        if ct.password is not None:
            found[f"containers.{name}.password"] = ct.password
        if ct.provision is not None and ct.provision.tailscale is not None:
            found[f"containers.{name}.provision.tailscale.auth_key"] = (
                ct.provision.tailscale.auth_key)
    return found


def spec_hash(stack: Stack) -> str:
    """sha256 of the resolved stack, secrets hashed: a saved plan is stale when it differs.

    Container order does not matter (keys are sorted); only the meaning does.
    """
    cache: dict[str, str] = {}
    secrets = {path: _plain(value, f"{stack.stack}/spec", cache)
               for path, value in _secrets_of(stack).items()}
    data = {"stack": stack.model_dump(mode="json"), "secrets": secrets}
    return "sha256:" + _digest(data)
