"""Reading the single-container YAML of pxrun 0.1.x as a one-container stack.

Why convert rather than keep a second model: the planner, the schema and every diagnostic
then know one language. The conversion is a key-by-key rewrite that carries each value's
source mark along, so a problem in a legacy file still points at its own line. Keys with no
equivalent are reported, not dropped silently: a user should know what no longer happens.

The 0.1.x form, in both spellings it accepted (flat keys, or `resources:`/`network:` blocks):

    version: "1.0"
    container: {hostname, template, node, vmid, cores, memory, storage (GB), storage_pool,
                network_bridge, network_ip, network_gateway, start_on_boot, unprivileged,
                features, pool, mount_points: [...], devices: [...]}
    provisioning: {packages, docker, ssh_keys, tailscale: {...}, users: [...], scripts: [...]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from pxrun.errors import Diagnostic
from pxrun.spec.graph import did_you_mean
from pxrun.spec.yamlsrc import Path, SourceDoc

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# legacy container key -> new path inside the container (None: handled specially)
_CONTAINER_KEYS: dict[str, Path | None] = {
    "hostname": ("hostname",), "vmid": ("vmid",), "node": ("node",), "template": None,
    "cores": ("resources", "cores"), "memory": ("resources", "memory"),
    "swap": ("resources", "swap"), "storage": ("resources", "disk"), "storage_pool": ("storage",),
    "network_bridge": ("networks", "net0", "bridge"), "network_ip": ("networks", "net0", "ip"),
    "network_gateway": ("networks", "net0", "gw"), "start_on_boot": ("onboot",),
    "unprivileged": ("unprivileged",), "features": ("features",), "pool": ("pool",),
    "description": ("description",), "tags": ("tags",),
    "resources": None, "network": None, "mount_points": None, "devices": None,
}
_NESTED: dict[str, dict[str, Path]] = {
    "resources": {"cores": ("resources", "cores"), "memory": ("resources", "memory"),
                  "swap": ("resources", "swap"), "storage": ("resources", "disk"),
                  "storage_pool": ("storage",)},
    "network": {"bridge": ("networks", "net0", "bridge"), "ip": ("networks", "net0", "ip"),
                "gateway": ("networks", "net0", "gw")},
}
_TOP_KEYS = ("version", "container", "provisioning")
_PROVISION_KEYS = ("packages", "docker", "ssh_keys", "tailscale", "users", "scripts")
_USER_KEYS = {"username": "name", "groups": "groups", "shell": "shell", "ssh_keys": "ssh_keys",
              "sudo": "sudo"}
_SCRIPT_KEYS = {"name": "name", "content": "script", "interpreter": "interpreter",
                "working_dir": "cwd", "environment": "env", "timeout": "timeout"}
# keys that 0.1.x accepted and that only matter at their old default
_IGNORABLE_DEFAULTS = {"run_as": "root", "continue_on_error": False}


def is_legacy(data: Any) -> bool:
    return isinstance(data, Mapping) and "container" in data and "containers" not in data


def name_from_hostname(text: str) -> str:
    """A valid container/stack name from a hostname or file name."""
    label = text.split(".", maxsplit=1)[0].lower()
    return re.sub(r"[^a-z0-9-]+", "-", label).strip("-")[:63].strip("-")


class _Converter:
    def __init__(self, old: SourceDoc) -> None:
        self.old = old
        self.new = SourceDoc(old.file, {})
        self.problems: list[Diagnostic] = []
        self.base: Path = ()

    def put(self, new_path: Path, value: Any, old_path: Path) -> None:
        """Set new_path in the new document, with the marks of old_path."""
        target: Any = self.new.data
        for depth, key in enumerate(new_path[:-1]):
            prefix = new_path[: depth + 1]
            if isinstance(target, list) and isinstance(key, int):
                while len(target) <= key:
                    target.append({})
                target = target[key]
                continue
            if not isinstance(target.get(key), dict | list):
                target[key] = {}
                self.new.values.setdefault(prefix, self.old.mark(old_path))
                self.new.keys.setdefault(prefix, self.old.key_mark(old_path))
            target = target[key]
        last = new_path[-1]
        if isinstance(target, list) and isinstance(last, int):
            while len(target) <= last:
                target.append(None)
        target[last] = _env_refs(value)
        self._copy_marks(new_path, old_path, value)

    def _copy_marks(self, new_path: Path, old_path: Path, value: Any) -> None:
        self.new.values[new_path] = self.old.mark(old_path)
        self.new.keys[new_path] = self.old.key_mark(old_path)
        if isinstance(value, Mapping):
            for key, item in value.items():
                self._copy_marks((*new_path, key), (*old_path, key), item)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self._copy_marks((*new_path, i), (*old_path, i), item)

    def unknown(self, old_path: Path, known: list[str] | tuple[str, ...]) -> None:
        key = str(old_path[-1])
        self.problems.append(self.old.key_mark(old_path).diagnostic(
            f"unknown key {key!r} in a pxrun 0.1 file{did_you_mean(key, set(known))}"))

    def unsupported(self, old_path: Path, why: str) -> None:
        self.problems.append(self.old.key_mark(old_path).diagnostic(
            f"{old_path[-1]!r} of pxrun 0.1 has no equivalent: {why}; remove it"))

    def container(self, data: Mapping[str, Any]) -> None:
        for key, value in data.items():
            old = ("container", key)
            if key not in _CONTAINER_KEYS:
                self.unknown(old, list(_CONTAINER_KEYS))
            elif key == "template":
                self.put((*self.base, "template"), _template(value), old)
            elif key in _NESTED and isinstance(value, Mapping):
                for sub, item in value.items():
                    target = _NESTED[key].get(sub)
                    if target is None:
                        self.unknown((*old, sub), list(_NESTED[key]))
                    else:
                        self.put((*self.base, *target), item, (*old, sub))
            elif key == "mount_points" and isinstance(value, list):
                self.mounts(value, data.get("storage_pool"))
            elif key == "devices" and isinstance(value, list):
                self.devices(value)
            elif (path := _CONTAINER_KEYS[key]) is not None:
                self.put((*self.base, *path), value, old)
            else:
                kind = "list" if key in ("mount_points", "devices") else "mapping"
                self.problems.append(self.old.mark(old).diagnostic(f"{key!r} must be a {kind}"))

    def mounts(self, items: list[Any], pool: Any) -> None:
        for i, item in enumerate(items):
            old: Path = ("container", "mount_points", i)
            slot = (*self.base, "mounts", f"mp{i}")
            if not isinstance(item, Mapping):
                self.put(slot, item, old)  # the model reports the wrong type
                continue
            bind = "host" in item
            for key, value in item.items():
                if key == "host":
                    self.put((*slot, "host_path"), value, (*old, key))
                elif key == "container":
                    self.put((*slot, "path"), value, (*old, key))
                elif key == "read_only":
                    self.put((*slot, "read_only"), value, (*old, key))
                elif key == "size" and not bind:
                    storage = pool if isinstance(pool, str) else "local-lvm"
                    self.put((*slot, "volume"), f"{storage}:{value}", (*old, key))
                elif key == "backup" and not bind:
                    self.put((*slot, "backup"), value, (*old, key))
                elif key not in ("size", "backup"):  # both meaningless for bind mounts
                    self.unknown((*old, key), ["host", "container", "read_only", "size", "backup"])

    def devices(self, items: list[Any]) -> None:
        for i, item in enumerate(items):
            old: Path = ("container", "devices", i)
            slot = (*self.base, "devices", f"dev{i}")
            if not isinstance(item, Mapping):
                self.put(slot, item, old)
                continue
            for key, value in item.items():
                if key == "mode" and value in ("rw", "ro"):
                    if value == "ro":
                        self.put((*slot, "deny_write"), True, (*old, key))
                elif key in ("path", "mode", "uid", "gid"):
                    self.put((*slot, key), value, (*old, key))
                else:
                    self.unknown((*old, key), ["path", "mode", "uid", "gid"])

    def provisioning(self, data: Mapping[str, Any]) -> None:
        base = (*self.base, "provision")
        for key, value in data.items():
            old: Path = ("provisioning", key)
            if key not in _PROVISION_KEYS:
                self.unknown(old, _PROVISION_KEYS)
            elif key == "tailscale" and isinstance(value, Mapping):
                self.tailscale(value, (*base, "tailscale"), old)
            elif key in ("users", "scripts") and isinstance(value, list):
                table = _USER_KEYS if key == "users" else _SCRIPT_KEYS
                target = "users" if key == "users" else "run"
                self.put((*base, target), [], old)
                for i, item in enumerate(value):
                    self.renamed_item(item, table, (*base, target, i), (*old, i))
            else:
                self.put((*base, key), value, old)

    def renamed_item(self, item: Any, table: Mapping[str, str], new: Path, old: Path) -> None:
        if not isinstance(item, Mapping):
            self.put(new, item, old)
            return
        self.put(new, {}, old)
        for key, value in item.items():
            if key in table:
                self.put((*new, table[key]), value, (*old, key))
            elif key == "home" or _IGNORABLE_DEFAULTS.get(key, object()) == value:
                continue  # the 0.1 default, which is also what pxrun 0.2 does
            elif key in ("uid", "gid", "run_as", "continue_on_error"):
                self.unsupported((*old, key), "pxrun 0.2 does not set it")
            else:
                self.unknown((*old, key), list(table))

    def tailscale(self, value: Mapping[str, Any], new: Path, old: Path) -> None:
        extra: list[str] = []
        for key, item in value.items():
            if key in ("auth_key", "hostname", "tags"):
                self.put((*new, key), item, (*old, key))
            elif key == "accept_routes" and item:
                extra.append("--accept-routes")
            elif key == "shields_up" and item:
                extra.append("--shields-up")
            elif key == "ephemeral" and item:
                extra.append("--ephemeral")  # pragma: no cover - rarely set
            elif key == "advertise_routes" and item:
                routes = item if isinstance(item, list) else [item]
                extra.append("--advertise-routes=" + ",".join(str(r) for r in routes))
            elif key not in ("accept_routes", "shields_up", "ephemeral", "advertise_routes"):
                self.unknown((*old, key), ["auth_key", "hostname", "tags", "accept_routes",
                                           "advertise_routes", "shields_up"])
        if extra:
            self.put((*new, "extra_args"), extra, old)


def _template(value: Any) -> Any:
    """0.1 read a bare template file name as a volume on the `local` storage."""
    if isinstance(value, str) and ":" not in value and re.search(r"\.tar(\.\w+)?$", value):
        return f"local:vztmpl/{value}"
    return value


def _env_refs(value: Any) -> Any:
    """0.1's `${VAR}` environment references become `{{ env.VAR }}`."""
    if isinstance(value, str) and "${" in value:
        return _ENV_REF.sub(lambda m: "{{ env." + m.group(1) + " }}", value)
    return value


def convert(old: SourceDoc) -> tuple[SourceDoc, list[Diagnostic]]:
    """The stack-form document equivalent to a 0.1 file, and what could not be converted."""
    conv = _Converter(old)
    data = old.data
    container = data.get("container")
    if not isinstance(container, Mapping):
        return old, [old.mark(("container",)).diagnostic("'container' must be a mapping")]
    for key in data:
        if key not in _TOP_KEYS:
            conv.unknown((key,), _TOP_KEYS)
    version = data.get("version")
    if version is not None and str(version) not in ("1", "1.0"):
        conv.problems.append(old.mark(("version",)).diagnostic(
            f"unsupported pxrun 0.1 file version {version!r} (expected \"1.0\")"))
    hostname = container.get("hostname")
    name = name_from_hostname(hostname) if isinstance(hostname, str) else ""
    name = name or name_from_hostname(PurePath(old.file).stem) or "container"
    root: Path = ("container",)
    conv.put(("version",), 1, ("version",) if "version" in data else root)
    conv.put(("stack",), name, root)
    # 0.1's built-in defaults, so an old file still means what it meant.
    conv.put(("defaults", "networks", "net0"), {"bridge": "vmbr0", "ip": "dhcp"}, root)
    conv.put(("defaults", "onboot"), False, root)
    conv.put(("containers", name), {}, root)
    conv.base = ("containers", name)
    conv.container(container)
    provisioning = data.get("provisioning")
    if isinstance(provisioning, Mapping):
        conv.provisioning(provisioning)
    elif provisioning is not None:
        conv.problems.append(old.mark(("provisioning",)).diagnostic(
            "'provisioning' must be a mapping"))
    return conv.new, conv.problems
