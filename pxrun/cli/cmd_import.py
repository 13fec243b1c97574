"""`pxrun import VMID...` adopts existing containers; `pxrun export VMID...` only writes.

Both read the containers and write their spec: sparse (`observe.export.spec_entry`: only
what differs from what a fresh container would get), slot maps as in any spec, the
template when a pxrun marker recorded it and otherwise a comment saying it is unknown.
What Proxmox cannot tell back (template, root password, ssh keys) is listed under
`lifecycle.create_only`, so filling it in later never replaces or re-provisions anything.

import then goes through the planner and the executor like every by-hand command: under
the stack lock, the containers are observed as strays to adopt, the plan must hold nothing
but their marker and tag (a plan that would change anything else is refused before any
write: the spec we wrote would not mean the container), and apply writes them. So the next
plan of the written file is empty. Without -o, the spec goes to stdout and the plan and
progress to stderr (`pxrun import 150 > legacy.yaml`).

`export` (pxrun 0.1's `save-config`) writes the same spec and changes nothing.
"""

from __future__ import annotations

import contextlib
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pxrun.cli.cluster import connection_options
from pxrun.cli.context import Settings
from pxrun.cli.status import ExitStatus

if TYPE_CHECKING:
    from pxrun.cli.specwrite import Entry
    from pxrun.connect.settings import ConnectionFlags
    from pxrun.observe.export import Found
    from pxrun.plan.model import Plan

DEFAULT_STACK = "adhoc"
CREATE_ONLY = ("password", "ssh_keys")
_UNKNOWN_TEMPLATE = (
    "template: unknown. Proxmox does not record the template a container was made from;",
    "set the one to re-create {name} from (e.g. debian-12). Create-only: never replaces it.",
)


@click.command("export")
@click.argument("vmids", nargs=-1, required=True, type=click.IntRange(1), metavar="VMID...")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the spec to FILE [default: stdout].")
@click.option("--stack", default=None, metavar="NAME",
              help="Stack name in the file [default: the stack that manages the container, "
                   f"else {DEFAULT_STACK}].")
@connection_options
@click.pass_obj
def export_cmd(settings: Settings | None, /, vmids: tuple[int, ...], output: Path | None,
               stack: str | None, flags: ConnectionFlags) -> int:
    """Write the spec of existing containers, changing nothing (pxrun 0.1: save-config).

    Unlike `pxrun import`, the containers are not adopted: no tag, no marker.
    """
    from pxrun.cli.cluster import open_client
    from pxrun.errors import UsageError
    from pxrun.observe.export import read_guests

    settings = settings if settings is not None else Settings()
    if output is not None and not output.parent.is_dir():  # before the work, not after
        raise UsageError(f"cannot write {output}: its folder {output.parent} does not exist")
    with open_client(settings, flags=flags) as (client, _):
        found = read_guests(client, list(vmids))
    owners = {f.marker.stack for f in found if f.marker is not None}
    stack = stack or (owners.pop() if len(owners) == 1 else DEFAULT_STACK)
    entries = spec_entries(found, stack, taken={})
    text = _file(stack, entries, "export", vmids)
    if output is None:
        click.echo(text, nl=False)
    else:
        _write(output, text)
        if not settings.quiet:
            click.echo(f"wrote {output} ({_count(entries)})", err=True)
    return int(ExitStatus.OK)


@click.command("import")
@click.argument("vmids", nargs=-1, required=True, type=click.IntRange(1), metavar="VMID...")
@click.option("--stack", default=DEFAULT_STACK, show_default=True, metavar="NAME",
              help="Stack the containers join.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the spec to FILE, a new file [default: stdout].")
@click.option("--lock-timeout", type=float, default=0.0, metavar="SECONDS",
              help="Wait this long for another apply of the stack to finish.")
@connection_options
@click.pass_obj
def import_cmd(settings: Settings | None, /, vmids: tuple[int, ...], stack: str,
               output: Path | None, lock_timeout: float, flags: ConnectionFlags) -> int:
    """Adopt existing containers into a stack, and write their spec.

    The containers get the stack's tag and pxrun's marker (nothing else changes), so the
    next `pxrun plan` of the written spec is empty. Template, root password and ssh keys
    cannot be read back: they are create-only in the spec.
    """
    from pxrun.cli.applyflow import locked_apply
    from pxrun.cli.cmd_apply import apply_session, build_apply_options
    from pxrun.errors import UsageError
    from pxrun.observe.export import read_guests
    from pxrun.observe.fetch import observe_cluster
    from pxrun.spec.paths import output_problem

    settings = settings if settings is not None else Settings()
    if not re.fullmatch(r"[a-z0-9_-]+", stack):
        raise UsageError(f"--stack {stack}: a stack name is lowercase letters, digits, - and _")
    if output is not None and (output.exists() or output.is_symlink()):
        raise UsageError(f"{output} exists; pxrun import writes a new file",
                         hint="choose another -o FILE, or leave -o out to print the spec")
    if output is not None and (problem := output_problem(output)):
        raise UsageError(f"cannot write {output}: {problem}")
    if len(set(vmids)) != len(vmids):
        raise UsageError("a VMID is given twice")
    with _stdout_to_stderr(output is None), apply_session(
            settings, build_apply_options(), flags=flags, interactive=False,
            ) as (client, options, hook, _):
        found = read_guests(client, list(vmids))
        refuse_foreign(found, stack)
        held = observe_cluster(client, stack, facts=False).containers
        entries = spec_entries(found, stack, taken={c.vmid: n for n, c in held.items()})
        adopt = {f.guest.vmid: name for f, name in zip(found, entries, strict=True)}
        text = _file(stack, entries, "import", vmids)
        approved: list[Plan] = []

        def verify(plan: Plan) -> bool:
            approved.append(plan)
            return _only_ownership(plan)

        with _spec_file(output, text) as spec:
            status = locked_apply(
                client, settings, _load(settings, spec), None, hook, options, mode="normal",
                targets=tuple(adopt.values()), replace=(), no_prune=True, restart="never",
                auto_approve=False, lock_timeout=lock_timeout, spec_dir=spec.parent,
                confirm=verify, adopt=adopt)
            if status != ExitStatus.OK and not approved and output is not None:
                output.unlink(missing_ok=True)  # refused before any write: leave no file
    if status == ExitStatus.OK:
        _report(settings, text, output, stack, entries,
                others=sorted(set(held) - set(adopt.values())))
    return status


def refuse_foreign(found: list[Found], stack: str) -> None:
    """A container another stack owns is not taken over by import."""
    from pxrun.errors import UsageError
    from pxrun.pve.marker import stack_tag

    for item in found:
        owner = item.marker.stack if item.marker is not None else item.guest.stack
        if owner is not None and owner != stack:
            how = f"as {item.marker.name}" if item.marker is not None else "by its tag"
            raise UsageError(
                f"container {item.guest.vmid} belongs to stack {owner} ({how}); pxrun import "
                "does not move containers between stacks",
                hint=f"`pxrun export {item.guest.vmid}` writes its spec without adopting it; "
                     f"or remove the tag {stack_tag(owner)} and its marker first")


def spec_entries(found: list[Found], stack: str, *, taken: dict[int, str]) -> dict[str, Entry]:
    """Each container's entry under a name: its marker's (when of `stack`), else its
    hostname's first label; `-<vmid>` added where that name is taken already."""
    from pxrun.cli.specwrite import Entry
    from pxrun.observe.export import spec_entry
    from pxrun.spec.legacy import name_from_hostname
    from pxrun.spec.model import Container

    used = {name for vmid, name in taken.items()}
    out: dict[str, Entry] = {}
    for item in found:
        vmid = item.guest.vmid
        own = item.marker.name if item.marker is not None and item.marker.stack == stack \
            else None
        name = own or name_from_hostname(item.container.hostname) or f"ct{vmid}"
        if (name in used and taken.get(vmid) != name) or name in out:
            name = f"{name[:50]}-{vmid}"
        used.add(name)
        data = spec_entry(item.container, name)
        create_only = list(CREATE_ONLY)
        comments: tuple[str, ...] = ()
        if item.template is not None:
            data["template"] = item.template
        else:
            create_only.insert(0, "template")
            comments = tuple(line.format(name=name) for line in _UNKNOWN_TEMPLATE)
        data["lifecycle"] = {"create_only": create_only}
        order = list(Container.model_fields)
        out[name] = Entry(dict(sorted(data.items(), key=lambda kv: order.index(kv[0]))),
                          comments)
    return out


def _file(stack: str, entries: dict[str, Entry], verb: str, vmids: tuple[int, ...]) -> str:
    from pxrun import __version__
    from pxrun.cli.specwrite import stack_file

    header = [f"Written by `pxrun {verb} {' '.join(map(str, vmids))}` (pxrun {__version__}).",
              "Only what differs from a new container's defaults is spelled out. What Proxmox",
              "cannot tell back (template, root password, ssh keys) is create-only: used when",
              "a container is created again, never to change or replace one."]
    return stack_file(stack, entries, header)


@contextlib.contextmanager
def _spec_file(output: Path | None, text: str) -> Iterator[Path]:
    """The spec as a file the loader reads: `output` itself, or a temporary file."""
    if output is not None:
        _write(output, text)
        try:
            yield output
        except BaseException:
            output.unlink(missing_ok=True)
            raise
        return
    with tempfile.TemporaryDirectory(prefix="pxrun-import-") as tmp:
        path = Path(tmp) / "import.yaml"
        path.write_text(text, encoding="utf-8")
        yield path


def _write(path: Path, text: str) -> None:
    from pxrun.errors import UsageError

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _stdout_to_stderr(active: bool) -> Iterator[None]:
    """The plan and progress on stderr while stdout is kept for the spec."""
    if not active:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _load(settings: Settings, spec: Path) -> Any:
    from pxrun.cli.specload import load_spec

    return load_spec(settings, spec)


def _only_ownership(plan: Plan) -> bool:
    """The adoption plan may write markers and tags, nothing else: anything more means the
    spec we wrote does not say what the container is (refused before any write)."""
    from pxrun.errors import PlanError
    from pxrun.plan.identity import MARKER_PATH, TAG_PATH

    other = [f"{c.address}: {d.path}" for c in plan.changes if c.operations
             for d in c.diffs if d.path not in (MARKER_PATH, TAG_PATH)]
    other += [f"{c.address}: {c.action.value}" for c in plan.changes
              if c.operations and not c.diffs]
    if other:
        raise PlanError("the written spec would change the containers, so nothing was "
                        "adopted: " + "; ".join(other),
                        hint="please report this as a pxrun bug, with `pxrun export VMID`")
    return True


def _report(settings: Settings, text: str, output: Path | None, stack: str,
            entries: dict[str, Entry], others: list[str]) -> None:
    from pxrun.cli.output import warn

    if output is None:
        click.echo(text, nl=False)
    elif not settings.quiet:
        click.echo(f"wrote {output} ({_count(entries)} of stack {stack})", err=True)
    if others:
        where = output or "the spec printed above"
        warn(settings, f"stack {stack} also manages {', '.join(others)}: {where} holds only "
                       "the imported containers; add them to that stack's spec, or an apply "
                       "of either spec alone prunes the containers the other holds")


def _count(entries: dict[str, Any]) -> str:
    return f"{len(entries)} container{'s' if len(entries) != 1 else ''}"
