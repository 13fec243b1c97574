"""A token id pasted together with its secret, end to end: `doctor` and `plan` against a
real HTTPS simulator work (the id is split) and no output holds the secret; pasted on the
command line it is refused, again without echoing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pxrun.cli.main import main
from tests.connect.conftest import Cluster

pytestmark = pytest.mark.integration

SPEC = """\
version: 1
stack: paste
containers:
  web: {template: debian-12, storage: local-lvm, networks: {net0: {bridge: vmbr0, ip: dhcp}}}
"""


@pytest.fixture
def pasted(cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cluster:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "pxrun.yaml").write_text(SPEC)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("NO_COLOR", "1")
    for key, value in cluster.env(PROXMOX_TOKEN_SECRET="").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PROXMOX_TOKEN_SECRET", raising=False)
    monkeypatch.setenv("PROXMOX_TOKEN_ID", f"{cluster.token_id}={cluster.token_secret}")
    return cluster


@pytest.mark.parametrize("args", [["doctor"], ["--json", "doctor"], ["plan"],
                                  ["--json", "plan"]])
def test_a_pasted_secret_is_split_off_and_never_shown(
        pasted: Cluster, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 0
    out = capsys.readouterr()
    assert pasted.token_secret not in out.out + out.err
    assert "holds the token secret after '='" in out.out + out.err
    if args == ["doctor"]:
        assert f"token_id      {pasted.token_id} " in out.out


def test_the_header_form_works_too(pasted: Cluster, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PROXMOX_TOKEN_ID",
                       f"PVEAPIToken={pasted.token_id}={pasted.token_secret}")
    assert main(["plan"]) == 0
    out = capsys.readouterr()
    assert pasted.token_secret not in out.out + out.err


def test_on_the_command_line_it_is_refused(pasted: Cluster, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PROXMOX_TOKEN_ID", pasted.token_id)
    monkeypatch.setenv("PROXMOX_TOKEN_SECRET", pasted.token_secret)
    for args in (["doctor"], ["plan"], ["--json", "plan"]):
        status = main([*args, "--token-id", f"{pasted.token_id}={pasted.token_secret}"])
        out = capsys.readouterr()
        assert status == 1, out
        assert "--token-id holds a token secret after '='" in out.err
        assert pasted.token_secret not in out.out + out.err


def test_a_wrong_secret_pasted_with_the_id_is_refused(pasted: Cluster,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PROXMOX_TOKEN_SECRET", "another-secret-0001")
    assert main(["plan"]) == 1
    out = capsys.readouterr()
    assert "differs from the token secret of environment PROXMOX_TOKEN_SECRET" in out.err
    for secret in (pasted.token_secret, "another-secret-0001"):
        assert secret not in out.out + out.err
