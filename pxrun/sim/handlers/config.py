"""Container configuration: GET config/pending and the PUT algorithm with hot-plug.

`PUT config` follows pve-container's `update_vm` + `update_pct_config` step by step
(reference A3.1): checks that die (HTTP 500), delete/revert rules (400), values written to
the pending section, `cleanup_pending`, then hot-plug (running) or apply (stopped). Per
option failures are collected and answered as a 400 `errors` map *without* writing, which
is why `Change` works on a copy of the container and commits only when all went well.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from pxrun.sim import propstr
from pxrun.sim.acl import Access
from pxrun.sim.api import ApiError, Auth, Request, fail, param_error, permission_denied, route
from pxrun.sim.cluster import GIB
from pxrun.sim.containers import (
    LIVE,
    NEW_DISK_RE,
    Container,
    canonical_value,
    fill_net,
    is_managed,
    is_option,
    key_order,
    volume_of,
)
from pxrun.sim.ctperms import check_options
from pxrun.sim.formats import split_list
from pxrun.sim.storages import AllocError

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

REQUIRED = ("memory", "rootfs", "ostype")
MOUNT_RE = re.compile(r"^(rootfs|mp\d+)$")


class Change:
    """One attempt to change a container; `commit()` or `rollback()` when done."""

    def __init__(self, sim: Simulator, ct: Container) -> None:
        self.sim = sim
        self.orig = ct
        self.ct = copy.deepcopy(ct)
        self.allocated: list[str] = []
        self.to_free: list[str] = []
        self.errors: dict[str, str] = {}

    def commit(self) -> None:
        self.orig.conf = self.ct.conf
        self.orig.pending = self.ct.pending
        self.orig.pending_delete = self.ct.pending_delete
        if list(self.orig.raw_lxc) != list(self.ct.raw_lxc):
            self.orig.raw_lxc = self.ct.raw_lxc
        for volid in self.to_free:
            self.sim.storages.free(volid, self.ct.node)

    def rollback(self) -> None:
        for volid in self.allocated:
            self.sim.storages.free(volid, self.ct.node)

    # -- volumes ---------------------------------------------------------------------------
    def allocate(self, sid: str, size: int) -> str:
        node = self.ct.node
        if sid not in self.sim.storages.defs:
            raise fail(f"storage '{sid}' does not exist")
        sdef = self.sim.storages.available(sid, node)
        if sdef is None:
            raise fail(f"storage '{sid}' is not available on node '{node}'")
        if "rootdir" not in sdef.content:
            raise fail(f"storage '{sid}' does not allow content type 'rootdir' (Container)")
        try:
            vol = self.sim.storages.allocate(sid, node, self.ct.vmid, size)
        except AllocError as exc:
            raise fail(str(exc)) from exc
        self.allocated.append(vol.volid)
        return vol.volid

    def mount(self, key: str, value: str) -> None:
        """Set rootfs/mpN, allocating `STORAGE:SIZE` and detaching a replaced volume."""
        fmt = "rootfs" if key == "rootfs" else "mp"
        mp = propstr.parse(fmt, value)
        volume = str(mp["volume"])
        found = NEW_DISK_RE.match(volume)
        if found:
            size = int(float(found.group(2)) * GIB)
            mp["volume"] = self.allocate(found.group(1), size)
            mp["size"] = size
        elif is_managed(volume) and not mp.get("size"):
            vol = self.sim.storages.find(volume, self.ct.node)
            if vol is not None:
                mp["size"] = vol.size
        old = self.ct.conf.get(key)
        if old is not None and is_managed(volume_of(old)) and volume_of(old) != mp["volume"]:
            self.ct.add_unused(volume_of(old))
        for ukey in [k for k, v in self.ct.conf.items()
                     if k.startswith("unused") and volume_of(v) == mp["volume"]]:
            del self.ct.conf[ukey]
        self.ct.conf[key] = propstr.print_(fmt, mp)

    def drop(self, key: str) -> None:
        """Delete a key on apply: mount point volumes become unusedN, unusedN are destroyed."""
        value = self.ct.conf.pop(key, None)
        if value is None:
            return
        if key.startswith("mp") and is_managed(volume_of(value)):
            self.ct.add_unused(volume_of(value))
        elif key.startswith("unused"):
            volume = volume_of(value)
            # is_volume_in_use with snapshots and pending: a snapshot keeps its volume alive
            if volume not in self.ct.volumes() and volume not in self.ct.snapshot_volumes():
                self.to_free.append(volume)

    # -- pending application ---------------------------------------------------------------
    def apply_pending(self, hotplug: bool) -> None:
        """vmconfig_hotplug_pending (running) or vmconfig_apply_pending (stopped)."""
        ct = self.ct
        for key in sorted(ct.pending_delete, key=key_order):
            if hotplug and not (key in LIVE or key.startswith(("net", "unused"))):
                continue
            try:
                self.drop(key)
            except (ApiError, propstr.PropStrError, ValueError) as exc:
                self._error(key, exc, hotplug)
                continue
            ct.pending_delete.remove(key)
        for key in sorted(ct.pending, key=key_order):
            value = ct.pending[key]
            try:
                if hotplug and not self._hotpluggable(key):
                    continue
                if MOUNT_RE.match(key):
                    self.mount(key, value)
                else:
                    if hotplug and key.startswith("net"):
                        self._check_bridge(value)
                    ct.conf[key] = value
            except (ApiError, propstr.PropStrError, ValueError) as exc:
                self._error(key, exc, hotplug)
                continue
            del ct.pending[key]

    def _hotpluggable(self, key: str) -> bool:
        if key in LIVE or key.startswith("net"):
            return True
        if key.startswith("mp"):
            return key not in self.ct.conf
        if key.startswith("dev"):
            return self.sim.pve9 and key not in self.ct.conf
        return False

    def _check_bridge(self, value: str) -> None:
        bridge = propstr.parse("net", value).get("bridge")
        if bridge and self.sim.bridge(self.ct.node, str(bridge)) is None:
            raise fail(f"bridge '{bridge}' does not exist")

    def _error(self, key: str, exc: Exception, hotplug: bool) -> None:
        text = exc.message if isinstance(exc, (ApiError, propstr.PropStrError)) else str(exc)
        if hotplug:
            self.errors[key] = f"unable to hotplug {key}: {text.strip()}"
        else:
            self.errors[key] = f"unable to apply pending change {key} : {text.strip()}"


def access_of(sim: Simulator, req: Request) -> Access | None:
    """The privilege checker for a real API call (None for in-process calls, which act as
    root@pam)."""
    return Access(req.credentials, sim) if req.credentials is not None else None


def value_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_perms(ct: Container, params: dict[str, Any], delete: list[str], auth: Auth) -> None:
    """check_ct_modify_config_perm: what an API token (never root@pam) may not change."""
    if auth.is_root:
        return
    for key in sorted(set(params) | set(delete)):
        if key.startswith("dev"):
            raise permission_denied("configuring device passthrough is only allowed for root@pam")
        if key == "hookscript":
            raise permission_denied("changing the hookscript is only allowed for root@pam")
        if MOUNT_RE.match(key) and key in params:
            volume = volume_of(str(params[key]))
            if volume.startswith("/"):
                kind = "device" if volume.startswith("/dev/") else "bind"
                raise permission_denied(f"mount point type {kind} is only allowed for root@pam")
        if key == "features":
            check_features(ct, params.get("features"))


def check_features(ct: Container | None, new: Any, unprivileged: bool | None = None) -> None:
    if unprivileged is None:
        unprivileged = ct is not None and ct.conf.get("unprivileged") == "1"
    if not unprivileged:
        raise permission_denied(
            "changing feature flags for privileged container is only allowed for root@pam")
    old_text = "" if ct is None else ct.pending.get("features", ct.conf.get("features", ""))
    old = propstr.parse("features", old_text) if old_text else {}
    fresh = propstr.parse("features", str(new)) if new else {}
    old.pop("nesting", None)
    fresh.pop("nesting", None)
    if {k: v for k, v in old.items() if v} != {k: v for k, v in fresh.items() if v}:
        raise permission_denied(
            "changing feature flags (except nesting) is only allowed for root@pam")


@route("GET", "/nodes/{node}/lxc/{vmid}/config")
def get_config(sim: Simulator, req: Request) -> Any:
    p = req.params
    if p.get("snapshot") and p.get("current"):
        raise param_error({"current": "cannot use 'snapshot' parameter with 'current'",
                           "snapshot": "cannot use 'snapshot' parameter with 'current'"})
    with sim.lock:
        ct = sim.ct_on(p["node"], p["vmid"])
        if p.get("snapshot"):
            from pxrun.sim.handlers.snapshot import snapshot_json

            data = snapshot_json(ct, str(p["snapshot"]))
            data["digest"] = ct.digest
            return data
        return ct.config_json(current=bool(p.get("current")))


@route("GET", "/nodes/{node}/lxc/{vmid}/pending")
def get_pending(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        return sim.ct_on(req.params["node"], req.params["vmid"]).pending_json()


CONFIG_PATH = "/nodes/{node}/lxc/{vmid}/config"


def pct_set(sim: Simulator, node: str, vmid: int, options: tuple[tuple[str, str], ...]) -> None:
    """`pct set` on `node`: the same PUT, as root@pam (the node's own CLI runs as root), its
    options checked against the same parameter table. Raises `ApiError` like the PUT."""
    from pxrun.sim.validate import validate_params

    raw: dict[str, Any] = {**dict(options), "node": node, "vmid": str(vmid)}
    typed = validate_params("PUT", CONFIG_PATH, raw)
    update_config(sim, Request("PUT", f"/nodes/{node}/lxc/{vmid}/config", CONFIG_PATH, typed,
                               Auth("root@pam")))


@route("PUT", CONFIG_PATH)
def update_config(sim: Simulator, req: Request) -> Any:
    params = dict(req.params)
    node, vmid = params.pop("node"), int(params.pop("vmid"))
    digest = params.pop("digest", None)
    if not params:
        raise fail("no options specified")
    delete = split_list(str(params.pop("delete", "") or ""))
    revert = split_list(str(params.pop("revert", "") or ""))
    if "cpuunits" in params:
        params["cpuunits"] = min(10000, max(1, int(params["cpuunits"])))
    with sim.lock:
        sim.lock_contention(vmid)
        ct = sim.ct_on(node, vmid)
        ct.check_lock()
        ct.check_digest(digest)
        check_perms(ct, params, delete, req.auth)
        check_options(access_of(sim, req), req.auth, vmid, sim.pool_of(vmid), params,
                      [*delete, *revert])
        for key in revert:
            if not is_option(key):
                raise param_error({"revert": f"unknown option '{key}'"})
            if key in params:
                raise param_error({"revert": f"you can't use '-{key}' and '-revert {key}' at "
                                             "the same time"})
        for key in delete:
            if not is_option(key):
                raise param_error({"delete": f"unknown option '{key}'"})
            if key in params:
                raise param_error({"delete": f"you can't use '-{key}' and -delete {key}' at "
                                             "the same time"})
            if key in revert:
                raise param_error({"delete": f"you can't use '-delete {key}' and '-revert "
                                             f"{key}' at the same time"})
        change = Change(sim, ct)
        stage(sim, change, params, delete, revert)
        change.apply_pending(hotplug=ct.running)
        if change.errors:
            change.rollback()
            raise param_error(change.errors)
        change.commit()
        sim.commit()
    return None


def stage(sim: Simulator, change: Change, params: dict[str, Any], delete: list[str],
          revert: list[str]) -> None:
    """update_pct_config up to cleanup_pending: revert, delete, then set into pending."""
    ct = change.ct
    vmid = ct.vmid
    for key in revert:
        ct.pending.pop(key, None)
        if key in ct.pending_delete:
            ct.pending_delete.remove(key)
    for key in delete:
        if key not in ct.conf and key not in ct.pending:
            continue  # PVE only warns: cannot delete 'x' - not set in current configuration!
        if key in REQUIRED:
            raise fail(f"unable to delete required option '{key}'")
        if key == "unprivileged":
            raise fail("unable to delete read-only option: 'unprivileged'")
        if key.startswith(("mp", "unused")):
            ct.check_protection(f"can't remove CT {vmid} drive '{key}'")
        ct.pending.pop(key, None)
        if key not in ct.pending_delete:
            ct.pending_delete.append(key)
    for key in sorted(params):
        value = value_text(params[key])
        if key == "unprivileged":
            raise fail("unable to modify read-only option: 'unprivileged'")
        if MOUNT_RE.match(key):
            ct.check_protection(f"can't update CT {vmid} drive '{key}'")
            new_disk = NEW_DISK_RE.match(volume_of(value))
            if new_disk:
                sid = new_disk.group(1)
                sdef = sim.storages.defs.get(sid)
                if sdef is None:
                    raise fail(f"storage '{sid}' does not exist")
                if "rootdir" not in sdef.content:
                    raise fail(f"storage '{sid}' does not allow content type 'rootdir' "
                               "(Container)")
        if key.startswith("net"):
            value = fill_net(value, sim.rng)
            check_mtu(sim, ct, key, value)
        elif key != "description":
            value = canonical_value(key, value)
        ct.pending[key] = value
        if key in ct.pending_delete:
            ct.pending_delete.remove(key)
    # cleanup_pending
    for key in [k for k, v in ct.pending.items() if ct.conf.get(k) == v]:
        del ct.pending[key]
    ct.pending_delete = [k for k in ct.pending_delete if k in ct.conf]


def check_mtu(sim: Simulator, ct: Container, key: str, value: str) -> None:
    net = propstr.parse("net", value)
    bridge = sim.bridge(ct.node, str(net.get("bridge", "")))
    if bridge is not None and net.get("mtu") and int(net["mtu"]) > bridge.mtu:
        raise fail(f"{key}: MTU size '{net['mtu']}' is bigger than bridge MTU '{bridge.mtu}'")
