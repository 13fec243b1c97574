"""`pxrun completion bash|zsh|fish` (click's protocol through our `main`) and `pxrun man`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from pxrun.cli.main import cli, main
from pxrun.cli.manpage import render_manpage
from tests.cli.test_global_options import _every_command

BIN = str(Path(sys.executable).parent)


def _complete(words: str, shell: str = "bash") -> list[str]:
    """Candidates pxrun offers for the last word of `words` (click's completion protocol)."""
    parts = words.split(" ")
    env = {**os.environ, "_PXRUN_COMPLETE": f"{shell}_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(parts) - 1)}
    proc = subprocess.run([sys.executable, "-m", "pxrun"], env=env, capture_output=True,
                          text=True, check=True)
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines() if "," in line]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "_PXRUN_COMPLETE" in script and f"{shell}_complete" in script


def test_completion_offers_commands_options_and_choices() -> None:
    assert {"show", "sim"} <= set(_complete("pxrun s"))
    assert "download" in _complete("pxrun templates d")
    after = _complete("pxrun plan --")
    assert {"--refresh-only", "--json", "--no-color", "--var"} <= set(after)  # globals too
    assert _complete("pxrun completion ") == ["bash", "zsh", "fish"]
    assert "--format" in _complete("pxrun list --f")


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_end_to_end() -> None:
    script = ('eval "$(pxrun completion bash)"; COMP_WORDS=(pxrun templates l); '
              'COMP_CWORD=2; _pxrun_completion pxrun; echo "${COMPREPLY[@]}"')
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                          check=True)
    assert proc.stdout.split() == ["list"]


def test_manpage_has_every_command_and_option() -> None:
    page = render_manpage(cli)
    assert page.startswith(".TH PXRUN 1 ")
    for path, command in _every_command():
        assert f".SS {path.replace('-', chr(92) + '-')}" in page, path
        ctx = click.Context(command)
        for param in command.get_params(ctx):
            if isinstance(param, click.Option) and not param.hidden:
                for opt in param.opts:
                    assert opt.replace("-", "\\-") in page, f"{path} {opt}"
    for section in ("GLOBAL OPTIONS", "ENVIRONMENT", "EXIT STATUS", "FILES"):
        assert f".SH {section}" in page


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_manpage_renders_without_warnings(tmp_path: Path) -> None:
    out = tmp_path / "pxrun.1"
    assert main(["man", "-o", str(out)]) == 0
    proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", str(out)], capture_output=True,
                          text=True, check=True)
    assert proc.stderr == ""
    text = re.sub(r".\x08", "", proc.stdout)  # bold and underline are overstrikes
    assert "pxrun templates download" in text and "SOPS_AGE_KEY_FILE" in text
