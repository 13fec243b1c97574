"""The system steps as actions: network wait, locale, packages, users, root's keys, password.

Each builder is pure: (spec item, BuildContext) -> actions. Scripts are POSIX sh that runs
on Debian/Ubuntu, the RHEL family, Alpine (busybox) and Arch alike, and is idempotent:
running a step again changes nothing that is already right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pxrun.provision.actions import (
    Action,
    Exec,
    Facts,
    Put,
    ensure_command,
    install_script,
    q,
)
from pxrun.spec.model_provision import User, WaitNetwork

KEYS_BEGIN = "# BEGIN pxrun managed keys"
KEYS_END = "# END pxrun managed keys"
_PROBES = {"apt": "deb.debian.org", "dnf": "mirrors.fedoraproject.org",
           "apk": "dl-cdn.alpinelinux.org", "pacman": "geo.mirror.pkgbuild.com"}


@dataclass(frozen=True)
class BuildContext:
    """What a builder may know besides its spec item."""

    facts: Facts
    hostname: str
    contents: Mapping[str, bytes] = field(default_factory=dict)
    """A file step's bytes by its label (rendered templates included)."""


def network(wait: WaitNetwork, ctx: BuildContext) -> list[Action]:
    """Wait for a default route, then for DNS to answer for the probe name."""
    probe = wait.probe or _PROBES.get(ctx.facts.family, "example.com")
    script = f"""probe={q(probe)}; limit={wait.timeout}
end=$(( $(date +%s) + limit )); route=""
while :; do
    if command -v ip >/dev/null 2>&1; then ip route show default 2>/dev/null | grep -q . && route=1
    else awk '$2 == "00000000" {{ f = 1 }} END {{ exit !f }}' /proc/net/route && route=1; fi
    if [ -n "$route" ] && getent hosts "$probe" >/dev/null 2>&1; then exit 0; fi
    [ "$(date +%s)" -ge "$end" ] && break
    sleep 1
done
if [ -z "$route" ]; then echo "no default route after $limit s" >&2
else echo "DNS does not answer for $probe after $limit s" >&2; fi
exit 1
"""
    return [Exec(script, what=f"wait for a default route and DNS ({probe})",
                 timeout=wait.timeout + 30)]


def locale(name: str, ctx: BuildContext) -> list[Action]:
    """Set the system locale (generating it first where it is not built in)."""
    family = ctx.facts.family
    builtin = name.split(".", maxsplit=1)[0] in ("C", "POSIX")
    lines = ["set -e"]
    if family == "apt":
        if not builtin:
            lines += [ensure_command(ctx.facts, "locale-gen", "locales"),
                      f"grep -q '^{_sed(name)} ' /etc/locale.gen 2>/dev/null || "
                      f"echo {q(name + ' ' + _charset(name))} >> /etc/locale.gen",
                      f"locale-gen {q(name)} >/dev/null"]
        lines += ["if command -v update-locale >/dev/null 2>&1; then "
                  f"update-locale LANG={q(name)}; else mkdir -p /etc/default; "
                  f"echo LANG={q(name)} > /etc/default/locale; fi"]
    elif family in ("dnf", "pacman"):
        if not builtin and family == "pacman":
            lines += [f"sed -i 's/^#\\({_sed(name)} \\)/\\1/' /etc/locale.gen",
                      f"grep -q '^{_sed(name)} ' /etc/locale.gen || "
                      f"echo {q(name + ' ' + _charset(name))} >> /etc/locale.gen",
                      "locale-gen >/dev/null"]
        lines += [f"echo LANG={q(name)} > /etc/locale.conf"]
    else:  # Alpine (musl needs no generated locales) and anything else: a login profile
        lines += ["mkdir -p /etc/profile.d",
                  f"echo 'export LANG={name}' > /etc/profile.d/00-pxrun-locale.sh"]
    return [Exec("\n".join(lines) + "\n", what=f"locale {name}")]


def _charset(name: str) -> str:
    return name.split(".", 1)[1].split("@", maxsplit=1)[0] if "." in name else "ISO-8859-1"


def _sed(name: str) -> str:
    return name.replace(".", "\\.")


def packages(names: Sequence[str], ctx: BuildContext) -> list[Action]:
    return [Exec(install_script(ctx.facts, names) + "\n",
                 what=f"install {', '.join(names)} ({ctx.facts.family})")]


def user(spec: User, ctx: BuildContext) -> list[Action]:
    """Create or update a user: uid, shell, supplementary groups (added, never removed),
    password-less sudo, and their authorized keys (pxrun's block; the rest kept)."""
    name = q(spec.name)
    groups = ",".join(spec.groups)
    lines = ["set -e"]
    for group in spec.groups:
        lines.append(f"grep -q '^{group}:' /etc/group || "
                     f"{{ groupadd {q(group)} 2>/dev/null || addgroup {q(group)}; }}")
    create = ["useradd", "-m"]
    modify = ["usermod"]
    if spec.uid is not None:
        create += ["-u", str(spec.uid)]
        modify += ["-u", str(spec.uid)]
    if spec.shell:
        create += ["-s", q(spec.shell)]
        modify += ["-s", q(spec.shell)]
    if groups:
        create += ["-G", q(groups)]
        modify += ["-a", "-G", q(groups)]
    busybox = ["adduser", "-D"] + (["-u", str(spec.uid)] if spec.uid is not None else []) + (
        ["-s", q(spec.shell)] if spec.shell else [])
    lines.append(f"if grep -q '^{spec.name}:' /etc/passwd; then")
    if len(modify) > 1:
        lines.append(f"    if command -v usermod >/dev/null 2>&1; then {' '.join(modify)} "
                     f"{name}; else {_busybox_groups(spec)}; fi")
    else:
        lines.append("    :")
    lines.append(f"elif command -v useradd >/dev/null 2>&1; then {' '.join(create)} {name}")
    lines.append(f"else {' '.join(busybox)} {name}; {_busybox_groups(spec)}; fi")
    sudoers = f"/etc/sudoers.d/90-pxrun-{spec.name}"
    if spec.sudo:
        lines += [ensure_command(ctx.facts, "sudo"), "mkdir -p /etc/sudoers.d",
                  f"echo {q(spec.name + ' ALL=(ALL:ALL) NOPASSWD: ALL')} > {q(sudoers)}",
                  f"chmod 0440 {q(sudoers)}"]
    else:
        lines.append(f"rm -f {q(sudoers)}")
    actions: list[Action] = [Exec("\n".join(lines) + "\n", what=f"user {spec.name}")]
    return [*actions, *authorized_keys(spec.name, spec.ssh_keys)]


def _busybox_groups(spec: User) -> str:
    if not spec.groups:
        return ":"
    return "; ".join(f"addgroup {q(spec.name)} {q(g)} 2>/dev/null || true" for g in spec.groups)


def authorized_keys(login: str, keys: Sequence[str]) -> list[Action]:
    """Replace pxrun's block in `login`'s authorized_keys with `keys` (from stdin), keeping
    every other line; no keys removes the block. Keys are public: no secret here, but the
    list can be long, so it goes through stdin rather than the command line."""
    who = q(login)
    script = f"""set -e
home=$(awk -F: -v u={who} '$1 == u {{ print $6 }}' /etc/passwd)
[ -n "$home" ] || {{ echo "no user {login}" >&2; exit 1; }}
mkdir -p "$home/.ssh"; chmod 700 "$home/.ssh"
file="$home/.ssh/authorized_keys"; tmp=$(mktemp "$home/.ssh/.authorized_keys.XXXXXX")
[ -f "$file" ] && awk -v b={q(KEYS_BEGIN)} -v e={q(KEYS_END)} \\
    '$0 == b {{ skip = 1; next }} $0 == e {{ skip = 0; next }} !skip' "$file" > "$tmp"
keys=$(cat)
[ -z "$keys" ] || printf '%s\\n%s\\n%s\\n' {q(KEYS_BEGIN)} "$keys" {q(KEYS_END)} >> "$tmp"
chmod 600 "$tmp"; chown {who}: "$tmp" "$home/.ssh"; mv -f "$tmp" "$file"
"""
    data = "".join(k.strip() + "\n" for k in keys).encode()
    return [Exec(script, stdin=data, what=f"authorized keys of {login} ({len(keys)})")]


def root_keys(keys: Sequence[str], ctx: BuildContext) -> list[Action]:
    return authorized_keys("root", keys)


def password(secret: str, ctx: BuildContext) -> list[Action]:
    """Root's password through chpasswd's stdin: never in an argument or a file."""
    script = ("command -v chpasswd >/dev/null 2>&1 || { echo 'chpasswd is not installed' >&2;"
              " exit 1; }\nchpasswd\n")
    return [Exec(script, stdin=f"root:{secret}\n".encode(), what="root password (chpasswd)")]


def put_file(dest: str, data: bytes, mode: str | None, owner: str | None,
             group: str | None) -> list[Action]:
    """A file with its parent directory made first (pct push does not create it)."""
    parent = dest.rsplit("/", 1)[0] or "/"
    return [Exec(f"mkdir -p {q(parent)}\n", what=f"directory {parent}"),
            Put(dest, data, mode, owner, group)]

