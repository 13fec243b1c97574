"""`pxrun rollback NAME [SNAPSHOT]` and `pxrun restore NAME`: the way back that the safety
nets (`lifecycle.snapshot`, `lifecycle.backup_before_destroy`) keep open.

Both find the container by its name in the stack (-f SPEC), say exactly what they will do,
ask (unless --auto-approve), and act under the stack lock, as apply does. A rollback
discards everything the container changed since the snapshot; a restore brings back a
deleted container from its newest pxrun backup (or `--backup VOLID`), under its old vmid
when that is free. Either way `pxrun plan` then shows how the container differs from the
spec.

Exit statuses: 0 done (or listed), 1 failed or answered no, 3 usage (no such container,
snapshot or backup).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pxrun.cli.cluster import connection_options, open_client
from pxrun.cli.context import Settings
from pxrun.cli.specload import load_spec, spec_path, var_options
from pxrun.cli.status import ExitStatus

if TYPE_CHECKING:
    from pxrun.connect.client import ProxmoxerClient
    from pxrun.connect.settings import ConnectionFlags
    from pxrun.observe.model import ObservedContainer
    from pxrun.spec.load import LoadedStack

_FILE = click.option("-f", "--file", "path", type=click.Path(path_type=Path), default=None,
                     help="Spec file or folder [default: pxrun.yaml, else the pxrun/ folder].")
_APPROVE = click.option("--auto-approve", is_flag=True, help="Do not ask.")
_LIST = click.option("--list", "list_only", is_flag=True, help="Only list what there is.")


def _when(seconds: int) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S "
                                                                           "UTC")


def _observed(client: ProxmoxerClient, loaded: LoadedStack,
              name: str) -> ObservedContainer | None:
    from pxrun.observe.fetch import observe_cluster

    return observe_cluster(client, loaded.stack, facts=False).containers.get(name)


def _approved(question: str, auto_approve: bool) -> bool:
    from pxrun.cli.prompting import confirm

    if auto_approve:
        return True
    if confirm(question, flag="--auto-approve"):
        return True
    click.echo("Cancelled: nothing was changed.", err=True)
    return False


@click.command("rollback")
@click.argument("name")
@click.argument("snapshot", required=False)
@_FILE
@_APPROVE
@_LIST
@connection_options
@var_options
@click.pass_obj
def rollback_cmd(settings: Settings | None, name: str, snapshot: str | None,
                 path: Path | None, auto_approve: bool, list_only: bool,
                 flags: ConnectionFlags) -> int:
    """Roll container NAME back to a snapshot (default: its newest pxrun-<time> one).

    Everything the container changed since the snapshot is lost; a running container is
    started again afterwards. --list shows its snapshots.
    """
    from pxrun.apply.recover import rollback, snapshots
    from pxrun.apply.stacklock import StackLock
    from pxrun.errors import UsageError

    settings = settings if settings is not None else Settings()
    loaded = load_spec(settings, spec_path(path))
    with open_client(settings, spec_cluster=loaded.stack.cluster, flags=flags) as (client, _):
        ct = _observed(client, loaded, name)
        if ct is None:
            raise UsageError(f"stack {loaded.stack.stack} has no container {name} on the "
                             "cluster", hint="`pxrun list` shows the containers")
        found = snapshots(client, ct.node, ct.vmid)
        if list_only:
            for snap in reversed(found):
                click.echo(f"{snap.name}\t{_when(snap.snaptime)}\t{snap.description}")
            return int(ExitStatus.OK)
        ours = [s for s in found if s.ours]
        pick = next((s for s in found if s.name == snapshot), None) if snapshot else (
            ours[-1] if ours else None)
        if pick is None:
            have = ", ".join(s.name for s in found) or "none"
            raise UsageError(f"{name} has no snapshot {snapshot or 'pxrun-<time>'} "
                             f"(it has: {have})")
        question = (f"Roll {name} (vmid {ct.vmid} on {ct.node}) back to {pick.name}, taken "
                    f"{_when(pick.snaptime)}? Everything it changed since is lost.")
        if not _approved(question, auto_approve):
            return int(ExitStatus.ERROR)
        lock = StackLock(client, loaded.stack.stack)
        lock.acquire()
        try:
            rollback(client, ct.node, ct.vmid, pick.name, start=ct.status == "running")
        finally:
            lock.release()
    click.echo(f"{name} (vmid {ct.vmid} on {ct.node}) is back at snapshot {pick.name}.")
    return int(ExitStatus.OK)


@click.command("restore")
@click.argument("name")
@click.option("--backup", "volid", metavar="VOLID",
              help="The archive to restore [default: the newest pxrun backup of NAME].")
@click.option("--storage", metavar="STORAGE",
              help="Storage for its volumes [default: NAME's storage in the spec].")
@click.option("--force", is_flag=True,
              help="Restore over the container NAME that exists now (it is stopped first; "
                   "its volumes are replaced by the backup's).")
@_FILE
@_APPROVE
@_LIST
@connection_options
@var_options
@click.pass_obj
def restore_cmd(settings: Settings | None, name: str, volid: str | None, storage: str | None,
                force: bool, path: Path | None, auto_approve: bool, list_only: bool,
                flags: ConnectionFlags) -> int:
    """Bring container NAME back from a pxrun backup (lifecycle.backup_before_destroy).

    The container returns stopped, under its old vmid when that is free; `pxrun plan` then
    shows how it differs from the spec. --list shows its backups, newest first.
    """
    from pxrun.apply import recover
    from pxrun.apply.stacklock import StackLock
    from pxrun.errors import UsageError

    settings = settings if settings is not None else Settings()
    loaded = load_spec(settings, spec_path(path))
    stack = loaded.stack.stack
    with open_client(settings, spec_cluster=loaded.stack.cluster, flags=flags) as (client, _):
        found = recover.backups(client, stack, name)
        if list_only:
            for item in found:
                click.echo(f"{item.volid}\t{item.node}\t{_when(item.ctime)}\t{item.size} bytes")
            return int(ExitStatus.OK)
        pick = next((b for b in found if b.volid == volid), None) if volid else (
            found[0] if found else None)
        if pick is None:
            raise UsageError(f"no pxrun backup {volid or ''} of {name} (stack {stack}) on the "
                             "cluster".replace("  ", " "),
                             hint="`pxrun restore NAME --list` shows them")
        ct = _observed(client, loaded, name)
        if ct is not None and not force:
            raise UsageError(f"{name} exists (vmid {ct.vmid} on {ct.node}); restoring over it "
                             "replaces it and its volumes", hint="pass --force to do that")
        spec = loaded.stack.containers.get(name)
        target = storage or (spec.storage if spec is not None else "local-lvm")
        vmid = ct.vmid if ct is not None else recover.free_vmid(client, pick.vmid)
        over = f", over the existing one (vmid {vmid})" if ct is not None else ""
        question = (f"Restore {name} from {pick.volid} ({_when(pick.ctime)}) as vmid {vmid} "
                    f"on {pick.node}, volumes on {target}{over}?")
        if not _approved(question, auto_approve):
            return int(ExitStatus.ERROR)
        lock = StackLock(client, stack)
        lock.acquire()
        try:
            if ct is not None and ct.status == "running":
                client.wait_task(str(client.post(f"nodes/{ct.node}/lxc/{ct.vmid}/status/stop")))
            recover.restore(client, pick, vmid=vmid, storage=target, force=ct is not None)
        finally:
            lock.release()
    click.echo(f"{name} is restored from {pick.volid} as vmid {vmid} on {pick.node} (stopped). "
               "`pxrun plan` shows how it differs from the spec; `pxrun apply` starts it.")
    return int(ExitStatus.OK)
