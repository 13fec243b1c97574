"""`.env` parsing and the small value parsers, table-driven from cases/*.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pxrun.connect.dotenv import parse_dotenv, read_dotenv
from pxrun.connect.settings import parse_bool, parse_endpoint, parse_fingerprint, parse_timeout
from pxrun.errors import ConfigError

CASES = Path(__file__).parent / "cases"
DOTENV: list[dict[str, Any]] = yaml.safe_load((CASES / "dotenv.yaml").read_text())
ENDPOINTS: list[list[Any]] = yaml.safe_load((CASES / "endpoints.yaml").read_text())


@pytest.mark.parametrize("case", DOTENV, ids=[c["name"] for c in DOTENV])
def test_dotenv(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ConfigError) as info:
            parse_dotenv(case["text"])
        assert case["error"] in info.value.message
        assert "secret-value-only" not in info.value.message
    else:
        assert parse_dotenv(case["text"]) == case["expect"]


def test_missing_dotenv_is_empty(tmp_path: Path) -> None:
    assert read_dotenv(tmp_path / ".env") == {}


@pytest.mark.parametrize("kind", ["fifo", "huge", "folder"])
@pytest.mark.parametrize("reader", ["dotenv", "profiles"])
def test_a_hostile_config_file_is_refused_without_reading_it(tmp_path: Path, kind: str,
                                                             reader: str) -> None:
    """A `.env` or profiles file that is a FIFO (no writer: reading would block forever), a
    huge file or a folder is a ConfigError naming the file, at once."""
    import os

    from pxrun.connect.profiles import load_profiles

    path = tmp_path / "config"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        with path.open("wb") as out:
            out.truncate(64 << 20)  # sparse: 64 MiB that cost no disk
    else:
        path.mkdir()
    with pytest.raises(ConfigError) as info:
        read_dotenv(path) if reader == "dotenv" else load_profiles(path)
    assert str(path) in info.value.message


@pytest.mark.parametrize(("text", "url"), ENDPOINTS, ids=[repr(e[0]) for e in ENDPOINTS])
def test_endpoint_forms(text: str, url: str | None) -> None:
    if url is None:
        with pytest.raises(ConfigError):
            parse_endpoint(text)
    else:
        assert parse_endpoint(text).url == url


@pytest.mark.parametrize(("text", "value"), [
    ("1", True), ("yes", True), ("TRUE", True), ("on", True),
    ("0", False), ("no", False), ("False", False), ("off", False), (False, False),
])
def test_bools(text: Any, value: bool) -> None:
    assert parse_bool(text) is value


def test_bad_bool() -> None:
    with pytest.raises(ConfigError):
        parse_bool("maybe")


def test_fingerprint_forms() -> None:
    digits = "ab" * 32
    want = ":".join(["AB"] * 32)
    assert parse_fingerprint(digits) == want
    assert parse_fingerprint(want.lower()) == want
    assert parse_fingerprint(f"SHA256 Fingerprint={want}") == want
    assert parse_fingerprint(f"sha256:{digits}") == want
    with pytest.raises(ConfigError):
        parse_fingerprint("ab" * 20)  # a SHA-1 fingerprint is not accepted


@pytest.mark.parametrize("value", ["0", "-1", "abc", "7200"])
def test_bad_timeouts(value: str) -> None:
    with pytest.raises(ConfigError):
        parse_timeout(value)
