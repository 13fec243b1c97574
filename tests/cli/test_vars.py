"""`--var NAME=VALUE` and `--var-file FILE`: typed by the spec, later sources win, typos caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import run

SPEC = """\
version: 1
stack: t
vars: {domain: lan, cores: 1, tags: [a], version: "1.10"}
defaults:
  template: debian-12
  networks: {net0: {bridge: vmbr0, ip: dhcp}}
containers:
  web:
    hostname: "web.{{ vars.domain }}"
    resources: {cores: "{{ vars.cores }}"}
    description: "v{{ vars.version }} {{ vars.tags | join(',') }}"
"""


def _after(simdir: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert run(simdir, "plan", "--json", *args) == 0, capsys.readouterr().err
    (change,) = json.loads(capsys.readouterr().out)["resource_changes"]
    after: dict[str, object] = change["after"]
    return after


def test_vars_from_flags_and_files(simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(SPEC, encoding="utf-8")
    after = _after(simdir, capsys)
    assert after["hostname"] == "web.lan" and after["description"] == "v1.10 a"
    Path("prod.yaml").write_text("domain: prod.example\ncores: 4\n", encoding="utf-8")
    Path("more.yaml").write_text("cores: 6\n", encoding="utf-8")
    after = _after(simdir, capsys, "--var-file", "prod.yaml", "--var-file", "more.yaml",
                   "--var", "version=2.0", "--var", "tags=[x, y]")
    assert after["hostname"] == "web.prod.example"
    assert after["resources"]["cores"] == 6  # type: ignore[index]  # later file wins
    assert after["description"] == "v2.0 x,y"  # text stays text: not the number 2.0
    after = _after(simdir, capsys, "--var-file", "prod.yaml", "--var", "domain=cli")
    assert after["hostname"] == "web.cli"  # a flag wins over a file


@pytest.mark.parametrize(("args", "says"), [
    (["--var", "domian=x"], "the spec has no var 'domian' (did you mean 'domain'?)"),
    (["--var", "cores=many"], "cores must be a whole number, as in the spec"),
    (["--var", "tags=oops"], "tags must be a list like [a, b], as in the spec"),
    (["--var", "novalue"], "--var novalue: expected NAME=VALUE"),
    (["--var-file", "missing.yaml"], "--var-file missing.yaml: cannot read it"),
])
def test_bad_vars_are_usage_or_spec_errors(args: list[str], says: str, simdir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(SPEC, encoding="utf-8")
    assert run(simdir, "validate", *args) == 3
    assert says in capsys.readouterr().err


def test_every_spec_command_takes_vars(simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(SPEC, encoding="utf-8")
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"],
                    ["destroy", "--auto-approve"], ["doctor", "-f", "pxrun.yaml"],
                    ["force-unlock"], ["drift"]):
        assert run(simdir, *command, "--var", "nosuch=1") == 3, command
        assert "no var 'nosuch'" in capsys.readouterr().err
