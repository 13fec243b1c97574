"""What the API token may do: the privileges pxrun uses, compared with what it holds.

Pure: reads `GET /access/permissions` output. Which spec options no API token can set at
all (root@pam only, reference A6) is a fact of each option's row: `pxrun.pve.access`, listed
for doctor by `pxrun.pve.config.root_only_options`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The privileges pxrun uses, what for, and the ACL path that grants them cluster-wide.
NEEDED_PRIVILEGES: tuple[tuple[str, str, str], ...] = (
    ("Sys.Audit", "/nodes", "read nodes and cluster status"),
    ("VM.Audit", "/vms", "read containers (plan, list, drift)"),
    ("Datastore.Audit", "/storage", "read storages and templates"),
    ("VM.Allocate", "/vms", "create and destroy containers"),
    ("VM.Config.CPU", "/vms", "change cores and CPU limits"),
    ("VM.Config.Memory", "/vms", "change memory and swap"),
    ("VM.Config.Disk", "/vms", "change root disk and mount points"),
    ("VM.Config.Network", "/vms", "change networks, hostname and DNS"),
    ("VM.Config.Options", "/vms", "change tags, description, onboot and other options"),
    ("VM.PowerMgmt", "/vms", "start, stop and restart containers"),
    ("VM.Migrate", "/vms", "move containers between nodes"),
    ("Datastore.AllocateSpace", "/storage", "allocate disks on storages"),
    ("Datastore.AllocateTemplate", "/storage", "download templates"),
    ("SDN.Use", "/sdn", "attach containers to bridges"),
)


@dataclass(frozen=True)
class PrivilegeCheck:
    """One privilege: granted broadly (`yes`), only on some objects (`partial`), or `no`."""

    privilege: str
    purpose: str
    status: str
    paths: tuple[str, ...]


def check_privileges(permissions: Mapping[str, Any]) -> list[PrivilegeCheck]:
    """Compare `GET /access/permissions` ({path: {privilege: 0|1}}) with what pxrun uses.

    Proxmox propagates ACLs down the tree, and the endpoint already lists effective
    privileges per path, so a privilege on `/` or on its area's root counts as broad.
    """
    checks = []
    for priv, area, purpose in NEEDED_PRIVILEGES:
        paths = tuple(sorted(path for path, privs in permissions.items()
                             if isinstance(privs, Mapping) and privs.get(priv)))
        broad = "/" in paths or area in paths
        status = "yes" if broad else ("partial" if paths else "no")
        checks.append(PrivilegeCheck(privilege=priv, purpose=purpose, status=status, paths=paths))
    return checks
