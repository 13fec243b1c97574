"""Pure parts of apply: DAG order, limits, stale-plan reasons, ownership, progress output."""

from __future__ import annotations

import io
import json
import threading

import pytest
from rich.console import Console

from pxrun.apply.engine import dependencies
from pxrun.apply.limits import Limiter, Limits, storage_key
from pxrun.apply.ownership import own_params, pct_set_args
from pxrun.apply.secrets import SecretMap, resolve
from pxrun.apply.stale import stale_reasons
from pxrun.apply.summary import ApplySummary, ChangeResult
from pxrun.cli.progress import JsonProgress, LiveProgress, PlainProgress, summary_table
from pxrun.errors import ApplyError
from pxrun.plan.model import (
    Action,
    ConfigUpdate,
    CreateContainer,
    DeleteContainer,
    Plan,
    ResourceChange,
    SecretRef,
    SecretText,
)
from pxrun.pve.marker import Marker, split_description


def _create(name: str, deps: tuple[str, ...] = ()) -> ResourceChange:
    op = CreateContainer(node="pve1", vmid=None, template="local:vztmpl/x.tar.zst",
                         storage="local-lvm", marker_template="x")
    return ResourceChange(address=name, action=Action.CREATE, operations=(op,),
                          depends_on=deps)


def _delete(name: str, deps: tuple[str, ...] = ()) -> ResourceChange:
    op = DeleteContainer(node="pve1", vmid=100, stop_first=True)
    return ResourceChange(address=name, action=Action.DELETE, operations=(op,),
                          depends_on=deps)


def test_dependencies_run_first_and_are_destroyed_last() -> None:
    deps = dependencies([_create("db"), _create("web", ("db",))])
    assert deps == {"db": set(), "web": {"db"}}
    deps = dependencies([_delete("db"), _delete("web", ("db",))])
    assert deps == {"db": {"web"}, "web": set()}  # web (the dependent) is deleted first
    # A dependency outside the plan (a no-op) or across create/delete is no edge.
    assert dependencies([_create("web", ("db",))]) == {"web": set()}
    assert dependencies([_delete("db"), _create("web", ("db",))]) == {"db": set(),
                                                                       "web": set()}


def test_limiter_takes_every_key_at_once_and_waits_for_a_slot() -> None:
    limiter = Limiter(Limits(node=1, storage=2))
    assert limiter.acquire(["node:a", "storage:a/x"])
    cancelled = threading.Event()
    cancelled.set()
    assert not limiter.acquire(["node:a"], cancelled)  # full: gives up when cancelled
    assert limiter.acquire(["node:b", "storage:a/x"])  # storage has two slots
    assert limiter.busy() == {"node:a": 1, "node:b": 1, "storage:a/x": 2}
    limiter.release(["node:a", "storage:a/x"])
    assert limiter.acquire(["node:a"], cancelled)
    assert storage_key("pve1", "nfs", True) == "storage:nfs"
    assert storage_key("pve1", "local-lvm", False) == "storage:pve1/local-lvm"


def test_stale_reasons_name_every_change() -> None:
    saved = Plan(stack="s", spec_hash="h1", observed_digests={"a": "1", "b": "2"})
    assert stale_reasons(saved, {"a": "1", "b": "2"}, "h1") == []
    reasons = stale_reasons(saved, {"a": "9", "c": "3"}, "h2", "s")
    assert reasons == ["the spec changed since the plan was made",
                       "a: its config changed since the plan was made",
                       "b: the container is gone or unreadable now",
                       "c: a container appeared since the plan was made"]


def test_ownership_survives_tag_and_description_writes() -> None:
    marker = Marker(stack="s", name="web", fingerprint="f")
    params, delete = own_params({"memory": "512"}, ("tags", "description", "swap"),
                                stack="s", marker=marker)
    assert delete == ("swap",)
    assert params["tags"] == "pxrun-s"
    assert split_description(params["description"]) == ("", marker)
    params, _ = own_params({"tags": "b;a"}, (), stack="s", marker=None)
    assert params == {"tags": "a;b;pxrun-s"}


def test_pct_set_args() -> None:
    assert pct_set_args(101, {"features": "keyctl=1"}, ("dev0",)) == [
        "set", "101", "--features", "keyctl=1", "--delete", "dev0"]


def test_secret_references_resolve_at_the_call() -> None:
    value = SecretText(parts=("TOKEN=", SecretRef(ref="secrets.token"), "\0A=", SecretRef(
        ref="env.A")))
    source = SecretMap({"secrets.token": "s3cr3t", "env.A": "from-env"})
    assert resolve(value, source) == "TOKEN=s3cr3t\0A=from-env"
    assert resolve("plain", None) == "plain"
    with pytest.raises(ApplyError, match="no secret source"):
        resolve(value, None)
    with pytest.raises(ApplyError, match=r"secrets\.token, which the spec does not provide"):
        resolve(value, SecretMap({"env.A": "x"}))


RESULTS = ApplySummary(results=(
    ChangeResult(address="web", action="create", outcome="done", vmid=101, node="pve1",
                 ip="10.0.0.5", steps_done=("create", "start")),
    ChangeResult(address="db", action="update", outcome="failed", vmid=102, node="pve2",
                 error="start: task vzstart 102 on pve2 failed: boom", hint="fix it",
                 log_tail=("TASK ERROR: boom",), tainted=True),
    ChangeResult(address="app", action="create", outcome="skipped",
                 error="not started: db did not complete"),
), seconds=1.5)


def test_plain_and_json_progress_lines() -> None:
    out = io.StringIO()
    plain = PlainProgress(out)
    plain.step_started("web", "create", "on pve1")
    plain.warning("web", "something")
    plain.change_finished(RESULTS.results[1])
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("web: create on pve1 ...")
    assert lines[1].endswith("web: warning: something")
    assert "db: failed: start: task vzstart" in lines[2] and "task log: TASK ERROR" in lines[3]
    assert plain.ask_restart("web", ["features"]) is False  # not a terminal: policy never

    out = io.StringIO()
    events = JsonProgress(out)
    events.step_started("web", "create")
    events.apply_finished(RESULTS)
    first, last = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["event"] == "step_started" and first["address"] == "web"
    assert last["event"] == "apply_finished" and last["counts"]["failed"] == 1
    assert last["results"][0]["ip"] == "10.0.0.5"


def test_live_view_and_summary_table_render() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, highlight=False)
    live = LiveProgress(console)
    live.apply_started([_create("web")])
    live.step_started("web", "create", "on pve1")
    live.task_started("web", "create", "UPID:pve1:0:0:0:vzcreate:101:root@pam:")
    live.change_finished(RESULTS.results[0])
    live.apply_finished(RESULTS)
    summary_table(RESULTS, console)
    text = buffer.getvalue()
    assert "10.0.0.5" in text and "tainted" in text and "TASK ERROR: boom" in text
    assert "1 done, 1 failed, 1 skipped" in text


def test_config_update_is_never_empty() -> None:
    assert ConfigUpdate(set={"memory": "512"}).set  # the plan never makes an empty one


def test_timeout_flag_takes_kinds_and_the_request_timeout() -> None:
    import pytest

    from pxrun.cli.cmd_apply import _split_timeouts
    from pxrun.errors import UsageError

    assert _split_timeouts(("create=300", "ip=5", "20")) == (20.0, {"create": 300.0, "ip": 5.0})
    with pytest.raises(UsageError, match="unknown kind 'boot'"):
        _split_timeouts(("boot=1",))
    with pytest.raises(UsageError, match="KIND=SECONDS"):
        _split_timeouts(("create=soon",))
