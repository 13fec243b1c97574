"""Every stream pxrun writes, grepped for every secret value (specs/security.md lists them).

One test per channel: human output, `--json` output and events, diagnostics, the saved
plan, the `--sim` request log, progress, and exception messages. Each runs the real CLI
against the simulator with the stack of `conftest.py`, whose secrets come from sops, the
environment, a Jinja filter, a plain-text password field and the token of the environment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pxrun.cli.main import main
from tests.security.conftest import API_KEY, DB_PASSWORD, Stage, clean

pytestmark = pytest.mark.integration


def run(stage: Stage, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The exit status, and stdout then stderr."""
    status = main(["--sim", "--sim-dir", str(stage.simdir), *args])
    out = capsys.readouterr()
    return status, out.out + out.err


def run_json(stage: Stage, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[Any, str]:
    """A `--json` command's document, and everything it wrote."""
    status = main(["--sim", "--sim-dir", str(stage.simdir), "--json", *args])
    out = capsys.readouterr()
    assert status == 0, out
    return json.loads(out.out), out.out + out.err


def test_plan_human_and_json_output(stage: Stage, capsys: pytest.CaptureFixture[str]) -> None:
    status, text = run(stage, "plan", "-f", str(stage.spec), capsys=capsys)
    assert status == 0, text
    assert 'description          = (sensitive)' in text
    clean(text)
    doc, text = run_json(stage, "plan", "-f", str(stage.spec), capsys=capsys)
    params = doc["resource_changes"][0]["operations"][0]["params"]
    # the transformed secret made the whole description a secret of its own
    assert params["description"] == {"parts": [{"ref": "containers.web.description"}]}
    clean(text)


def test_saved_plan_file_and_show(stage: Stage, capsys: pytest.CaptureFixture[str]) -> None:
    planfile = stage.work / "plan.json"
    status, text = run(stage, "plan", "-f", str(stage.spec), "-o", str(planfile), capsys=capsys)
    assert status == 0, text
    clean(planfile.read_text())
    status, text = run(stage, "show", str(planfile), capsys=capsys)
    assert status == 0, text
    clean(text)


def test_apply_progress_events_and_request_log(stage: Stage,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    log = stage.work / "requests.jsonl"
    status, text = run(stage, "--request-log", str(log), "--json", "apply", "--auto-approve",
                       "-f", str(stage.spec), capsys=capsys)
    assert status == 0, text
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert events and any(e.get("event") == "plan" for e in events)
    clean(text)
    sent = log.read_text()
    assert '"description": "***' in sent  # the cluster got the value; the log did not
    clean(sent)
    status, text = run(stage, "--request-log", str(log), "apply", "--auto-approve",
                       "-f", str(stage.spec), capsys=capsys)
    assert status == 0, text
    clean(text + log.read_text())


def test_cluster_holds_the_value_the_plan_referred_to(stage: Stage,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Redaction is for display only: apply sent the real, derived value."""
    planfile = stage.work / "plan.json"
    assert run(stage, "plan", "-f", str(stage.spec), "-o", str(planfile), capsys=capsys)[0] == 0
    assert run(stage, "apply", str(planfile), capsys=capsys)[0] == 0
    from pxrun.sim.runtime import SimRuntime

    with SimRuntime(stage.simdir) as runtime:
        assert runtime.sim is not None
        (ct,) = runtime.sim.containers.values()
        description = ct.config["description"]
    assert f"db={DB_PASSWORD} " in description and f"up={API_KEY.upper()}" in description


def test_drift_list_export_and_doctor(stage: Stage,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Someone pasted the token secret into the container's Notes by hand: pxrun reads it
    back from the cluster (no spec secret, so no compute layer hides it) and every command
    that shows it masks it on its way out."""
    from pxrun.sim.runtime import SimRuntime
    from tests.security.conftest import SECRETS, TOKEN_SECRET
    from tests.sim.conftest import proxmoxer_for

    assert run(stage, "apply", "--auto-approve", "-f", str(stage.spec), capsys=capsys)[0] == 0
    with SimRuntime(stage.simdir) as runtime:
        api = proxmoxer_for(runtime.facts)
        (ct,) = api.cluster.resources.get(type="vm")
        config = api.nodes(ct["node"]).lxc(ct["vmid"]).config
        config.put(description=f"ssh me with {TOKEN_SECRET}\n\n" + config.get()["description"])
    masked = False
    for args in (["drift", "-f", str(stage.spec)], ["drift", "--json", "-f", str(stage.spec)],
                 ["plan", "-f", str(stage.spec)], ["--json", "plan", "-f", str(stage.spec)],
                 ["list"], ["--json", "list"], ["export", str(ct["vmid"])],
                 ["doctor", "-f", str(stage.spec)], ["--json", "doctor", "-f", str(stage.spec)]):
        status, text = run(stage, *args, capsys=capsys)
        assert status in (0, 2), (args, text)
        # export reads no spec: what pxrun wrote into the cluster is the cluster's data;
        # the secrets of that run (the token) are still masked
        clean(text, (TOKEN_SECRET,) if args[0] == "export" else SECRETS)
        masked = masked or "ssh me with ***" in text
    assert masked


def test_diagnostics(stage: Stage, capsys: pytest.CaptureFixture[str]) -> None:
    """A spec problem quoting a value rendered from secrets: located, never shown."""
    stage.spec.write_text(stage.spec.read_text().replace(
        "tags: [web]", 'tags: [web]\n    hostname: "{{ secrets.api | upper }}_x"'))
    status, text = run(stage, "validate", "-f", str(stage.spec), capsys=capsys)
    assert status == 3, text
    assert "pxrun.yaml:" in text and "hostname" in text
    clean(text)
    status, text = run(stage, "--json", "validate", "-f", str(stage.spec), capsys=capsys)
    assert status == 3
    clean(text)


def test_exception_messages_and_tracebacks(stage: Stage, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """An error that quotes a setting holding the token secret (a mangled PROXMOX_HOST),
    with -v's traceback: the message is masked on its way out."""
    from tests.security.conftest import TOKEN_SECRET

    monkeypatch.setenv("PROXMOX_HOST", f"pve.lan/{TOKEN_SECRET}")
    monkeypatch.setenv("PROXMOX_TOKEN_ID", "pxrun@pve!ci")
    for args in (["-v", "plan", "-f", str(stage.spec)], ["--json", "doctor"]):
        status = main(args)
        out = capsys.readouterr()
        assert status == 1, out
        assert "pve.lan/***" in out.err + out.out
        clean(out.out + out.err)


def test_a_secret_written_in_two_pieces_is_still_masked() -> None:
    """The stream wrapper holds back a tail that could begin a secret."""
    import io

    from pxrun.redaction import KnownSecrets, RedactingStream

    inner = io.StringIO()
    stream = RedactingStream(inner, KnownSecrets([DB_PASSWORD]))
    stream.write("before " + DB_PASSWORD[:6])
    stream.write(DB_PASSWORD[6:] + " after\n")
    stream.write("tail " + DB_PASSWORD[:3])
    stream.flush()
    assert inner.getvalue() == f"before *** after\ntail {DB_PASSWORD[:3]}"


def test_saved_plan_never_holds_a_secret_in_an_operation(tmp_path: Path) -> None:
    """The plan file guard: display text is masked, an operation in clear is refused."""
    from pxrun.cli.redact import sealed_plan
    from pxrun.errors import PlanError
    from pxrun.redaction import KnownSecrets

    secrets = KnownSecrets([DB_PASSWORD])
    doc = {"resource_changes": [{"action_reason": f"x {DB_PASSWORD}", "operations": []}]}
    assert sealed_plan(doc, secrets)["resource_changes"][0]["action_reason"] == "x ***"
    doc["resource_changes"][0]["operations"] = [{"op": "config", "set": {"k": DB_PASSWORD}}]
    with pytest.raises(PlanError, match=r"resource_changes\[0\]\.operations\[0\]\.set\.k"):
        sealed_plan(doc, secrets)


@pytest.mark.parametrize("secret", [DB_PASSWORD, 'quo"te\\back', "ünï\ncode-line"])
def test_saved_plan_text_is_sealed_whatever_the_spelling(secret: str) -> None:
    """The plan file's text: searched once; a secret in any JSON spelling is sealed as the
    walk seals it, and a text without one is the plain dump."""
    from pxrun.cli.redact import sealed_plan, sealed_text
    from pxrun.errors import PlanError
    from pxrun.redaction import KnownSecrets
    from pxrun.render.jsonplan import dumps

    secrets = KnownSecrets([secret])
    clean = {"resource_changes": [{"action_reason": "nothing", "operations": []}]}
    assert sealed_text(clean, secrets) == dumps(clean)
    shown = {"resource_changes": [{"action_reason": f"x {secret} y", "operations": []}]}
    assert secret not in sealed_text(shown, secrets)
    assert sealed_text(shown, secrets) == dumps(sealed_plan(shown, secrets))
    sent = {"resource_changes": [{"operations": [{"op": "config", "set": {"k": secret}}]}]}
    with pytest.raises(PlanError, match="it was not saved"):
        sealed_text(sent, secrets)


def test_watch_log_lines_and_http_answers(stage: Stage,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`pxrun watch` logs JSON lines on stdout (through the run's redaction) and serves
    /records, /healthz and /metrics through the same known secrets."""
    from pxrun.cli.cmd_watch import _redacted
    from pxrun.cli.context import Settings
    from pxrun.daytwo.server import WatchEndpoints
    from tests.security.conftest import TOKEN_SECRET

    status, text = run(stage, "watch", "--cycles", "1", "--interval", "1s", "--listen",
                       "127.0.0.1:0", "-f", str(stage.spec), capsys=capsys)
    assert status == 0, text
    assert '"listening"' in text or "listening" in text
    clean(text)
    settings = Settings()
    settings.secrets.update([TOKEN_SECRET, DB_PASSWORD])
    served = _redacted(WatchEndpoints(
        f'pxrun_info{{note="{TOKEN_SECRET}"}} 1\n'.encode,
        lambda: (True, {"last_error": f"failed with {DB_PASSWORD}"}),
        lambda: [{"error": f"token {TOKEN_SECRET}", "quoted": f'"{DB_PASSWORD}"'}]), settings)
    answers = (served.metrics().decode(), json.dumps(served.health()),
               json.dumps(served.records()))
    clean("".join(answers))
    assert served.records() == [{"error": "token ***", "quoted": '"***"'}]
