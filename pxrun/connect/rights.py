"""What the API token may do, and which spec options no API token can ever set.

Why this exists: Proxmox reserves some container options to the `root@pam` *user*, and an
API token is never that user, not even `root@pam!token` (reference A6). Users meet this as a
403 in the middle of an apply; `pxrun doctor` names the options up front instead. Both
functions are pure: they read `GET /access/permissions` output and a spec `Stack`.
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


def root_only_options(stack: Any) -> list[str]:
    """`container: option` for each option in `stack` that only root@pam may set.

    Features other than nesting, bind mounts, devices and hook scripts; on a privileged
    container, any feature at all. Read by attribute so it follows the spec model loosely.
    """
    found: list[str] = []
    containers = getattr(stack, "containers", None) or {}
    for name, ct in sorted(containers.items()):
        privileged = getattr(ct, "unprivileged", True) is False
        features = getattr(ct, "features", None)
        if features is not None:
            values = features.model_dump(exclude_none=True) if hasattr(
                features, "model_dump") else dict(vars(features))
            for key, value in sorted(values.items()):
                if value in (False, None, [], ""):
                    continue
                if key != "nesting" or privileged:
                    kind = "privileged container" if privileged else "feature"
                    found.append(f"{name}: features.{key} ({kind})")
        for slot, mount in sorted((getattr(ct, "mounts", None) or {}).items()):
            if getattr(mount, "host_path", None):
                found.append(f"{name}: mounts.{slot} (bind mount of {mount.host_path})")
        for slot, device in sorted((getattr(ct, "devices", None) or {}).items()):
            found.append(f"{name}: devices.{slot} (device {getattr(device, 'path', '?')})")
        if getattr(ct, "hookscript", None):
            found.append(f"{name}: hookscript")
    return found
