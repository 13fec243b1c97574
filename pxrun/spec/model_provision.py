"""The typed `provision:` block: what runs inside a container after it is created.

Only types and validation live here; the provision layer gives them behaviour (and
`spec.steps` the order, names and fingerprints). Secrets (the Tailscale auth key) are
SecretStr so neither repr nor model_dump shows them. Steps run in this order: wait for the
network, locale, packages, users, root's ssh keys, root's password, files, docker,
tailscale, run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, model_validator

from pxrun.spec.model_base import SpecModel, as_list, empty_list
from pxrun.spec.rules import (
    AbsPath,
    SshPublicKey,
    between,
    fail,
    matches,
    octal_mode,
)

UserName = Annotated[
    str, matches("user name", r"[a-z_][a-z0-9_-]{0,31}", "a Linux user name like deploy")
]
GroupName = Annotated[
    str, matches("group name", r"[a-z_][a-z0-9_-]{0,31}", "a Linux group name like sudo")
]
Owner = Annotated[str, matches("owner", r"[a-z_][a-z0-9_-]{0,31}|\d+", "a user name or uid")]
FileModeLong = Annotated[
    str, BeforeValidator(octal_mode), matches("mode", r"0?[0-7]{3,4}", "an octal mode like 0644")
]
EnvName = Annotated[str, matches("env name", r"[A-Za-z_][A-Za-z0-9_]*", "letters, digits, _")]
PackageName = Annotated[
    str, matches("package", r"[A-Za-z0-9][A-Za-z0-9+._:=~<>*-]*", "a package name like nginx")
]
SshKeys = Annotated[list[SshPublicKey], BeforeValidator(as_list)]
TailscaleTag = Annotated[
    str, matches("tailscale tag", r"tag:[a-z0-9][a-z0-9-]*", "like tag:server", flags=0)
]
Cidr = Annotated[
    str, matches("route", r"[0-9a-fA-F:.]+/\d{1,3}", "a CIDR like 10.0.0.0/24 or fd00::/64")
]
LocaleName = Annotated[
    str, matches("locale", r"[A-Za-z]+(_[A-Za-z]+)?(\.[A-Za-z0-9-]+)?(@[a-z]+)?",
                 "a locale like C.UTF-8 or en_US.UTF-8")
]
DnsProbe = Annotated[
    str, matches("probe", r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*",
                 "a host name like deb.debian.org")
]
Seconds = Annotated[int, between("timeout", 1, 86400)]


def _local_path(value: str) -> str:
    """`src`/`template` name a file; whether it may be read is one rule for the loader, the
    plan and provisioning alike (`spec.paths.resolve_inside`: inside the spec's folder,
    symlinks followed, unless --allow-outside-paths), reported at the line naming it."""
    if not value.strip():
        raise fail("a file path must not be empty")
    return value


LocalPath = Annotated[str, AfterValidator(_local_path)]  # after: a non-string is a type error


class User(SpecModel):
    """A user account to create or update inside the container."""

    name: UserName
    """Login name."""
    uid: Annotated[int, between("uid", 1, 4294967294)] | None = None
    """Numeric user id; the next free one when unset."""
    groups: list[GroupName] = []
    """Supplementary groups (created when missing)."""
    shell: AbsPath | None = None
    """Login shell, e.g. /bin/bash; the distribution's default when unset."""
    sudo: bool = False
    """Allow password-less sudo."""
    ssh_keys: SshKeys = []
    """Authorized public keys of this user."""


class DockerOptions(SpecModel):
    """Install Docker Engine (needs features nesting and keyctl on unprivileged containers)."""

    compose: bool = True
    """Install the compose plugin too."""
    users: list[UserName] = []
    """Users added to the docker group."""


class Tailscale(SpecModel):
    """Join the container to a tailnet."""

    auth_key: SecretStr
    """Auth key, best from secrets: {{ secrets.tailscale_key }}. Never shown."""
    hostname: str | None = None
    """Name on the tailnet; the container's hostname when unset."""
    tags: list[TailscaleTag] = []
    """ACL tags to advertise, like tag:server."""
    accept_routes: bool = False
    """Accept subnet routes other nodes advertise."""
    advertise_routes: list[Cidr] = []
    """Subnets this container routes for the tailnet."""
    ephemeral: bool = False
    """Register as an ephemeral node (removed when it goes offline); needs an OAuth client
    secret (tskey-client-...), to which `?ephemeral=true` is added."""
    extra_args: list[str] = []
    """More arguments for `tailscale up` (never the auth key: it is passed in a file)."""


class File(SpecModel):
    """A file to put into the container: exactly one of src, template or content."""

    dest: AbsPath
    """Absolute path inside the container."""
    src: LocalPath | None = None
    """A local file copied as is (relative to the spec's folder)."""
    template: LocalPath | None = None
    """A local Jinja2 template (relative to the spec's folder), rendered with vars, secrets,
    the container (name, hostname, vmid, node) and this file's own `vars`."""
    vars: dict[str, Any] = {}
    """Extra variables for the template."""
    content: str | None = None
    """The file's text, inline."""
    mode: FileModeLong | None = None
    """Octal mode like 0644."""
    owner: Owner | None = None
    """Owner user name or uid."""
    group: Owner | None = None
    """Group name or gid."""

    @model_validator(mode="after")
    def _one_source(self) -> File:
        given = [k for k in ("src", "template", "content") if getattr(self, k) is not None]
        if len(given) != 1:
            raise fail(f"file {self.dest} needs exactly one of src, template or content")
        return self


class RunStep(SpecModel):
    """A command or script run inside the container: exactly one of script or command."""

    name: str | None = None
    """What the step does, shown in progress output."""
    script: str | None = None
    """A script body, run by the interpreter."""
    command: str | None = None
    """A single command line."""
    interpreter: str | None = None
    """Runs the script, e.g. /bin/bash or python3; /bin/sh when unset."""
    env: dict[EnvName, str] = {}
    """Environment variables for the step."""
    cwd: AbsPath | None = None
    """Working directory inside the container."""
    timeout: Seconds | None = None
    """Seconds before the step is stopped and fails (default: the provision timeout)."""
    when: Literal["create", "always", "changed"] = "changed"
    """create: only when the container is first provisioned; changed: when this step or
    any step before it runs; always: on every apply."""
    continue_on_error: bool = False
    """A failure is reported, and the steps after it still run."""

    @model_validator(mode="after")
    def _one_body(self) -> RunStep:
        if (self.script is None) == (self.command is None):
            raise fail(f"run step {self.name or ''!r} needs exactly one of script or command")
        return self


class WaitNetwork(SpecModel):
    """Wait until the container has a default route and its DNS answers."""

    timeout: Seconds = 120
    """Seconds to wait before provisioning fails."""
    probe: DnsProbe | None = None
    """A name DNS must resolve; the distribution's package mirror when unset."""


class Provision(SpecModel):
    """Steps run inside the container after creation, in this order; re-run when changed."""

    via: Literal["pct", "ssh"] = "pct"
    """pct: SSH to the container's node and `pct exec` (no sshd needed in the container);
    ssh: SSH straight to the container's address (for tokens without a node shell)."""
    timeout: Seconds = 600
    """Seconds each step may take."""
    wait_network: bool | WaitNetwork = True
    """Wait for a default route and DNS first: true, false, or options."""
    locale: LocaleName | None = "C.UTF-8"
    """The system locale, set so package tools do not warn; null leaves it alone."""
    ssh_keys: SshKeys = Field(default_factory=empty_list)
    """Public keys authorized for root."""
    users: list[User] = Field(default_factory=empty_list)
    """User accounts."""
    packages: list[PackageName] = Field(default_factory=empty_list)
    """Packages installed with the distribution's package manager."""
    docker: bool | DockerOptions = False
    """Install Docker: true, or options."""
    tailscale: Tailscale | None = None
    """Join a tailnet."""
    files: list[File] = Field(default_factory=empty_list)
    """Files to write."""
    run: list[RunStep] = Field(default_factory=empty_list)
    """Commands and scripts, last."""
