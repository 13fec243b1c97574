"""More named formats: backups, calendar events, users and e-mail (see formats.py).

Kept apart so formats.py stays the container options' module; `formats.check_format` looks
here after its own table. Property strings that the schema names as a format (`prune-backups`,
`backup-fleecing`, `backup-performance`) are parsed with `propstr` and fail with its texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pxrun.sim import propstr
from pxrun.sim.formats import FormatError, _rx, perl_match

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_USERID = r"[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+"
_EMAIL = r"[\w+\-~]+(\.[\w+\-~]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*"
# systemd-like calendar events as PVE accepts them: weekday ranges, `HH:MM`, `*/N`, keywords.
_CALENDAR = re.compile(
    r"^(?:(?:minutely|hourly|daily|weekly|monthly|yearly|quarterly|semiannually|annually)"
    r"|(?:[a-z]{3}(?:\.\.[a-z]{3})?(?:,[a-z]{3}(?:\.\.[a-z]{3})?)*\s+)?"
    r"(?:[\d*/.,-]+\s+)?[\d*/.,]+(?::[\d*/.,]+){0,2})$")


def _propstr(fmt: str) -> Callable[[str], None]:
    def verify(value: str) -> None:
        try:
            propstr.parse(fmt, value)
        except propstr.PropStrError as error:
            raise FormatError(error.pve_text()) from None

    return verify


def verify_day_of_week(value: str) -> None:
    if value not in _DAYS:
        raise FormatError(f"invalid day of week '{value}'\n")


def verify_calendar_event(value: str) -> None:
    if not _CALENDAR.match(value.strip()):
        raise FormatError(f"unable to parse calendar event '{value}'\n")


def verify_email_or_username(value: str) -> None:
    if not (perl_match(_EMAIL, value) or perl_match(_USERID, value)):
        raise FormatError("value does not look like a valid email address or user name\n")


def verify_email(value: str) -> None:
    if not perl_match(_EMAIL, value):
        raise FormatError("value does not look like a valid email address\n")


def verify_tokenid(value: str) -> None:
    if not perl_match(rf"{_USERID}!(?:[A-Za-z][A-Za-z0-9.\-_]+)", value):
        raise FormatError(f"value '{value}' does not look like a valid token ID\n")


def verify_userid(value: str) -> None:
    if not perl_match(_USERID, value) or len(value) > 64:
        raise FormatError(f"value '{value}' does not look like a valid user name\n")


_PORT = r"(?:\d+|[a-z][a-z0-9\-+]*)"
_PORTS = rf"{_PORT}(?::{_PORT})?(?:,{_PORT}(?::{_PORT})?)*"


def _ip_or_cidr(value: str, alias: bool) -> bool:
    import ipaddress

    if alias and re.fullmatch(r"(?:(?:dc|guest)/)?[A-Za-z][A-Za-z0-9\-_]+", value):
        return True
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def verify_ip_or_cidr(value: str) -> None:
    if not _ip_or_cidr(value, alias=False):
        raise FormatError("value does not look like a valid IP address or CIDR network\n")


def verify_ip_or_cidr_or_alias(value: str) -> None:
    if not _ip_or_cidr(value, alias=True):
        raise FormatError("value does not look like a valid IP address, CIDR network or "
                          "alias\n")


def verify_fw_addr(value: str) -> None:
    """An address list, an IP set (`+name`) or an alias, as pve-firewall parses it."""
    if value.startswith("+"):
        if not re.fullmatch(r"\+(?:(?:dc|guest)/)?[A-Za-z][A-Za-z0-9\-_]+", value):
            raise FormatError(f"invalid ipset name '{value}'\n")
        return
    for part in value.split(","):
        ends = part.split("-", 1) if "-" in part and not _ip_or_cidr(part, True) else [part]
        if not all(_ip_or_cidr(e.strip(), alias=True) for e in ends):
            raise FormatError(f"invalid address '{part}'\n")


def verify_fw_ports(value: str) -> None:
    if not re.fullmatch(_PORTS, value):
        raise FormatError(f"invalid port '{value}'\n")


VERIFIERS: dict[str, Callable[[str], None]] = {
    "prune-backups": _propstr("prune-backups"),
    "backup-fleecing": _propstr("backup-fleecing"),
    "backup-performance": _propstr("backup-performance"),
    "pve-day-of-week": verify_day_of_week,
    "pve-calendar-event": verify_calendar_event,
    "email-or-username": verify_email_or_username,
    "pve-userid": verify_userid,
    "pve-tokenid": verify_tokenid,
    "email": verify_email,
    "pve-ha-resource-or-vm-id": _rx(r"(?:(?:ct|vm):)?\d+", "unable to parse service id\n"),
    "pve-ha-resource-id": _rx(r"(?:(?:ct|vm):)?\d+", "unable to parse service id\n"),
    "pve-ha-node": _rx(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?(?::\d+)?",
                       "unable to parse node '{value}'\n"),
    "IPorCIDR": verify_ip_or_cidr,
    "IPorCIDRorAlias": verify_ip_or_cidr_or_alias,
    "pve-fw-addr-spec": verify_fw_addr,
    "pve-fw-dport-spec": verify_fw_ports,
    "pve-fw-sport-spec": verify_fw_ports,
    "pve-fw-icmp-type-spec": _rx(r"[a-z\-]+|\d+(?:/\d+)?", "invalid icmp-type '{value}'\n"),
    "pve-fw-protocol-spec": _rx(r"[a-z0-9\-]+|\d+", "unknown protocol '{value}'\n", re.I),
    "pve-groupid": _rx(r"[A-Za-z0-9.\-_]+", "invalid group name '{value}'\n"),
    "pve-roleid": _rx(r"[A-Za-z0-9.\-_]+", "invalid role ID '{value}'\n"),
}
