"""One CLI as documented: global options before or after the command name, for every command;
whole values off a terminal; no styling at all with NO_COLOR / --no-color; JSON errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from pxrun.cli.commands import ALIASES, COMMANDS
from pxrun.cli.globalopts import GLOBAL_OPTIONS
from pxrun.cli.main import cli, main
from tests.cli.conftest import run, spec_text

GLOBAL_FLAGS = [decl for option in GLOBAL_OPTIONS for decl in option.decls]


def _every_command() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    found: list[tuple[str, click.Command]] = []

    def walk(path: str, command: click.Command) -> None:
        found.append((path, command))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(f"{path} {name}", sub)

    for name in sorted(COMMANDS):
        command = cli.get_command(ctx, name)
        assert command is not None, name
        walk(name, command)
    return found


@pytest.mark.parametrize(("path", "command"), _every_command(), ids=str)
def test_every_command_accepts_every_global_option(path: str, command: click.Command) -> None:
    declared = {opt for p in command.params for opt in (*getattr(p, "opts", ()),
                                                         *getattr(p, "secondary_opts", ()))}
    assert set(GLOBAL_FLAGS) <= declared, f"pxrun {path} lacks {set(GLOBAL_FLAGS) - declared}"


@pytest.mark.parametrize(("path", "command"), _every_command(), ids=str)
def test_no_command_declares_its_own_copy_of_a_global_option(path: str,
                                                            command: click.Command) -> None:
    """A command's own `--json` or `--sim` would shadow the table's (and its callback): the
    flag would then mean something slightly different after this one command name."""
    own = [opt for p in command.params if getattr(p, "expose_value", True)
           for opt in getattr(p, "opts", ()) if opt in GLOBAL_FLAGS]
    assert not own, f"pxrun {path} declares {own} itself; the global table has it"


def test_list_json_after_the_command(simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--sim", "--sim-dir", str(simdir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_plan_quiet_after_the_command(simdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {}\n"), encoding="utf-8")
    assert run(simdir, "plan") == 0
    full = capsys.readouterr().out
    assert run(simdir, "plan", "-q") == 0
    quiet = capsys.readouterr().out
    assert "+ container" in full and "+ container" not in quiet
    assert "1 to add" in quiet


def test_doctor_takes_cluster_after_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["doctor", "--cluster", "nosuch"]) == 1  # accepted, then looked up
    assert "no cluster profile named 'nosuch'" in capsys.readouterr().err


def test_sim_subcommand_takes_json_after_it(simdir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "status", str(simdir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state_dir"] == str(simdir)


@pytest.mark.integration
def test_sim_serve_json_after_the_command(tmp_path: Path) -> None:
    """The standalone server prints its facts as one JSON line, then serves until stopped."""
    proc = subprocess.Popen([sys.executable, "-m", "pxrun", "sim", "serve", str(tmp_path / "s"),
                             "--json", "--port", "0", "--ssh-port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        facts = json.loads(proc.stdout.readline())
        assert facts["endpoint"].startswith("https://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_verbose_and_request_log_after_the_command(simdir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {}\n"), encoding="utf-8")
    log = tmp_path / "requests.jsonl"
    assert run(simdir, "plan", "-v", "--request-log", str(log)) == 0
    assert "observed 0 of stack t" in capsys.readouterr().err
    assert log.read_text(encoding="utf-8").count("\n") >= 2


def test_debug_of_pxrun_0_1_means_verbose(simdir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {}\n"), encoding="utf-8")
    assert main(["--debug", "--sim", "--sim-dir", str(simdir), "plan"]) == 0
    assert "API requests" in capsys.readouterr().err


def test_an_alias_resolves_to_its_command(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(ALIASES, "check", "validate")
    assert main(["check", "--help"]) == 0
    assert "Check a spec" in capsys.readouterr().out
    assert "check" not in cli.list_commands(click.Context(cli))


def _long_named_container(simdir: Path) -> str:
    host = "a-very-long-hostname-that-would-not-fit-in-eighty-columns.example.internal"
    Path("pxrun.yaml").write_text(spec_text(f"web: {{hostname: {host}}}\n",
                                            stack="a-rather-long-stack-name"),
                                  encoding="utf-8")
    assert run(simdir, "apply", "--auto-approve", "-q") == 0
    return host


@pytest.mark.integration
def test_tables_are_never_cut_off_a_terminal(simdir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _long_named_container(simdir)
    capsys.readouterr()
    assert run(simdir, "list") == 0
    out = capsys.readouterr().out
    assert "a-rather-long-stack-name" in out and "…" not in out
    assert max(len(line) for line in out.splitlines()) > 80


@pytest.mark.integration
@pytest.mark.parametrize("how", ["NO_COLOR", "--no-color"])
def test_no_color_removes_bold_too(simdir: Path, how: str, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    _long_named_container(simdir)
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats stdout as a terminal
    capsys.readouterr()
    assert run(simdir, "list") == 0
    assert "\x1b[1m" in capsys.readouterr().out  # bold headers on a terminal
    if how == "NO_COLOR":
        monkeypatch.setenv("NO_COLOR", "1")
        assert run(simdir, "list") == 0
    else:
        assert run(simdir, "list", "--no-color") == 0
    assert "\x1b[" not in capsys.readouterr().out


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_json_diagnostics_for_an_invalid_spec(command: str, simdir: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    Path("pxrun.yaml").write_text(spec_text("web: {resources: {memory: 1G}}\n"),
                                  encoding="utf-8")
    assert run(simdir, command, "--json") == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["exit_status"] == 3
    assert doc["error"]["kind"] == "invalid_spec"
    (diag,) = doc["diagnostics"]
    assert diag["file"] == "pxrun.yaml" and diag["line"] > 0 and diag["col"] > 0
    assert "MiB" in diag["message"] and "1024" in diag["message"]


def test_warnings_print_once(capsys: pytest.CaptureFixture[str]) -> None:
    from pxrun.cli.context import Settings
    from pxrun.cli.output import warn

    settings = Settings()
    for _ in range(3):
        warn(settings, "TLS verification is off")
    warn(settings, "something else")
    err = capsys.readouterr().err
    assert err.count("TLS verification is off") == 1 and "something else" in err


def test_lock_owner_names_the_user_without_user_variables(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    import getpass
    import socket

    from pxrun.apply.stacklock import default_owner

    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(var, raising=False)
    owner = default_owner()
    assert owner.startswith(f"{getpass.getuser()}@{socket.gethostname()} pid ")
    assert not owner.startswith("unknown@")


def test_plan_diagnostics_print_once(capsys: pytest.CaptureFixture[str]) -> None:
    """A plan shown twice in one run (apply: the plan, then after approval) or a warning the
    lock already printed does not repeat its lines."""
    from pxrun.cli.cmd_plan import print_diagnostics
    from pxrun.cli.context import Settings

    settings = Settings()
    lines = ["warning: web: pending changes await a restart", "hint: restart it"]
    print_diagnostics(lines, settings)
    print_diagnostics([*lines, "warning: db: another"], settings)
    err = capsys.readouterr().err
    assert err.count("pending changes await") == 1 and err.count("another") == 1
