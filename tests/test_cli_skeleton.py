"""The CLI edge: exit statuses, lazy imports, global options."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from pxrun import errors
from pxrun.cli.main import main
from pxrun.cli.status import ExitStatus, exit_status_for

HEAVY = ["proxmoxer", "fabric", "paramiko", "invoke", "asyncssh", "pxrun.sim", "pydantic", "rich"]


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.SpecError([]), ExitStatus.INVALID),
        (errors.UsageError("x"), ExitStatus.INVALID),
        (click.UsageError("x"), ExitStatus.INVALID),
        (KeyboardInterrupt(), ExitStatus.INTERRUPTED),
        (errors.Interrupted("x"), ExitStatus.INTERRUPTED),
        (errors.ApplyError("x"), ExitStatus.ERROR),
        (errors.ConfigError("x"), ExitStatus.ERROR),
        (RuntimeError("bug"), ExitStatus.ERROR),
    ],
)
def test_exceptions_map_to_one_exit_status(exc: BaseException, status: ExitStatus) -> None:
    assert exit_status_for(exc) is status


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom pxrun.cli.main import main\n"
        "rc = main(['--help'])\nimport json\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)\n"
        "sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == []
    assert "validate" in proc.stdout


def test_version_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "pxrun, version" in capsys.readouterr().out
    assert main(["no-such-command"]) == ExitStatus.INVALID


def test_python_dash_m_works() -> None:
    proc = subprocess.run([sys.executable, "-m", "pxrun", "--version"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0
    assert proc.stdout.startswith("pxrun, version")
    # The exit status passes through `python -m` too (it once was always 0).
    bad = subprocess.run([sys.executable, "-m", "pxrun", "no-such-command"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == ExitStatus.INVALID
