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
import hmac
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_core import to_json

from pxrun.spec.model import Container, Stack

FINGERPRINT_PREFIX = "p1:"
STEPS = ("root", "users", "packages", "docker", "tailscale", "files", "run")
"""Provisioning steps in the order they run. `root`: root's password and ssh keys."""
_KDF_ROUNDS = 20_000


def hash_secret(value: str, salt: str) -> str:
    """A secret -> a salted PBKDF2 digest: stable, comparable, not reversible cheaply."""
    digest = hashlib.pbkdf2_hmac("sha256", value.encode(), f"pxrun:{salt}".encode(), _KDF_ROUNDS)
    return digest.hex()


def _plain(value: SecretStr, salt: str, cache: dict[str, str]) -> str:
    """A secret as its salted KDF digest (one derivation per distinct value)."""
    secret = value.get_secret_value()
    if secret not in cache:
        cache[secret] = "kdf:" + hash_secret(secret, salt)
    return cache[secret]


def _json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _dumps(models: Any) -> list[Any]:
    return [m.model_dump(mode="json") for m in models]


def _step_texts(container: Container, salt: str, file_digests: dict[str, str],
                cache: dict[str, str]) -> dict[str, str]:
    """What each step does, as canonical JSON text; steps with nothing to do left out.
    Secrets enter only as their salted KDF digest."""
    prov = container.provision
    keys = [*container.ssh_keys, *(prov.ssh_keys if prov else [])]
    steps: dict[str, str] = {}
    if keys or container.password is not None:
        password = (None if container.password is None else
                    _plain(container.password, salt, cache))
        steps["root"] = _json({"ssh_keys": keys, "password": password})
    if prov is None:
        return steps
    if prov.users:
        steps["users"] = _json(_dumps(prov.users))
    if prov.packages:
        steps["packages"] = _json(prov.packages)
    if prov.docker:
        steps["docker"] = _json(prov.docker.model_dump(mode="json")
                                if isinstance(prov.docker, BaseModel) else True)
    if prov.tailscale is not None:
        data = prov.tailscale.model_dump(mode="json")
        data["auth_key"] = _plain(prov.tailscale.auth_key, salt, cache)
        steps["tailscale"] = _json(data)
    if prov.files:
        steps["files"] = _json([{**f.model_dump(mode="json"),
                                 "digest": file_digests.get(f.src or f.template or "")}
                                for f in prov.files])
    if prov.run:
        steps["run"] = _json(_dumps(prov.run))
    return steps


def step_fingerprints(container: Container, stack: str,
                      file_digests: dict[str, str] | None = None,
                      secret_cache: dict[str, str] | None = None) -> dict[str, str]:
    """Per provisioning step, a short hash of what it will do (in STEPS order).

    The salt is the stack, so one secret shared by many containers (a root password from
    defaults) costs one derivation per plan when `secret_cache` is shared between calls.
    """
    cache = {} if secret_cache is None else secret_cache
    texts = _step_texts(container, stack, file_digests or {}, cache)
    return {name: hashlib.sha256(texts[name].encode()).hexdigest()[:16]
            for name in STEPS if name in texts}


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


def secrets_mac(secrets: Mapping[str, str], salt: str) -> str:
    """An HMAC over the names of `secrets`, keyed by a slow, salted derivation of all their
    values: it changes when any secret changes, and guessing a value from it costs a full
    key derivation per guess (the spec hash is written into saved plan files)."""
    if not secrets:
        return ""
    material = _json(sorted(secrets.items())).encode()
    key = hashlib.pbkdf2_hmac("sha256", material, f"pxrun-secrets:{salt}".encode(), _KDF_ROUNDS)
    return hmac.new(key, _json(sorted(secrets)).encode(), hashlib.sha256).hexdigest()


def _without_values(text: str, hidden: tuple[tuple[str, str], ...]) -> str:
    """JSON `text` with every secret value replaced by its name."""
    for escaped, name in hidden:
        if escaped in text:
            text = text.replace(escaped, "${" + name + "}")
    return text


def spec_hash(stack: Stack, secrets: Mapping[str, str] | None = None,
              secret_cache: dict[str, str] | None = None) -> str:
    """sha256 of the resolved stack: a saved plan is stale when it differs.

    `secrets` (name -> value, see `PlanOptions.secrets`) enter as names where their values
    appear, plus one MAC of all their values, so a changed secret makes a saved plan stale
    while the hash holds nothing a plain dictionary attack could use. Secret fields of the
    model (root password, auth keys) enter through their salted KDF digest. Container order
    does not matter (they are hashed by sorted name); only the meaning does.
    """
    cache = {} if secret_cache is None else secret_cache
    digests = {path: _plain(value, stack.stack, cache)
               for path, value in _secrets_of(stack).items()}
    named = secrets or {}
    hidden = tuple(sorted(((to_json(value).decode()[1:-1], name)
                           for name, value in named.items() if value),
                          key=lambda item: (-len(item[0]), item[1])))
    digest = hashlib.sha256()
    digest.update(_without_values(stack.model_dump_json(exclude={"containers"}),
                                  hidden).encode())
    digest.update(_json(digests).encode())
    digest.update(secrets_mac(named, stack.stack).encode())
    for name in sorted(stack.containers):
        digest.update(b"\0" + name.encode() + b"\0")
        digest.update(_without_values(stack.containers[name].model_dump_json(),
                                      hidden).encode())
    return "sha256:" + digest.hexdigest()
