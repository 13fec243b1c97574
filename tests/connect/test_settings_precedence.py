"""Settings precedence, table-driven: each file in cases/settings/ is one scenario.

A case may give `flags`, `cluster` (--cluster), `env`, `dotenv` (text of ./.env), `profiles`
(text of clusters.yaml under $XDG_CONFIG_HOME, or ~/.config with `xdg: false`),
`spec_cluster` (a profile name or an inline block), `sim` (simulator facts) and `files`
to create; then `expect` (setting -> [value, source prefix] or a plain value), `warnings`
(substrings) or `error` (a substring of the ConfigError), and `never`: values that no
message, hint, warning or shown setting may contain (a pasted secret). `{tmp}` stands for
the test's temporary directory. A new behaviour is a new file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.connect.settings import ConnectionFlags, ConnectionSettings, SettingsInputs, resolve
from pxrun.errors import ConfigError

CASES = sorted((Path(__file__).parent / "cases" / "settings").glob("*.yaml"))


def _subst(value: Any, tmp: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{tmp}", str(tmp))
    if isinstance(value, list):
        return [_subst(v, tmp) for v in value]
    if isinstance(value, dict):
        return {k: _subst(v, tmp) for k, v in value.items()}
    return value


def _actual(settings: ConnectionSettings, key: str) -> Any:
    if key == "endpoint":
        return settings.endpoint.url
    if key == "token_secret":
        return settings.token_secret.reveal()
    if key == "ca_file":
        return str(settings.ca_file) if settings.ca_file else None
    if key == "tls_mode":
        return str(settings.tls_mode)
    if key == "ssh_key_file":
        return str(settings.ssh.key_file)
    if key.startswith("ssh_target_"):
        return list(settings.ssh.target(key.removeprefix("ssh_target_")))
    return getattr(settings, key)


def _inputs(case: dict[str, Any], tmp: Path) -> SettingsInputs:
    work, home, config = tmp / "work", tmp / "home", tmp / "config"
    for folder in (work, home, config):
        folder.mkdir(exist_ok=True)
    for name, text in (case.get("files") or {}).items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if "dotenv" in case:
        (work / ".env").write_text(case["dotenv"])
    env = {"HOME": str(home), **(case.get("env") or {})}
    if case.get("xdg", True):
        env["XDG_CONFIG_HOME"] = str(config)
    if "profiles" in case:
        base = config if case.get("xdg", True) else home / ".config"
        path = base / "pxrun" / "clusters.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(case["profiles"])
        os.chmod(path, case.get("profiles_mode", 0o600))
    flags = dict(case.get("flags") or {})
    if "ca_file" in flags:
        flags["ca_file"] = Path(flags["ca_file"])
    return SettingsInputs(env=env, cwd=work, flags=ConnectionFlags(**flags),
                          cluster=case.get("cluster"), spec_cluster=case.get("spec_cluster"),
                          spec_dir=tmp / case["spec_dir"] if "spec_dir" in case else None,
                          sim=case.get("sim"))


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_settings_case(case_file: Path, tmp_path: Path) -> None:
    case = _subst(yaml.safe_load(case_file.read_text()), tmp_path)
    inputs = _inputs(case, tmp_path)
    never = case.get("never") or []
    if "error" in case:
        with pytest.raises(ConfigError) as info:
            resolve(inputs)
        assert case["error"] in info.value.message
        assert info.value.hint  # every configuration error says what to do
        assert not [v for v in never if v in f"{info.value.message} {info.value.hint}"]
        return
    settings = resolve(inputs)
    shown = f"{settings.warnings} {settings.describe()} {settings!r}"
    assert not [v for v in never if v in shown], shown
    for key, want in (case.get("expect") or {}).items():
        if isinstance(want, list) and key in settings.__dataclass_fields__ | {
                "endpoint": 0, "tls_mode": 0, "token_secret": 0}:
            value, source = want
            assert _actual(settings, key) == value, key
            assert settings.sources.get(key, "default").startswith(source), (
                key, settings.sources.get(key))
        else:
            assert _actual(settings, key) == want, key
    for fragment in case.get("warnings") or []:
        assert any(fragment in w for w in settings.warnings), (fragment, settings.warnings)
    if not case.get("warnings"):
        assert settings.warnings == ()


def test_secret_is_masked_everywhere(tmp_path: Path) -> None:
    settings = resolve(SettingsInputs(env={"PROXMOX_HOST": "pve", "PROXMOX_TOKEN_ID": "a@pve!x",
                                           "PROXMOX_TOKEN_SECRET": "hunter2-uuid"},
                                      cwd=tmp_path, profiles_path=tmp_path / "none.yaml"))
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.describe())
    assert ("token_secret", "********", "environment PROXMOX_TOKEN_SECRET") in settings.describe()
