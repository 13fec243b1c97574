"""Property strings: recorded values -> tokens -> canonical print, and hypothesis round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pxrun.pve.propstr import (
    DEV,
    FEATURES,
    MP,
    NET,
    ROOTFS,
    PropertyStringError,
    PropFormat,
    format_for_key,
    parse_propstr,
    print_propstr,
)

DATA = json.loads((Path(__file__).parent / "fixtures" / "propstr.json").read_text())


def _fmt(key: str) -> PropFormat:
    fmt = format_for_key(key)
    assert fmt is not None, key
    return fmt


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: f"{c['key']}:{c['raw'][:30]}")
def test_recorded_value_parses_and_prints_canonically(case: dict[str, Any]) -> None:
    fmt = _fmt(case["key"])
    tokens = parse_propstr(case["raw"], fmt)
    assert tokens == case["tokens"]
    printed = print_propstr(tokens, fmt)
    assert printed == case["canonical"]
    # What Proxmox returns is already canonical: printing it again changes nothing.
    assert print_propstr(parse_propstr(printed, fmt), fmt) == printed


@pytest.mark.parametrize("case", DATA["errors"], ids=lambda c: f"{c['key']}:{c['raw']}")
def test_values_proxmox_refuses_are_refused(case: dict[str, Any]) -> None:
    with pytest.raises(PropertyStringError, match=case["match"]):
        parse_propstr(case["raw"], _fmt(case["key"]))


def test_format_for_key() -> None:
    assert format_for_key("net31") is NET
    assert format_for_key("mp255") is MP
    assert format_for_key("rootfs") is ROOTFS
    assert format_for_key("features") is FEATURES
    assert format_for_key("dev0") is DEV
    assert format_for_key("memory") is None
    assert format_for_key("net") is None


def test_printer_refuses_commas_and_unknown_keys() -> None:
    with pytest.raises(PropertyStringError, match="commas"):
        print_propstr({"name": "eth0", "bridge": "a,b"}, NET)
    with pytest.raises(PropertyStringError, match="unknown"):
        print_propstr({"name": "eth0", "colour": "blue"}, NET)


def test_printer_skips_none_and_prints_python_values() -> None:
    values: dict[str, Any] = {"name": "eth0", "firewall": True, "mtu": 1500, "rate": 5.0,
                              "ip": None}
    assert print_propstr(values, NET) == "name=eth0,firewall=1,mtu=1500,rate=5"
    assert print_propstr({"volume": "local-lvm:vm-1-disk-0", "size": 8 * 1024**3}, ROOTFS) \
        == "local-lvm:vm-1-disk-0,size=8G"


# -- properties ---------------------------------------------------------------------------

_text = st.text(alphabet=st.sampled_from("abcdefxyz0189:/-_.;"), min_size=1, max_size=12)


@st.composite
def _tokens(draw: st.DrawFn, fmt: PropFormat) -> dict[str, str]:
    keys = draw(st.sets(st.sampled_from(sorted(fmt.keys))))
    keys |= fmt.required
    values: dict[str, str] = {}
    for key in keys:
        if key in fmt.booleans:
            values[key] = draw(st.sampled_from(["0", "1"]))
        elif key in fmt.sizes:
            values[key] = draw(st.sampled_from(["8G", "512M", "1536M", "100K", "1T", "123"]))
        else:
            values[key] = draw(_text.filter(lambda t: "=" not in t))
    return values


@pytest.mark.parametrize("fmt", [NET, ROOTFS, MP, FEATURES, DEV], ids=lambda f: f.name)
@given(data=st.data())
def test_parse_print_round_trip(fmt: PropFormat, data: st.DataObject) -> None:
    tokens = data.draw(_tokens(fmt))
    printed = print_propstr(tokens, fmt)
    assert parse_propstr(printed, fmt) == tokens


@pytest.mark.parametrize("fmt", [NET, ROOTFS, MP, FEATURES, DEV], ids=lambda f: f.name)
@given(data=st.data())
def test_printing_follows_proxmox_order(fmt: PropFormat, data: st.DataObject) -> None:
    tokens = data.draw(_tokens(fmt))
    printed = print_propstr(tokens, fmt)
    parts = printed.split(",") if printed else []
    keys = []
    for i, part in enumerate(parts):
        key, sep, _ = part.partition("=")
        if i == 0 and fmt.default_key in tokens:
            assert part == tokens[fmt.default_key]  # the default key first, without `key=`
            continue
        assert sep
        keys.append(key)
    required = [k for k in keys if k in fmt.required]
    rest = [k for k in keys if k not in fmt.required]
    assert keys == sorted(required) + sorted(rest)


@pytest.mark.parametrize("case", DATA["holds"],
                         ids=lambda c: f"{c['key']}:{c['found'][:30]}:{c['holds']}")
def test_a_value_read_back_holds_what_was_written_or_not(case: dict[str, Any]) -> None:
    from pxrun.pve.propstr import holds

    assert holds(case["key"], case["written"], case["found"]) is case["holds"]
