"""`pxrun plan`: load the spec, observe the cluster, plan, and show or save the plan.

The command is the seam between the layers (DESIGN §2): spec.load -> observe.fetch ->
plan.planner -> render, and only here is anything read from disk, the network or printed.
The JSON plan (`--json`, `-o FILE`) is the same document the human text is rendered from,
so a saved plan shows exactly what was reviewed.

Exit statuses: 0 no changes (or any plan without --detailed-exitcode), 2 changes present
with --detailed-exitcode, 1 the plan has errors (placement, prevent_destroy, a missing
bridge, ...) or the cluster failed, 3 the spec or the command line is invalid.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from pxrun.cli.cluster import connection_options, node_ssh_configured, open_client
from pxrun.cli.context import Settings
from pxrun.cli.images import image_digests, pve9_flags
from pxrun.cli.safetyflags import SafetyFlags, safety_options
from pxrun.cli.specload import load_spec, spec_path, var_options
from pxrun.cli.status import ExitStatus

if TYPE_CHECKING:
    from pxrun.connect.settings import ConnectionFlags
    from pxrun.observe.model import Observed
    from pxrun.plan.model import Mode, RestartPolicy
    from pxrun.plan.options import PlanOptions
    from pxrun.spec.load import LoadedStack
    from pxrun.spec.model import Stack

_COUNTED = re.compile(r"^(?P<base>.+)-\d+$")


@click.command("plan")
@click.option("-f", "--file", "path", type=click.Path(path_type=Path), default=None,
              help="Spec file or folder [default: pxrun.yaml, else the pxrun/ folder].")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Save the plan (JSON) to apply it later with `pxrun apply FILE`.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when the plan has changes, 0 when it has none.")
@click.option("--target", "targets", multiple=True, metavar="NAME",
              help="Plan only this container (and what it depends on); repeatable. "
                   "A counted name like web means all of web-1, web-2, ...")
@click.option("--replace", "replace", multiple=True, metavar="NAME",
              help="Replace this container even though nothing forces it; repeatable.")
@click.option("--destroy", is_flag=True, help="Plan to destroy every container of the stack.")
@click.option("--refresh-only", is_flag=True,
              help="Only report what changed outside pxrun (drift); plan nothing.")
@click.option("--no-prune", is_flag=True,
              help="Keep managed containers that are no longer in the spec.")
@click.option("--reprovision", is_flag=True,
              help="Run every provisioning step again, not only the changed ones.")
@click.option("--keep-tailscale", "keep_tailscale", is_flag=True,
              help="Leave the tailnet nodes of deleted containers on the tailnet.")
@click.option("--restart", type=click.Choice(["auto", "never", "ask"]), default="auto",
              show_default=True,
              help="When a change needs a restart: do it, leave it pending, or ask at apply.")
@safety_options
@connection_options
@var_options
@click.pass_obj
@pve9_flags
def plan_cmd(settings: Settings | None, path: Path | None, out: Path | None,
             detailed_exitcode: bool, targets: tuple[str, ...],
             replace: tuple[str, ...], destroy: bool, refresh_only: bool, no_prune: bool,
             reprovision: bool, keep_tailscale: bool, restart: str,
             flags: ConnectionFlags, safety: SafetyFlags) -> int:
    """Show what apply would change to make the cluster match the spec.

    Reads the live cluster (one request per managed container, a few per node), compares
    it with the spec and prints each container that will be created (+), updated in
    place (~), replaced (-/+ or +/-) or destroyed (-), field by field, with what each
    change costs (# needs restart, # resize, # migrate, # forces replacement), and the
    provisioning steps that run (`~ provision: files[/etc/motd], run[enable nginx]`).
    """
    from pxrun.connect.tailnet import tailnet_key
    from pxrun.errors import UsageError
    from pxrun.observe.fetch import observe_cluster
    from pxrun.plan.planner import plan as make_plan
    from pxrun.render.jsonplan import plan_to_json
    from pxrun.spec.paths import output_problem

    settings = settings if settings is not None else Settings()
    if destroy and refresh_only:
        raise UsageError("--destroy and --refresh-only cannot be combined",
                         hint="--refresh-only only reports drift; it never plans a destroy")
    if out is not None and (problem := output_problem(out)):  # before the work, not after
        raise UsageError(f"cannot write the plan to {out}: {problem}")

    started = time.perf_counter()
    spec = spec_path(path)
    loaded = load_spec(settings, spec)
    spec_dir = spec if spec.is_dir() else spec.parent
    loaded_at = time.perf_counter()
    with open_client(settings, spec_cluster=loaded.stack.cluster, spec_dir=spec_dir,
                     flags=flags) as (client, info):
        observed = observe_cluster(client, loaded.stack, facts=not refresh_only)
        ssh_ready = node_ssh_configured(info)
        digests = image_digests(client, settings, loaded.stack, observed)
    observed_at = time.perf_counter()
    mode = "destroy" if destroy else "refresh-only" if refresh_only else "normal"
    options = plan_options(loaded, observed, spec_dir, targets=targets, replace=replace,
                           mode=mode, no_prune=no_prune, restart=restart,
                           node_ssh_available=ssh_ready, reprovision=reprovision,
                           keep_tailnet=keep_tailscale,
                           tailnet_api=tailnet_key(os.environ, loaded.secrets) is not None,
                           rebalance=settings.rebalance, image_digests=digests,
                           safety=safety)
    doc = plan_to_json(make_plan(loaded.stack, observed, options),
                       spec_path=relative_to_plan(spec, out) if out is not None else None)
    if settings.verbosity > 0:
        click.echo(f"loaded {len(loaded.stack.containers)} containers in "
                   f"{loaded_at - started:.2f} s; observed {len(observed.containers)} of stack "
                   f"{observed.stack} with {observed.requests} API requests in "
                   f"{observed_at - loaded_at:.2f} s; planned in "
                   f"{time.perf_counter() - observed_at:.2f} s", err=True)
    return show_plan(doc, settings, loaded=loaded, out=out, detailed_exitcode=detailed_exitcode)


def plan_options(loaded: LoadedStack, observed: Observed, spec_dir: Path, *,
                 targets: tuple[str, ...] = (), replace: tuple[str, ...] = (),
                 mode: str = "normal", no_prune: bool = False, restart: str = "auto",
                 node_ssh_available: bool = False, reprovision: bool = False,
                 keep_tailnet: bool = False, tailnet_api: bool = False,
                 safety: SafetyFlags | None = None, rebalance: bool = False,
                 image_digests: Mapping[str, str] | None = None) -> PlanOptions:
    """The planner's options from the command line; names are checked (exit 3 on a typo)."""
    from pxrun.errors import UsageError
    from pxrun.plan.options import PlanOptions

    if mode not in ("normal", "destroy", "refresh-only") or restart not in ("auto", "never",
                                                                              "ask"):
        raise UsageError(f"unknown plan mode {mode!r} or restart policy {restart!r}")
    known = set(loaded.stack.containers) | set(observed.containers)
    safety = safety or SafetyFlags()
    sources, errors = file_sources(loaded.stack, spec_dir,
                                   allow_outside=loaded.allow_outside_paths)
    return PlanOptions(
        targets=frozenset(expand_addresses(targets, known, "--target")),
        replace=frozenset(expand_addresses(replace, known, "--replace")),
        mode=cast("Mode", mode), no_prune=no_prune, restart=cast("RestartPolicy", restart),
        node_ssh_available=node_ssh_available, file_sources=sources, file_errors=errors,
        secrets=loaded.secrets, reprovision=reprovision, keep_tailnet=keep_tailnet,
        tailnet_api=tailnet_api, discard_data=safety.discard_data, snapshot=safety.snapshot,
        rollback_on_failure=safety.rollback_on_failure, rebalance=rebalance,
        image_digests=dict(image_digests or {}))


def relative_to_plan(spec: Path, planfile: Path) -> str:
    """Where the spec is, seen from the saved plan's folder (posix, for any checkout)."""
    rel = os.path.relpath(spec.resolve(), planfile.resolve().parent)
    return Path(rel).as_posix()


def expand_addresses(names: tuple[str, ...], known: set[str], flag: str) -> list[str]:
    """Container names for `--target`/`--replace`: a counted base name (`web`) stands for
    all its replicas. An unknown name is a usage error, with the closest known name."""
    from pxrun.errors import UsageError
    from pxrun.spec.graph import did_you_mean

    out: list[str] = []
    for name in names:
        if name in known:
            out.append(name)
            continue
        group = sorted(k for k in known if (m := _COUNTED.match(k)) and m["base"] == name)
        if not group:
            raise UsageError(f"{flag} {name}: no container of that name in the spec or "
                             f"on the cluster{did_you_mean(name, known)}")
        out.extend(group)
    return out


def file_sources(stack: Stack, spec_dir: Path, *, allow_outside: bool = False,
                 ) -> tuple[dict[str, bytes], dict[str, str]]:
    """The local files provisioning copies or renders (path relative to the spec's folder
    -> bytes), and the missing ones (path -> why): the plan fingerprints what they hold, so
    an edited file shows as its step, and a missing one is a plan error for its step.
    Paths must stay inside the spec's folder (as the loader checked); one that exists but
    cannot be read (a device, /proc/self/mem, too large) is a spec error."""
    from pxrun.errors import Diagnostic, SpecError
    from pxrun.spec.paths import LocalFileError, provision_files, read_named

    sources: dict[str, bytes] = {}
    missing: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for container, _, name in provision_files(stack):
        if name in sources or name in missing:
            continue
        if not (spec_dir / name).exists():
            missing[name] = f"not found in the spec's folder {spec_dir}"
            continue
        try:
            sources[name] = read_named(spec_dir, name, allow_outside=allow_outside)
        except LocalFileError as exc:
            problems.append(Diagnostic(str(spec_dir / name), 0, 0, f"{container}: {exc}"))
    if problems:
        raise SpecError(problems)
    return sources, missing


def show_plan(doc: dict[str, Any], settings: Settings, *, loaded: LoadedStack | None = None,
              out: Path | None = None, detailed_exitcode: bool = False) -> int:
    """Print (and save) a JSON plan document; return the exit status it calls for."""
    from pxrun.render import wording
    from pxrun.render.human import render_diagnostics, render_plan, render_summary
    from pxrun.render.jsonplan import dumps

    # secrets are masked on the way out (`main` wraps stdout and stderr: pxrun.redaction)
    locate = loaded.where if loaded is not None else None
    print_diagnostics(render_diagnostics(doc, markup=_colour(settings, sys.stderr),
                                         locate=locate), settings)
    if settings.json:
        click.echo(dumps(doc), nl=False)
    elif settings.quiet:
        _echo(render_summary(doc, markup=_colour(settings, sys.stdout)), settings)
    else:
        _echo(render_plan(doc, markup=_colour(settings, sys.stdout)), settings, nl=False)
    if doc.get("errored"):
        return int(ExitStatus.ERROR)
    if out is not None:
        from pxrun.cli.redact import sealed_text

        _write_atomically(out, sealed_text(doc, settings.secrets))
        if not settings.quiet:
            click.echo(wording.SAVED.format(path=out), err=settings.json)
    if detailed_exitcode and doc.get("changes_present"):
        return int(ExitStatus.CHANGES)
    return int(ExitStatus.OK)


def print_diagnostics(lines: list[str], settings: Settings) -> None:
    """The plan's errors and warnings on stderr, each line once per run (a warning the
    connection or the lock already printed is not repeated)."""
    for line in lines:
        if line in settings.warned:
            continue
        settings.warned.add(line)
        _echo(line, settings, err=True)


def _colour(settings: Settings, stream: Any) -> bool:
    """Colour only on a terminal, and never with --no-color or NO_COLOR."""
    if not settings.color or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _echo(text: str, settings: Settings, *, err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    if _colour(settings, stream):
        from pxrun.cli.output import make_console

        make_console(settings, stderr=err).print(text, end="\n" if nl else "")
    else:
        click.echo(text, err=err, nl=nl)


def _write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a plan."""
    from pxrun.errors import UsageError
    from pxrun.spec.paths import output_problem

    problem = output_problem(path)
    if problem:
        raise UsageError(f"cannot write the plan to {path}: {problem}")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write the plan to {path}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
