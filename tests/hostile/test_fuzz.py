"""Fuzzing the loader and the command line: random and mutated input never escapes as a crash.

Properties:
- a spec, however mangled, loads or fails with a SpecError whose diagnostics name one of its
  files (SecretsError only when it names a secrets file sops cannot read); no other exception;
- a command line, however odd, exits 0, 1, 2 or 3, never prints a traceback or a raw Python
  exception, and exits 3 for every usage error;
- a saved plan file of any JSON shape is refused with exit 3 (or, if it is a plan, gets as far
  as connecting, which fails with 1: no cluster is configured here).

Bounded and seeded (`derandomize`): the same examples every run, a few seconds in all. The
hostile inputs found so far are cases in specs.yaml and cli.yaml; this keeps looking.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxrun.cli.main import main
from pxrun.errors import SecretsError, SpecError
from pxrun.spec.load import load_stack

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [p.read_text(encoding="utf-8") for p in sorted(
    [*ROOT.glob("examples/*.yaml"), *ROOT.glob("tests/spec/fixtures/good/*/*.yaml")])]
TOKENS = [": ", "- ", "[", "]", "{", "}", ", ", "&a ", "*a", "<<: *a", "!!str ", "!!int ",
          "!!python/object:os.system ", "\n", "  ", "'", '"', "#", "|", ">", "? ", "%", "@",
          "`", "\t", "~", "null", ".nan", "-1", "0x1F", "1e999", "9" * 40, "2024-02-31",
          "é", "\u2028", "{{ ", " }}", "{{ vars.x }}", "{{ index }}", "{% for i in x %}",
          "{% endfor %}", "{{ 'x' * 10**7 }}", "count: 3", "count: 1001", "defaults:",
          "containers:", "vars:", "depends_on: [web]", "secrets: s.yaml", "src: ../x",
          "volume: 'local:99999999999999'", "memory: 99999999999999999", "web:", "name: x"]
FUZZ = settings(derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
RAW_PYTHON = re.compile(r"Traceback|^error: \w*(Error|Exception|Exit|Interrupt)\b", re.M)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A seed spec with a few tokens inserted, characters deleted or lines swapped."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "swap"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)):]
        else:
            lines = text.splitlines(keepends=True)
            if len(lines) > 1:
                i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
                text = "".join(lines)
    return text


SCALARS = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=12) | st.sampled_from(TOKENS))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8) | st.sampled_from(
                          ["resources", "networks", "net0", "mounts", "mp0", "provision",
                           "files", "memory", "ip", "volume", "path", "template", "count"]),
                          inner, max_size=3), max_leaves=12)
DOCUMENTS = st.fixed_dictionaries(
    {"version": st.sampled_from([1, "1", 2, None]), "stack": st.sampled_from(["s", "S!", ""])},
    optional={"vars": VALUES, "defaults": VALUES,
              "containers": st.dictionaries(st.sampled_from(["web", "db", "Bad_Name", "a" * 70]),
                                            VALUES, max_size=3)})


def _load_cleanly(spec: Path) -> None:
    try:
        load_stack(spec)
    except SpecError as exc:
        assert exc.diagnostics
        for diag in exc.diagnostics:
            assert diag.message and diag.line >= 0 and diag.col >= 0
            assert diag.file == str(spec) or "secrets" in diag.message or diag.file.endswith(
                "s.yaml"), diag
    except SecretsError:
        pass  # a mutation named a secrets file sops cannot decrypt: a one-line error too


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "pxrun.yaml"


@settings(FUZZ, max_examples=120)
@given(text=mutated())
def test_mutated_specs_load_or_fail_with_diagnostics(text: str, spec_file: Path) -> None:
    spec_file.write_text(text, encoding="utf-8")
    _load_cleanly(spec_file)


@settings(FUZZ, max_examples=80)
@given(document=DOCUMENTS)
def test_generated_documents_load_or_fail_with_diagnostics(document: dict[str, Any],
                                                          spec_file: Path) -> None:
    spec_file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    _load_cleanly(spec_file)


FILES = ["quick.yaml", "bad.yaml", "missing.yaml", "fifo", "/dev/zero", "outside/pxrun.yaml",
         ".", "/proc/self/mem", "plan.json"]
# Output paths stay in the test's folder: run as root, a regression that renames a file over
# a device would replace /dev/full itself (a FIFO here stands in for a device).
OUT = ["out.json", "/proc/x/p.json", "fifo", "."]
TIMEOUTS = ["0", "-1", "nan", "inf", "5", "1e400", "abc", "create=0", "create=5", "bogus=1",
            "start=nan", "=", ""]
NAMES = ["web", "cache", "nosuch", "web-1", "", "é"]
CONNECT = {"--endpoint": ["https://127.0.0.1:1", "not a url", "http://[::1", ""],
           "--token-id": ["x", "root@pam!t", "root@pam!t=SECRET"],
           "--ca-file": FILES, "--fingerprint": ["zz", ":".join(["AB"] * 32)],
           "--insecure": None, "--timeout": TIMEOUTS}
VARS = {"--var": ["a=1", "tags=[[x]]", "novalue", "=", "tags=" + "[" * 600, "x={{ 1 }}"],
        "--var-file": FILES}
PLANNING = {**VARS, "-f": FILES, "--target": NAMES, "--replace": NAMES, "--no-prune": None,
            "--restart": ["auto", "never", "ask", "sometimes"], "--json": None, **CONNECT}
COMMANDS: dict[str, dict[str, list[str] | None]] = {
    "validate": {"-f": FILES, **VARS},
    "schema": {"--check": None, "--file": OUT},
    "plan": {**PLANNING, "-o": OUT, "--detailed-exitcode": None, "--destroy": None,
             "--refresh-only": None},
    "apply": {**PLANNING, "--auto-approve": None, "--parallelism": ["0", "1", "65", "x"],
              "--node-limit": ["0", "2"], "--lock-timeout": ["-1", "nan", "1"]},
    "destroy": {"-f": FILES, "--auto-approve": None, "--target": NAMES, **CONNECT},
    "drift": {"-f": FILES, "--json": None, "--metrics": OUT, **CONNECT},
    "list": {"--node": NAMES, "--running": None, "--stack": NAMES, "--all": None,
             "--yaml": None, **CONNECT},
    "doctor": {"-f": FILES, **CONNECT},
    "force-unlock": {"-f": FILES, "--stack": NAMES},
    "sim status": {"missing-dir": None, "/proc": None},
    "show": {"plan.json": None, "fifo": None, "/dev/zero": None, "quick.yaml": None},
    "no-such-command": {},
}
# Not -v: it prints the traceback on purpose, for whoever debugs.
GLOBALS = [["--no-color"], ["--json"], ["-q"], ["--allow-outside-paths"],
           ["--cluster", "nope"], ["--request-log", "/dev/full"]]
JUNK = ["--", "-", "--no-such-option", "é", "-f", "--timeout", "plan.json"]


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """Global flags, a command, then options with good or hostile values (and some junk)."""
    argv = [token for flags in draw(st.lists(st.sampled_from(GLOBALS), max_size=2))
            for token in flags]
    command = draw(st.sampled_from(sorted(COMMANDS)))
    argv += command.split()
    if command in ("apply", "destroy") and draw(st.integers(0, 4)):
        argv.append("--auto-approve")  # else most runs stop at "no terminal to ask on"
    options = COMMANDS[command]
    for _ in range(draw(st.integers(0, 5))):
        if not options or draw(st.integers(0, 9)) == 0:
            argv.append(draw(st.sampled_from(JUNK)))
            continue
        flag = draw(st.sampled_from(sorted(options)))
        values = options[flag]
        argv += [flag] if values is None else [flag, draw(st.sampled_from(values))]
    return argv


@pytest.fixture
def cli_work(clean_env: Path) -> Path:
    import os
    import shutil

    shutil.copy(ROOT / "examples" / "quickstart.yaml", clean_env / "quick.yaml")
    shutil.copy(ROOT / "examples" / "quickstart.yaml", clean_env / "pxrun.yaml")
    (clean_env / "bad.yaml").write_text("version: 1\nstack: s\ncontainers: {web: {cores: x}}\n")
    (clean_env / "plan.json").write_text('{"format_version": "1.0"}')
    (clean_env / "outside").mkdir()
    (clean_env / "outside" / "pxrun.yaml").write_text(
        "version: 1\nstack: s\ncontainers:\n  web:\n    template: debian-12\n"
        "    provision: {files: [{dest: /x, src: ../quick.yaml}]}\n")
    os.mkfifo(clean_env / "fifo")
    return clean_env


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(argv)
    _, err = capsys.readouterr()
    return status, err


@settings(FUZZ, max_examples=100)
@given(argv=command_lines())
def test_random_command_lines_exit_with_a_meaning(argv: list[str], cli_work: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _run(argv, capsys)
    assert status in (0, 1, 2, 3), (argv, status, err)
    assert not RAW_PYTHON.search(err), (argv, err)
    if "Usage:" in err or "No such option" in err or "Invalid value" in err:
        assert status == 3, (argv, status, err)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)
PLANS = JSON | st.fixed_dictionaries(
    {"format_version": st.sampled_from(["1.0", "1", 1, "2.0"])},
    optional={"mode": JSON | st.sampled_from(["normal", "destroy"]), "stack": JSON,
              "spec_hash": JSON, "resource_changes": st.lists(
                  st.dictionaries(st.sampled_from(["address", "actions", "vmid", "node",
                                                   "before", "after", "diffs"]), JSON),
                  max_size=2) | JSON, "drift": JSON, "observed_digests": JSON,
              "diagnostics": JSON, "summary": JSON})


@settings(FUZZ, max_examples=50)
@given(plan=PLANS)
def test_random_saved_plans_are_refused_cleanly(plan: Any, cli_work: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (cli_work / "random.json").write_text(json.dumps(plan))
    argv = ["--no-color", "apply", "random.json", "-f", "quick.yaml"]
    status, err = _run(argv, capsys)
    assert status in (1, 3), (plan, status, err)
    assert not RAW_PYTHON.search(err), (plan, err)
