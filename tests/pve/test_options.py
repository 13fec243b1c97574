"""The option table: every spec field has a row, every row round-trips, and what the rest
of pxrun derives from the rows (policy lookups, defaults, the spec-only set)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from pxrun.plan.diff import get_path, set_path
from pxrun.pve.config import (
    ABSENT,
    SLOT_MAPS,
    SPEC_ONLY,
    create_params,
    key_for,
    option_for,
    print_key,
    read_config,
)
from pxrun.pve.options import OPTIONS, ChangeKind, Site
from pxrun.spec.model import Container, Features, Network, Resources, RootFs

# A container with every option set, as a create would make it and as observed later.
EVERYTHING = Container.model_validate({
    "name": "web", "hostname": "web.lan", "vmid": 101, "storage": "local-lvm",
    "resources": {"cores": 3, "cpulimit": 1.5, "cpuunits": 200, "memory": 2048, "swap": 256,
                  "disk": 16},
    "rootfs": {"acl": True, "quota": False, "mountoptions": ["noatime", "nodev"],
               "replicate": False},
    "networks": {"net0": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.5/24",
                          "gw": "10.0.0.1", "ip6": "auto", "vlan": 20, "trunks": [30, 40],
                          "mtu": 1450, "rate": 12.5, "firewall": True,
                          "hwaddr": "BC:24:11:00:00:01", "link_down": False,
                          "host_managed": True}},
    "mounts": {"mp0": {"volume": "local-lvm:8", "path": "/srv", "backup": True,
                       "read_only": True, "acl": True, "quota": True, "replicate": False,
                       "mountoptions": ["noexec"], "keepattrs": True},
               "mp1": {"host_path": "/mnt/media", "path": "/media", "shared": True},
               "mp2": {"volume": "nfs:101/vm-999-disk-0.raw", "path": "/data", "size": 4}},
    "devices": {"dev0": {"path": "/dev/dri/renderD128", "mode": "0660", "uid": 0, "gid": 104,
                         "deny_write": True}},
    "features": {"nesting": True, "keyctl": True, "fuse": True, "mknod": True,
                 "force_rw_sys": True, "mount": ["nfs", "cifs"]},
    "unprivileged": True, "onboot": True, "startup": {"order": 2, "up": 30, "down": 60},
    "tags": ["prod", "web"], "description": "Web server\n\nsecond paragraph",
    "protection": True, "pool": "prod", "nameserver": ["10.0.0.1", "fd00::1"],
    "searchdomain": ["lan", "example.com"], "timezone": "Europe/Berlin", "arch": "arm64",
    "ostype": "debian", "console": False, "tty": 4, "cmode": "shell",
    "hookscript": "local:snippets/hook.pl", "env": {"TOKEN": "abc", "MODE": "a=b"},
    "entrypoint": "/docker-entrypoint.sh nginx -g 'daemon off;'",
    "lxc": ["lxc.cgroup2.devices.allow: c 226:* rwm",
            "lxc.mount.entry: /dev/dri dev/dri none bind,optional,create=dir"],
    "idmap": {"gids": [44, {"container": 104, "host": 104}], "uids": [1000]},
    "ha": {"state": "started", "max_restart": 2},
})
OBSERVED = Site(stack="homelab", vmid=101, cpus=8, have=EVERYTHING,
                volids={"rootfs": "local-lvm:vm-101-disk-0", "mp0": "local-lvm:vm-101-disk-1",
                        "mp2": "nfs:101/vm-999-disk-0.raw"})


def _paths(model: type[BaseModel], prefix: str = "") -> dict[str, bool]:
    """Every field path of the spec model (not into provisioning) -> whether it is a leaf
    (what a field diff can name)."""
    paths = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        args = getattr(info.annotation, "__args__", ()) or (info.annotation,)
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        paths[path] = not models or name in ("lifecycle", "provision")
        for arg in models if not paths[path] else []:
            paths.update(_paths(arg, path + "."))
    return paths


def test_every_spec_field_has_a_row() -> None:
    for path, leaf in _paths(Container).items():
        if leaf:
            option_for(path)  # KeyError when a field has no row
    for sub in Resources.model_fields:
        assert option_for(f"resources.{sub}").path == f"resources.{sub}"
    for slot_map, part in (("networks", Network), ("mounts", None), ("devices", None)):
        assert slot_map in SLOT_MAPS
        if part is not None:
            for sub in part.model_fields:
                assert option_for(f"{slot_map}.net0.{sub}").path == f"{slot_map}.*"


def test_every_row_names_a_spec_field() -> None:
    paths = set(_paths(Container))
    for row in OPTIONS:
        assert row.path.removesuffix(".*") in paths, row.path


def _keys_of(row: Any) -> list[str]:
    if row.key is None:
        return []
    if row.key.endswith("[n]"):
        return sorted(getattr(EVERYTHING, row.path[:-2]))
    return [row.key]


def _path_of(row: Any, key: str) -> list[str]:
    return [key if p == "*" else p for p in row.path.split(".")]


@pytest.mark.parametrize("row", [r for r in OPTIONS if r.parser is not None],
                         ids=lambda r: r.path)
def test_print_then_parse_round_trips(row: Any) -> None:
    """For each key a row reads: parse(print(value)) is the value, and printing what was
    parsed gives the same text again (what apply PUTs is what the next observe reads)."""
    keys = _keys_of(row)
    assert keys, f"{row.path}: the sample container does not exercise this row"
    for key in keys:
        text = print_key(key, EVERYTHING, OBSERVED)
        assert text, f"{row.path}: {key} printed nothing"
        value = row.parser(text, OBSERVED)
        path = _path_of(row, key)
        assert value == get_path(EVERYTHING, path), f"{key}: {text!r}"
        again = set_path(EVERYTHING, path, value)
        assert print_key(key, again, OBSERVED) == text


def test_each_key_is_printed_by_one_row_and_read_by_its_rows() -> None:
    params = create_params(EVERYTHING, Site(stack="homelab"))
    readers = {r.key for r in OPTIONS if r.parser is not None}
    for key in params:
        if key == "pool":
            continue  # a create parameter, not a config key
        prefix = key.rstrip("0123456789")
        assert key in readers or f"{prefix}[n]" in readers, key
    assert params["rootfs"] == "local-lvm:16,acl=1,mountoptions=noatime;nodev,quota=0,replicate=0"
    assert params["tags"] == "prod;pxrun-homelab;web"


def test_a_whole_config_reads_back_as_the_container() -> None:
    raw = {key: print_key(key, EVERYTHING, OBSERVED) or ""
           for key in create_params(EVERYTHING, Site(stack="homelab")) if key != "pool"}
    raw["lxc"] = print_key("lxc", EVERYTHING, OBSERVED) or ""  # the file's raw lines
    fields = read_config(raw, OBSERVED)
    fields.update(name="web", vmid=101, pool="prod", ha=EVERYTHING.ha)  # ha: not config
    assert Container.model_validate(fields) == EVERYTHING


def test_absent_keys_read_as_proxmox_defaults_where_the_spec_would_invent_one() -> None:
    fields = read_config({"rootfs": "local-lvm:vm-7-disk-0"}, Site(vmid=7, cpus=6))
    assert fields["resources"] == {"cores": 6, "memory": 512, "swap": 512, "disk": 4}
    assert fields["hostname"] == "CT7" and fields["unprivileged"] is False
    assert "onboot" not in fields and "tags" not in fields  # None: unset, not a default


@pytest.mark.parametrize(("path", "kind", "key"), [
    ("networks.net3.ip", ChangeKind.LIVE, "net3"),
    ("mounts.mp7", ChangeKind.MOUNT, "mp7"),
    ("devices.dev0.gid", ChangeKind.DEVICE, "dev0"),
    ("features.keyctl", ChangeKind.PENDING, "features"),
    ("resources.disk", ChangeKind.RESIZE, "rootfs"),
    ("resources.memory", ChangeKind.LIVE, "memory"),
    ("provision.packages", ChangeKind.PROVISION, None),
    ("template", ChangeKind.REPLACE, None),
    ("image", ChangeKind.REPLACE, None),
    ("lxc", ChangeKind.RAW, "lxc"),
    ("idmap.gids", ChangeKind.RAW, "lxc"),
    ("ha.max_restart", ChangeKind.HA, None),
    ("entrypoint", ChangeKind.PENDING, "entrypoint"),
])
def test_lookup(path: str, kind: ChangeKind, key: str | None) -> None:
    assert option_for(path).kind is kind
    assert key_for(path) == key


def test_only_what_makes_the_root_filesystem_replaces() -> None:
    replacing = {row.path for row in OPTIONS if row.kind is ChangeKind.REPLACE}
    assert replacing == {"template", "image", "unprivileged", "arch", "vmid"}


def test_unknown_path_has_no_row() -> None:
    with pytest.raises(KeyError):
        option_for("nonsense")


def test_derived_tables() -> None:
    assert {"name", "password", "ssh_keys", "provision", "lifecycle",
                         "depends_on"} == SPEC_ONLY
    assert ABSENT[Container]["onboot"] is False and ABSENT[Container]["tty"] == 2
    assert ABSENT[Resources] == {"cpulimit": 0.0, "cpuunits": 100, "memory": 512,
                                 "swap": 512, "disk": 4}
    assert ABSENT[RootFs] == {"quota": False, "replicate": True}
    assert ABSENT[Features]["keyctl"] is False and "mount" not in ABSENT[Features]
