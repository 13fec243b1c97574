"""The spec hash: a fingerprint of the whole resolved stack, which saved plans carry.

A saved plan is stale when the spec it was made from changed: the stack, a secret, or a
local file provisioning copies or renders. Secrets enter only through a salted, slow key
derivation, because the hash is written into plan files. (Per-step provisioning
fingerprints are `pxrun.spec.steps`'.) Pure functions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_core import to_json

from pxrun.spec.model import Stack

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
              secret_cache: dict[str, str] | None = None,
              files: Mapping[str, bytes] | None = None,
              texts: Mapping[str, str] | None = None) -> str:
    """sha256 of the resolved stack: a saved plan is stale when it differs.

    `secrets` (name -> value, see `PlanOptions.secrets`) enter as names where their values
    appear, plus one MAC of all their values, so a changed secret makes a saved plan stale
    while the hash holds nothing a plain dictionary attack could use. Secret fields of the
    model (root password, auth keys) enter through their salted KDF digest. Container order
    does not matter (they are hashed by sorted name); only the meaning does. `files`: the
    local files provisioning copies or renders (path -> bytes), by their SHA-256. `texts`:
    containers' `model_dump_json()` made already (the planner's replicas), by name.
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
    for path in sorted(files or {}):
        digest.update(f"\0file:{path}:{hashlib.sha256((files or {})[path]).hexdigest()}"
                      .encode())
    made = texts or {}
    parts: list[str] = []  # hashed at once: two updates per container cost more
    for name in sorted(stack.containers):
        text = made.get(name)
        if text is None:
            text = stack.containers[name].model_dump_json()
        parts += ("\0", name, "\0", _without_values(text, hidden) if hidden else text)
    digest.update("".join(parts).encode())
    return "sha256:" + digest.hexdigest()
