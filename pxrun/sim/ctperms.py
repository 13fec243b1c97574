"""Which privilege each container option needs: pve-container's
`check_ct_modify_config_perm`, used by create, restore and `PUT config` (whose schema says
`user: all` or a broad `any` check and leaves the details to the handler).

root@pam passes everything. Otherwise each option needs its privilege on `/vms/<vmid>` (or on
the container's pool): CPU options `VM.Config.CPU`, disks `VM.Config.Disk` (and
`Datastore.AllocateSpace` on a storage that gets a new volume), memory `VM.Config.Memory`,
network, DNS and hostname `VM.Config.Network` (and `SDN.Use` on the bridge), the nesting feature
`VM.Allocate`, everything else `VM.Config.Options`. What only root@pam may set (devices, hook
scripts, bind mounts, other features) is refused by `handlers.config.check_perms` with its own
texts, before this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pxrun.sim import propstr
from pxrun.sim.acl import Access
from pxrun.sim.api import Auth, permission_denied
from pxrun.sim.containers import NEW_DISK_RE, volume_of

_NET = re.compile(r"^net\d+$")
_DISK = re.compile(r"^(rootfs|mp\d+|unused\d+)$")


def privilege_of(key: str) -> str:
    if key in ("cores", "cpuunits", "cpulimit"):
        return "VM.Config.CPU"
    if _DISK.match(key):
        return "VM.Config.Disk"
    if key in ("memory", "swap"):
        return "VM.Config.Memory"
    if _NET.match(key) or key in ("nameserver", "searchdomain", "hostname"):
        return "VM.Config.Network"
    if key == "features":
        return "VM.Allocate"
    return "VM.Config.Options"


def check_vm_perm(access: Access, auth: Auth, vmid: int, pool: str | None,
                  privs: Iterable[str]) -> None:
    """RPCEnvironment::check_vm_perm: on the vmid, or on its pool."""
    wanted = list(privs)
    if pool and access.has(auth, f"/pool/{pool}", wanted):
        return
    access.check(auth, f"/vms/{vmid}", wanted)


def check_options(access: Access | None, auth: Auth, vmid: int, pool: str | None,
                  params: Mapping[str, Any], delete: Iterable[str] = ()) -> None:
    """Every option set or deleted needs its privilege (and storages and bridges theirs)."""
    if access is None or auth.is_root:
        return
    for key in sorted(set(params) | set(delete)):
        check_vm_perm(access, auth, vmid, pool, [privilege_of(key)])
        value = params.get(key)
        if value is None:
            continue
        text = str(value)
        if _DISK.match(key):
            new_disk = NEW_DISK_RE.match(volume_of(text))
            if new_disk:
                access.check(auth, f"/storage/{new_disk.group(1)}",
                             ["Datastore.AllocateSpace"])
        elif _NET.match(key):
            try:
                bridge = propstr.parse("net", text).get("bridge")
            except propstr.PropStrError:
                bridge = None
            if bridge:
                access.check(auth, f"/sdn/zones/localnetwork/{bridge}", ["SDN.Use"])


def check_create(access: Access | None, auth: Auth, vmid: int, pool: str | None, *,
                 restore_over: bool = False) -> None:
    """create_vm: VM.Allocate on the vmid or the pool (or VM.Backup to restore over it)."""
    if access is None or auth.is_root:
        return
    if pool:
        access.check(auth, f"/pool/{pool}", ["Permissions.Modify", "Pool.Allocate"],
                     any_=True)
    if access.has(auth, f"/vms/{vmid}", ["VM.Allocate"]):
        return
    if pool and access.has(auth, f"/pool/{pool}", ["VM.Allocate"]):
        return
    if restore_over and access.has(auth, f"/vms/{vmid}", ["VM.Backup"]):
        return
    raise permission_denied("")
