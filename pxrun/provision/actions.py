"""What a step does, as data: shell scripts to run and files to put, plus the facts they need.

Why data: every step is a pure function (spec item + context -> actions), tested with plain
values; only the runner touches a transport. The rule that keeps secrets out of process
arguments lives in these types: `Exec.script` becomes part of a command line (`sh -c
'<script>'`), so it never holds a secret — secrets travel in `Exec.stdin` or `Put.data`,
and the runner refuses to send a script that contains a known secret.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pxrun.errors import PxrunError


@dataclass(frozen=True)
class Exec:
    """Run `script` with /bin/sh inside the container; `stdin` is fed to it and closed."""

    script: str
    stdin: bytes | None = None
    what: str = ""
    """A short description for the log (`install packages`)."""
    timeout: float | None = None
    """Seconds; None: the provision timeout."""


@dataclass(frozen=True)
class Put:
    """Write `data` to `dest` in the container with mode and owner (mode None: 0644)."""

    dest: str
    data: bytes = field(repr=False)
    mode: str | None = None
    owner: str | None = None
    group: str | None = None


Action = Exec | Put


@dataclass(frozen=True)
class Facts:
    """What the container says about itself (its /etc/os-release and init system)."""

    os_id: str = "unknown"
    like: tuple[str, ...] = ()
    version: str = ""
    family: str = "unknown"  # apt | dnf | apk | pacman | unknown
    init: str = "unknown"  # systemd | openrc | unknown


FACTS_SCRIPT = ("cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null; "
                "echo '--- pxrun'; if command -v systemctl >/dev/null 2>&1; then echo systemd; "
                "elif command -v rc-service >/dev/null 2>&1; then echo openrc; fi")
"""The probe the runner sends once per container; `parse_facts` reads its output."""

_FAMILIES = {"debian": "apt", "ubuntu": "apt", "devuan": "apt", "raspbian": "apt",
             "alpine": "apk", "fedora": "dnf", "rhel": "dnf", "centos": "dnf",
             "rocky": "dnf", "rockylinux": "dnf", "almalinux": "dnf", "ol": "dnf",
             "arch": "pacman", "archlinux": "pacman", "manjaro": "pacman"}


def parse_facts(output: str) -> Facts:
    """Facts from the probe's output (os-release lines, then `--- pxrun`, then the init)."""
    release, _, rest = output.partition("--- pxrun")
    values: dict[str, str] = {}
    for line in release.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.isidentifier():
            try:
                parts = shlex.split(value)
            except ValueError:
                parts = [value]
            values[key] = parts[0] if parts else ""
    os_id = values.get("ID", "unknown").lower() or "unknown"
    like = tuple(values.get("ID_LIKE", "").lower().split())
    family = next((_FAMILIES[i] for i in (os_id, *like) if i in _FAMILIES), "unknown")
    init = rest.strip().splitlines()[0] if rest.strip() else "unknown"
    return Facts(os_id, like, values.get("VERSION_ID", ""), family, init)


class StepError(PxrunError):
    """A step cannot be carried out in this container (before anything is run)."""

    hint = "see the step's message; fix the spec and run again"


def q(value: str) -> str:
    return shlex.quote(value)


def qjoin(values: Sequence[str]) -> str:
    return " ".join(shlex.quote(v) for v in values)


def install_script(facts: Facts, packages: Sequence[str]) -> str:
    """Install `packages` with the container's package manager, non-interactively."""
    names = qjoin(packages)
    if facts.family == "apt":
        return ("export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install"
                " -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef"
                f" -o Dpkg::Options::=--force-confold {names}")
    if facts.family == "dnf":
        return (f"if command -v dnf >/dev/null 2>&1; then dnf install -y -q {names}; "
                f"else yum install -y -q {names}; fi")
    if facts.family == "apk":
        return f"apk add --no-cache {names}"
    if facts.family == "pacman":
        return f"pacman -Sy --noconfirm --needed {names}"
    raise StepError(f"cannot install packages on {facts.os_id!r}: no apt, dnf, apk or pacman "
                    "known for it (see its /etc/os-release)")


def ensure_command(facts: Facts, command: str, package: str | None = None) -> str:
    """A script line that installs `package` unless `command` exists."""
    return (f"command -v {q(command)} >/dev/null 2>&1 || "
            f"{{ {install_script(facts, [package or command])}; }}")


def enable_service(facts: Facts, unit: str, openrc_name: str | None = None) -> str:
    """Enable a service at boot and start it now, with the container's init system."""
    if facts.init == "openrc" or facts.family == "apk":
        name = q(openrc_name or unit)
        return f"rc-update add {name} default && rc-service {name} start"
    return f"systemctl enable --now {q(unit)}"


def env_exports(env: Mapping[str, str]) -> str:
    """`export NAME='value'` lines (sourced from a private file, never a command line)."""
    return "".join(f"export {name}={q(value)}\n" for name, value in env.items())


def describe(actions: Sequence[Action]) -> list[str]:
    """One line per action for a dry run or a log (no data, no stdin)."""
    out = []
    for action in actions:
        if isinstance(action, Put):
            out.append(f"put {action.dest} ({len(action.data)} bytes, mode "
                       f"{action.mode or '0644'}, owner {action.owner or 'root'})")
        else:
            out.append(action.what or action.script.splitlines()[0][:80])
    return out


def secrets_in(text: str, secrets: frozenset[str] | set[str]) -> bool:
    return any(secret in text for secret in secrets)

