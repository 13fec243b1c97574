"""Property strings: table-driven parse/print cases and hypothesis round-trips."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pxrun.sim import propstr
from pxrun.sim.propstr import PropStrError

CASES: dict[str, list[list[Any]]] = yaml.safe_load(
    (Path(__file__).parent / "cases" / "propstr.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize(("fmt", "text", "expected"), CASES["canonical"])
def test_canonical(fmt: str, text: str, expected: str) -> None:
    assert propstr.canonical(fmt, text) == expected


@pytest.mark.parametrize(("fmt", "text", "expected"), CASES["parsed"])
def test_parsed(fmt: str, text: str, expected: dict[str, Any]) -> None:
    assert propstr.parse(fmt, text) == expected


@pytest.mark.parametrize(("fmt", "text", "message", "errors"), CASES["errors"])
def test_errors(fmt: str, text: str, message: str, errors: dict[str, str]) -> None:
    with pytest.raises(PropStrError) as caught:
        propstr.parse(fmt, text)
    assert caught.value.message == message
    assert caught.value.errors == errors


def test_error_paths_and_pve_text() -> None:
    with pytest.raises(PropStrError) as caught:
        propstr.parse("net", "name=eth0,tag=5000", "net3")
    assert caught.value.errors == {"net3.tag": "value must have a maximum value of 4094"}
    assert (
        caught.value.pve_text()
        == "format error\nnet3.tag: value must have a maximum value of 4094\n"
    )


def test_print_rejects_commas_unknown_keys_and_missing_required() -> None:
    with pytest.raises(PropStrError, match="illegal value with commas for mount"):
        propstr.print_("features", {"mount": "nfs,cifs"})
    with pytest.raises(PropStrError, match="invalid key 'foo'"):
        propstr.print_("net", {"name": "eth0", "foo": 1})
    with pytest.raises(PropStrError) as caught:
        propstr.print_("mp", {"volume": "local:8"})
    assert caught.value.errors == {"mp": "property is missing and it is not optional"}


def test_print_leaves_out_none_and_formats_sizes() -> None:
    assert propstr.print_("rootfs", {"volume": "local:8", "size": 8 << 30, "ro": None}) == (
        "local:8,size=8G"
    )
    assert propstr.print_("rootfs", {"volume": "local:8", "size": "2048M"}) == "local:8,size=2G"
    assert propstr.print_("net", {"name": "eth0", "firewall": True}) == "name=eth0,firewall=1"


def test_fmt_of() -> None:
    assert [propstr.fmt_of(k) for k in ("net31", "mp0", "rootfs", "memory", "unused7")] == [
        "net",
        "mp",
        "rootfs",
        None,
        "unused",
    ]


# -- hypothesis: parse(print(x)) == x and print is canonical -------------------------------

_word = st.from_regex(r"[a-z][a-z0-9_.-]{0,10}", fullmatch=True)
_bool = st.sampled_from([0, 1])
_hex = "0123456789ABCDEF"
_mac = st.tuples(
    st.sampled_from(_hex),
    st.sampled_from("02468ACE"),
    st.lists(st.sampled_from(_hex), min_size=10, max_size=10),
).map(
    lambda t: t[0] + t[1] + "".join(f":{a}{b}" for a, b in zip(t[2][::2], t[2][1::2], strict=True))
)
_ipv4 = st.ip_addresses(v=4).map(str)
_ipv6 = st.ip_addresses(v=6).map(str)
_volume = st.builds(
    lambda s, v, d: f"{s}:vm-{v}-disk-{d}",
    _word.filter(lambda w: w[-1].isalnum() and len(w) > 1),
    st.integers(100, 999999),
    st.integers(0, 9),
)
_path = (
    st.lists(_word, min_size=1, max_size=3)
    .map(lambda parts: "/" + "/".join(parts))
    .filter(lambda p: "/." not in p)
)
_mountopts = st.lists(
    st.sampled_from(["discard", "lazytime", "noatime", "nodev", "noexec", "nosuid"]),
    min_size=1,
    max_size=3,
).map(";".join)

_DISK = {
    "size": st.integers(0, 1 << 45),
    "acl": _bool,
    "quota": _bool,
    "ro": _bool,
    "replicate": _bool,
    "shared": _bool,
    "mountoptions": _mountopts,
}
STRATEGIES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # format: (required keys, optional keys)
    "net": (
        {"name": _word},
        {
            "bridge": _word,
            "firewall": _bool,
            "gw": _ipv4,
            "gw6": _ipv6,
            "host-managed": _bool,
            "hwaddr": _mac,
            "ip": st.one_of(
                st.sampled_from(["dhcp", "manual"]),
                st.builds(lambda a, p: f"{a}/{p}", _ipv4, st.integers(8, 32)),
            ),
            "ip6": st.one_of(
                st.sampled_from(["auto", "dhcp", "manual"]),
                st.builds(lambda a, p: f"{a}/{p}", _ipv6, st.integers(8, 128)),
            ),
            "link_down": _bool,
            "mtu": st.integers(64, 65535),
            "rate": st.integers(0, 10**6).map(lambda n: n / 100),
            "tag": st.integers(1, 4094),
            "trunks": st.lists(st.integers(1, 4094), min_size=1, max_size=4).map(
                lambda v: ";".join(map(str, v))
            ),
            "type": st.just("veth"),
        },
    ),
    "rootfs": ({"volume": _volume}, _DISK),
    "mp": (
        {"volume": st.one_of(_volume, _path), "mp": _path},
        {**_DISK, "backup": _bool, "keepattrs": _bool},
    ),
    "features": (
        {},
        {
            "force_rw_sys": _bool,
            "fuse": _bool,
            "keyctl": _bool,
            "mknod": _bool,
            "nesting": _bool,
            "mount": st.lists(st.sampled_from(["nfs", "cifs", "ext4"]), min_size=1, max_size=3).map(
                ";".join
            ),
        },
    ),
    "dev": (
        {},
        {
            "path": _word.map(lambda w: f"/dev/{w}").filter(lambda p: "/." not in p),
            "deny-write": _bool,
            "gid": st.integers(0, 65535),
            "uid": st.integers(0, 65535),
            "mode": st.from_regex(r"0[0-7]{3}", fullmatch=True),
        },
    ),
    "unused": ({"volume": _volume}, {}),
    "startup": (
        {},
        {"order": st.integers(0, 999), "up": st.integers(0, 999), "down": st.integers(0, 999)},
    ),
}


@st.composite
def values(draw: st.DrawFn, fmt: str) -> dict[str, Any]:
    required, optional = STRATEGIES[fmt]
    result = {k: draw(s) for k, s in required.items()}
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)) if optional else []:
        result[key] = draw(optional[key])
    if fmt == "startup" and not result:
        result["order"] = draw(st.integers(1, 999))
    return result


@pytest.mark.parametrize("fmt", sorted(STRATEGIES))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_round_trip_and_canonical(fmt: str, data: st.DataObject) -> None:
    x = data.draw(values(fmt))
    text = propstr.print_(fmt, x)
    assert propstr.parse(fmt, text) == x
    # Any order of `key=value` parts prints back to the same canonical text.
    parts = [p for p in text.split(",") if p]
    if fmt != "startup":
        dkey = propstr.default_key(fmt)
        parts = [f"{dkey}={p}" if "=" not in p else p for p in parts]
    random.Random(data.draw(st.integers(0, 2**16))).shuffle(parts)
    assert propstr.print_(fmt, propstr.parse(fmt, ",".join(parts))) == text
