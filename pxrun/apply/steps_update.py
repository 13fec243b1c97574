"""Update in place: config PUTs with the observed digest, mounts, resize, move, migrate, pool.

Config writes follow reference A3.1: only the changed keys plus `delete`, never an empty PUT
(peers.md #9), the observed digest with the first write so Proxmox itself refuses a change
made against a config someone else changed meanwhile. A `got timeout` on the config lock
happens before Proxmox writes anything, so such a PUT is retried; after a lost connection a
digest mismatch is checked against what we sent (our own write arriving twice).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from pxrun.apply.ownership import existing_marker, marker_for, own_params
from pxrun.apply.secrets import resolve, resolve_all
from pxrun.apply.steps_create import set_on_node
from pxrun.apply.steps_pve9 import await_ha
from pxrun.errors import ApiError, DigestMismatchError, NotFoundError
from pxrun.pve.marker import Marker, split_description
from pxrun.pve.propstr import format_for_key, holds, parse_propstr
from pxrun.pve.values import parse_size

if TYPE_CHECKING:
    from pxrun.apply.context import Run
    from pxrun.plan.model import (
        AttachMount,
        ConfigUpdate,
        DetachMount,
        Migrate,
        MoveVolume,
        ResizeVolume,
        SetPool,
    )


def put_config(run: Run, params: dict[str, str], delete: tuple[str, ...] = ()) -> None:
    """One config PUT (digest on the run's first write). Raises on an empty write."""
    if not params and not delete:
        return  # nothing to send: an empty PUT fails with "no options specified"
    body: dict[str, Any] = dict(params)
    if delete:
        body["delete"] = ",".join(delete)
    if run.config_rewritten:
        run.digest = _read_digest(run)
        run.config_rewritten = False
    if run.digest:
        body["digest"] = run.digest

    def ours(exc: ApiError) -> bool:
        return isinstance(exc, DigestMismatchError) and _has_values(run, params, delete)

    run.call("put", run.path("config"), maybe_done=ours,
             verify=lambda: _has_values(run, params, delete), **body)
    run.digest = None  # later writes follow our own; the digest no longer matches


def _read_digest(run: Run) -> str | None:
    """The config's digest now (after one of our own operations rewrote it)."""
    config = run.client.get(run.path("config"))
    digest = config.get("digest") if isinstance(config, dict) else None
    return str(digest) if digest else None


def _has_values(run: Run, params: dict[str, str], delete: tuple[str, ...]) -> bool:
    """Whether the config (with pending) already holds what we meant to write: after a
    lost answer, our own write found there must not be sent again (a mount point would be
    allocated twice) nor fail on the digest it changed."""
    config = run.client.get(run.path("config"))
    if not isinstance(config, dict):
        return False
    same = all(k in config and holds(k, v, str(config[k])) for k, v in params.items())
    return same and not any(k in config for k in delete)


def current_marker(run: Run) -> Marker:
    """The marker on the container now (kept keys: fingerprint, template, extras)."""
    config = run.client.get(run.path("config"))
    found = existing_marker(config) if isinstance(config, dict) else None
    return found or marker_for(run.shared.stack, run.address)


def config_update(run: Run, op: ConfigUpdate) -> None:
    """The config write, by the route the plan chose; secret values are filled in only
    for the call itself."""
    if op.route == "node":
        set_on_node(run, op.set, op.delete)
    elif op.set or op.delete:
        marker = current_marker(run) if ("description" in op.set or
                                         "description" in op.delete) else None
        keys = ", ".join(sorted([*op.set, *(f"-{k}" for k in op.delete)]))
        with run.step("config", run.node_keys(), detail=keys):
            params, delete = own_params(resolve_all(op.set, run.shared.options.secrets),
                                        op.delete, stack=run.shared.stack, marker=marker)
            put_config(run, params, delete)
    run.pending.extend(k for k in op.pending if k not in run.pending)


def attach_mount(run: Run, op: AttachMount) -> None:
    if op.route == "node":
        set_on_node(run, {op.slot: op.value})
        return
    storages = (op.storage,) if op.storage else ()
    with run.step("attach", run.node_keys(*storages), detail=op.slot):
        put_config(run, {op.slot: resolve(op.value, run.shared.options.secrets)})


def detach_mount(run: Run, op: DetachMount) -> None:
    with run.step("detach", run.node_keys(), detail=op.slot):
        put_config(run, {}, (op.slot,))
    if op.keep_volume or not op.volid:
        if op.volid:
            run.warn(f"{op.slot} detached; its volume {op.volid} is kept as an unused disk")
        return
    config = run.client.get(run.path("config"))
    unused = [k for k, v in (config.items() if isinstance(config, dict) else [])
              if k.startswith("unused") and str(v).split(",", 1)[0] == op.volid]
    if not unused:
        run.pending.append(op.slot)  # still pending on a running container
        run.warn(f"{op.slot} is detached at the next restart; remove {op.volid} after it")
        return
    with run.step("remove-volume", run.node_keys(), detail=op.volid):
        put_config(run, {}, tuple(unused))


def resize(run: Run, op: ResizeVolume) -> None:
    with run.step("resize", run.node_keys(), detail=f"{op.disk} to {op.size_gib}G"):
        run.task("put", run.path("resize"), kind="resize", step="resize", task_type="resize",
                 verify=lambda: _volume_gib(run, op.disk) >= op.size_gib,
                 maybe_done=lambda e: "already at specified size" in e.reason,
                 disk=op.disk, size=f"{op.size_gib}G")
    run.config_rewritten = True


def move_volume(run: Run, op: MoveVolume) -> None:
    with run.step("move", run.node_keys(op.storage), detail=f"{op.volume} to {op.storage}"):
        run.task("post", run.path("move_volume"), kind="move", step="move",
                 task_type="move_volume",
                 verify=lambda: _volume_part(run, op.volume, "volume").startswith(
                     f"{op.storage}:"),
                 volume=op.volume, storage=op.storage)
    run.config_rewritten = True
    run.warn(f"{op.volume} moved to {op.storage}; the old copy is kept as an unused disk")


def migrate(run: Run, op: Migrate) -> None:
    _, vmid = run.where()
    keys = [*run.node_keys(node=op.source), *run.node_keys(node=op.target)]
    with run.step("migrate", keys, detail=f"{op.source} -> {op.target}"):
        params: dict[str, Any] = {"target": op.target}
        if op.restart:
            params["restart"] = 1
        result = run.task("post", f"nodes/{op.source}/lxc/{vmid}/migrate", kind="migrate",
                          step="migrate", task_type="vzmigrate", node=op.source,
                          verify=lambda: _is_on(run, op.target), **params)
        await_ha(run, result, node=op.target)  # HA-managed: the HA manager migrates it
    run.node = op.target
    run.config_rewritten = True  # moved, and a restart applied what was pending


def _volume_part(run: Run, key: str, part: str) -> str:
    """One part of a volume's property string in the config now (`size`, `volume`)."""
    config = run.client.get(run.path("config"))
    fmt = format_for_key(key)
    text = config.get(key) if isinstance(config, dict) else None
    if fmt is None or not isinstance(text, str):
        return ""
    return parse_propstr(text, fmt).get(part, "")


def _volume_gib(run: Run, key: str) -> float:
    size = _volume_part(run, key, "size")
    return parse_size(size) / 1024**3 if size else 0.0


def _is_on(run: Run, node: str) -> bool:
    """Whether the container lives on `node` now, unlocked (a migration there finished)."""
    _, vmid = run.where()
    try:
        config = run.client.get(f"nodes/{node}/lxc/{vmid}/config")
    except NotFoundError:
        return False
    return isinstance(config, dict) and not config.get("lock")


def set_pool(run: Run, op: SetPool) -> None:
    _, vmid = run.where()
    with run.step("pool", detail=f"{op.before or '-'} -> {op.after or '-'}"):
        if op.after:
            extra: dict[str, Any] = {"allow-move": 1} if op.before else {}
            run.call("put", "pools", poolid=op.after, vms=str(vmid), **extra)
        elif op.before:
            run.call("put", "pools", poolid=op.before, vms=str(vmid), delete=1,
                     maybe_done=lambda e: isinstance(e, NotFoundError))


def mark_tainted(run: Run) -> bool:
    """Best effort after a failure: flag the container we created as tainted, so the next
    plan shows it and completes it in place. Returns whether the flag was written."""
    if run.vmid is None or run.node is None:
        return False
    try:
        config = run.client.get(run.path("config"))
        if not isinstance(config, dict) or config.get("lock"):
            return False
        notes, marker = split_description(str(config.get("description") or ""))
        marker = marker or marker_for(run.shared.stack, run.address)
        if marker.tainted:
            return True  # provisioning wrote it already, with its step and log
        tainted = dataclasses.replace(marker, tainted=True)
        params, _ = own_params({"description": notes}, (), stack=run.shared.stack,
                               marker=tainted)
        body: dict[str, Any] = dict(params)
        if config.get("digest"):
            body["digest"] = str(config["digest"])
        run.call("put", run.path("config"), **body)
    except ApiError:
        return False
    return True
