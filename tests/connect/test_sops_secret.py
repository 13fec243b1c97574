"""A profile's token secret from a sops-encrypted file, decrypted by the real sops binary."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pxrun.connect.settings import SettingsInputs, resolve
from pxrun.connect.sopsfile import sops_binary
from pxrun.errors import SecretsError


@pytest.fixture
def age_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    if shutil.which("age-keygen") is None:
        pytest.skip("age-keygen is not installed")
    try:
        sops_binary()
    except SecretsError:
        pytest.skip("sops is not installed")
    key_file = tmp_path / "age.key"
    subprocess.run(["age-keygen", "-o", str(key_file)], check=True, capture_output=True)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file))
    for line in key_file.read_text().splitlines():
        if line.startswith("# public key: "):
            return line.removeprefix("# public key: ")
    raise AssertionError("no public key in age-keygen output")


def _encrypt(plain: str, recipient: str, target: Path) -> None:
    source = target.with_suffix(".plain.yaml")
    source.write_text(plain)
    out = subprocess.run([sops_binary(), "--encrypt", "--age", recipient, str(source)],
                         check=True, capture_output=True)
    source.unlink()
    target.write_bytes(out.stdout)


def test_token_secret_from_sops_file(tmp_path: Path, age_key: str) -> None:
    config = tmp_path / "config" / "pxrun"
    config.mkdir(parents=True)
    _encrypt("proxmox:\n  token: 8f1c-secret-uuid\n", age_key, config / "secrets.sops.yaml")
    assert b"8f1c-secret-uuid" not in (config / "secrets.sops.yaml").read_bytes()
    (config / "clusters.yaml").write_text(
        "default: home\nclusters:\n  home:\n    endpoint: pve.home\n"
        "    token_id: 'pxrun@pve!ci'\n    token_secret_file: secrets.sops.yaml\n"
        "    token_secret_key: proxmox.token\n")
    settings = resolve(SettingsInputs(env={"XDG_CONFIG_HOME": str(tmp_path / "config")},
                                      cwd=tmp_path))
    assert settings.token_secret.reveal() == "8f1c-secret-uuid"
    assert settings.sources["token_secret"].endswith("sops secrets.sops.yaml")
    assert "8f1c" not in repr(settings)


def test_sops_errors_never_leak_and_name_the_key(tmp_path: Path, age_key: str) -> None:
    secrets = tmp_path / "s.sops.yaml"
    _encrypt("other: 1\n", age_key, secrets)
    from pxrun.connect.sopsfile import decrypt_value

    with pytest.raises(SecretsError, match=r"has no key 'proxmox\.token'"):
        decrypt_value(secrets, "proxmox.token")
    with pytest.raises(SecretsError, match="does not exist"):
        decrypt_value(tmp_path / "missing.yaml", "x")


def test_higher_source_skips_decryption(tmp_path: Path) -> None:
    """An env secret wins, so a broken sops reference of a lower profile is never touched."""
    config = tmp_path / "config" / "pxrun"
    config.mkdir(parents=True)
    (config / "clusters.yaml").write_text(
        "default: home\nclusters:\n  home:\n    endpoint: pve.home\n"
        "    token_id: 'pxrun@pve!ci'\n    token_secret_file: does-not-exist.yaml\n")
    settings = resolve(SettingsInputs(env={"XDG_CONFIG_HOME": str(tmp_path / "config"),
                                           "PROXMOX_TOKEN_SECRET": "from-env"}, cwd=tmp_path))
    assert settings.token_secret.reveal() == "from-env"
