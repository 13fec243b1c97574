"""Spec model parts <-> property strings: parse(print(x)) == x, and printers for apply."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pxrun.pve.parts import (
    is_own_volume,
    parse_device,
    parse_features,
    parse_mount,
    parse_network,
    parse_rootfs,
    parse_startup_spec,
    print_device,
    print_features,
    print_mount,
    print_network,
    print_rootfs,
    print_startup_spec,
)
from pxrun.spec.model import Device, Features, Mount, Network, RootFs, Startup

_opt_bool = st.none() | st.booleans()
_ident = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
_mac = st.from_regex(r"[0-9A-F][02468ACE](:[0-9A-F]{2}){5}", fullmatch=True)
_ipv4 = st.sampled_from(["dhcp", "manual", "10.0.0.2/24", "192.168.1.10/16"])

networks = st.builds(
    Network, name=_ident, bridge=st.none() | _ident, ip=st.none() | _ipv4,
    gw=st.none() | st.just("10.0.0.1"), ip6=st.none() | st.sampled_from(["auto", "fd00::2/64"]),
    vlan=st.none() | st.integers(1, 4094),
    trunks=st.none() | st.lists(st.integers(1, 4094), min_size=1, max_size=3),
    mtu=st.none() | st.integers(64, 65535), rate=st.none() | st.sampled_from([1.0, 12.5]),
    firewall=_opt_bool, hwaddr=st.none() | _mac, link_down=_opt_bool, host_managed=_opt_bool)
_mount_opts = st.none() | st.lists(st.sampled_from(["noatime", "nodev", "discard"]),
                                   min_size=1, max_size=2, unique=True)
_common = {"acl": _opt_bool, "quota": _opt_bool, "replicate": _opt_bool, "read_only": _opt_bool,
           "keepattrs": _opt_bool, "mountoptions": _mount_opts}
own_mounts = st.builds(Mount, path=st.just("/srv/data"),
                       volume=st.integers(1, 999).map(lambda n: f"local-lvm:{n}"),
                       backup=_opt_bool, **_common)
bind_mounts = st.builds(Mount, path=st.just("/media"), host_path=st.just("/mnt/media"),
                        shared=_opt_bool, **_common)
devices = st.builds(Device, path=st.sampled_from(["/dev/net/tun", "/dev/dri/renderD128"]),
                    mode=st.none() | st.just("0660"), uid=st.none() | st.integers(0, 1000),
                    gid=st.none() | st.integers(0, 1000), deny_write=_opt_bool)
features = st.builds(Features, nesting=_opt_bool, keyctl=_opt_bool, fuse=_opt_bool,
                     mknod=_opt_bool, force_rw_sys=_opt_bool,
                     mount=st.none() | st.lists(st.sampled_from(["nfs", "cifs"]), min_size=1,
                                                max_size=2, unique=True))


@given(networks)
def test_network_round_trip(net: Network) -> None:
    assert parse_network(print_network(net)) == net


@given(devices)
def test_device_round_trip(device: Device) -> None:
    assert parse_device(print_device(device)) == device


@given(features)
def test_features_round_trip(feat: Features) -> None:
    parsed = parse_features(print_features(feat))
    assert parsed == (None if feat == Features() else feat)


@given(own_mounts)
def test_own_volume_round_trips_through_the_allocated_volid(mount: Mount) -> None:
    # What apply PUTs at create (`local-lvm:32`) reads back as the volid Proxmox allocated;
    # observe maps it back to the spec's form.
    volid = "local-lvm:vm-101-disk-1"
    printed = print_mount(mount, volid=volid)
    parsed, got_volid = parse_mount(printed, 101)
    assert parsed == mount and got_volid == volid


@given(bind_mounts)
def test_bind_mount_round_trip(mount: Mount) -> None:
    assert parse_mount(print_mount(mount), 101) == (mount, None)


@given(st.builds(Startup, order=st.none() | st.integers(0, 99), up=st.none() | st.integers(0, 600),
                 down=st.none() | st.integers(0, 600)))
def test_startup_round_trip(startup: Startup) -> None:
    parsed = parse_startup_spec(print_startup_spec(startup))
    assert parsed == (None if startup == Startup() else startup)


def test_print_network_keeps_the_observed_mac_when_the_spec_has_none() -> None:
    net = Network(name="eth0", bridge="vmbr0", ip="dhcp")
    assert print_network(net, hwaddr="bc:24:11:5e:7a:01") == \
        "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,type=veth"
    managed = net.model_copy(update={"hwaddr": "BC:24:11:00:00:02"})
    assert "hwaddr=BC:24:11:00:00:02" in print_network(managed, hwaddr="BC:24:11:5E:7A:01")


def test_print_mount_for_create_and_for_update() -> None:
    mount = Mount(path="/srv/data", volume="local-lvm:32", backup=True)
    assert print_mount(mount) == "local-lvm:32,mp=/srv/data,backup=1"
    assert print_mount(mount, volid="local-lvm:vm-101-disk-1") == \
        "local-lvm:vm-101-disk-1,mp=/srv/data,backup=1,size=32G"


def test_rootfs_printer_and_parser() -> None:
    text = print_rootfs("local-lvm:vm-101-disk-0", RootFs(acl=True, mountoptions=["noatime"]),
                        "8G")
    assert text == "local-lvm:vm-101-disk-0,acl=1,mountoptions=noatime,size=8G"
    root = parse_rootfs(text)
    assert (root.storage, root.size_gib, root.volid) == ("local-lvm", 8, "local-lvm:vm-101-disk-0")
    assert root.options == RootFs(acl=True, mountoptions=["noatime"])
    assert print_rootfs("local-lvm:8") == "local-lvm:8"


def test_own_volume_names() -> None:
    assert is_own_volume("local-lvm:vm-101-disk-0", 101)
    assert is_own_volume("local:101/vm-101-disk-2.raw", 101)
    assert is_own_volume("local-zfs:subvol-101-disk-0", 101)
    assert not is_own_volume("local-lvm:vm-200-disk-0", 101)
    assert not is_own_volume("/mnt/data", 101)
