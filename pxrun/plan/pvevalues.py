"""Desired spec values -> the canonical Proxmox config values that apply writes.

The plan carries exactly what will be PUT (so a reviewer sees it, and apply does not
re-derive it), using observe's printers: the same canonical form Proxmox stores, so the
next observation reads back what was written. Observed facts the spec cannot hold are
kept: a generated MAC (a net PUT without one would make Proxmox generate a new one), the
allocated volid of an existing volume (re-sending `storage:GiB` would allocate another).
"""

from __future__ import annotations

from collections.abc import Callable

from pxrun.observe.model import ObservedContainer
from pxrun.pve.marker import normalize_notes, stack_tag
from pxrun.pve.parts import (
    print_device,
    print_features,
    print_mount,
    print_network,
    print_rootfs,
    print_startup_spec,
)
from pxrun.pve.values import normalize_tags
from pxrun.spec.model import Container


def _flag(value: bool | None) -> str:
    return "1" if value else "0"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_SIMPLE: dict[str, Callable[[Container], str | None]] = {
    "hostname": lambda c: c.hostname,
    "cores": lambda c: str(c.resources.cores),
    "memory": lambda c: str(c.resources.memory),
    "swap": lambda c: str(c.resources.swap),
    "cpulimit": lambda c: None if c.resources.cpulimit is None else _number(c.resources.cpulimit),
    "cpuunits": lambda c: None if c.resources.cpuunits is None else str(c.resources.cpuunits),
    "description": lambda c: None if c.description is None else normalize_notes(c.description),
    "onboot": lambda c: None if c.onboot is None else _flag(c.onboot),
    "protection": lambda c: None if c.protection is None else _flag(c.protection),
    "console": lambda c: None if c.console is None else _flag(c.console),
    "startup": lambda c: None if c.startup is None else print_startup_spec(c.startup),
    "hookscript": lambda c: c.hookscript,
    "features": lambda c: None if c.features is None else print_features(c.features),
    "nameserver": lambda c: None if c.nameserver is None else " ".join(c.nameserver),
    "searchdomain": lambda c: None if c.searchdomain is None else " ".join(c.searchdomain),
    "timezone": lambda c: c.timezone,
    "tty": lambda c: None if c.tty is None else str(c.tty),
    "cmode": lambda c: c.cmode,
    "ostype": lambda c: c.ostype,
    "arch": lambda c: c.arch,
    "env": lambda c: None if not c.env else "\0".join(f"{k}={v}" for k, v in c.env.items()),
    "unprivileged": lambda c: _flag(c.unprivileged),
}


def tags_value(container: Container, stack: str) -> str:
    """The user's tags plus the stack's ownership tag, as Proxmox stores them."""
    return ";".join(normalize_tags([*(container.tags or []), stack_tag(stack)]))


def config_value(key: str, want: Container, observed: ObservedContainer | None,
                 stack: str) -> str | None:
    """The value to write for config `key`; None when the spec leaves it unmanaged."""
    if key in _SIMPLE:
        return _SIMPLE[key](want)
    if key == "tags":
        return tags_value(want, stack)
    have = observed.future if observed is not None else None
    volids = observed.volids if observed is not None else {}
    if key == "rootfs":
        if observed is None or have is None:
            return print_rootfs(f"{want.storage}:{want.resources.disk}", want.rootfs)
        return print_rootfs(volids.get("rootfs", f"{want.storage}:{want.resources.disk}"),
                            want.rootfs, f"{have.resources.disk}G")
    if key.startswith("net"):
        old = have.networks.get(key) if have is not None else None
        return print_network(want.networks[key], hwaddr=old.hwaddr if old else None)
    if key.startswith("mp"):
        mount = want.mounts[key]
        old_mount = have.mounts.get(key) if have is not None else None
        if old_mount is None:
            return print_mount(mount)
        size = None if old_mount.size_gib is None else f"{old_mount.size_gib}G"
        return print_mount(mount, volid=volids.get(key), size=size)
    if key.startswith("dev"):
        return print_device(want.devices[key])
    raise KeyError(f"no printer for config key {key!r}")


def create_params(want: Container, stack: str) -> dict[str, str]:
    """Parameters of `POST /nodes/{node}/lxc` for a new container (no secrets, no vmid,
    node or template: the create operation holds those)."""
    params: dict[str, str] = {}
    for key, printer in _SIMPLE.items():
        value = printer(want)
        if value is not None:
            params[key] = value
    params["tags"] = tags_value(want, stack)
    params["rootfs"] = config_value("rootfs", want, None, stack) or ""
    for slots in (want.networks, want.mounts, want.devices):
        for slot in slots:
            params[slot] = config_value(slot, want, None, stack) or ""
    if want.pool is not None:
        params["pool"] = want.pool
    return dict(sorted(params.items()))
