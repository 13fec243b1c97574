"""Per-container root directories, seeded from the template's distribution, and bubblewrap.

Why a directory per container plus the host's binaries underneath: provisioning runs real
shells and coreutils, so it must be exercised with real ones, but no container image can be
downloaded here. The root carries what identifies a distribution (`/etc/os-release`, users,
hostname, a package database) and is writable; `/usr`, `/bin`, `/lib`... are the host's,
read-only; package and service managers are shims (`shims/`) that record what was asked.
This is a simulation, not isolation or security: commands run as the host's root.

Layout: `<state_dir>/rootfs/<vmid>/` per container, `<state_dir>/volumes/<volid>/` per
mount point volume (so its files move, and are reassigned, with the volume),
`<state_dir>/nodefs/<node>/` per node (the node's "/" for SFTP and its shell), and
`<state_dir>/shims/` (generated at start).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from pxrun.sim.sandbox import SHIM_MOUNT

# Which shim implements each tool, and which tools each package-manager family has.
TOOLS: dict[str, str] = {
    "apt-get": "apt", "apt": "apt", "apt-cache": "apt", "dpkg": "dpkg", "dpkg-query": "dpkg",
    "dnf": "dnf", "yum": "dnf", "rpm": "dnf", "apk": "apk", "pacman": "pacman",
    "systemctl": "service", "service": "service", "rc-service": "service",
    "rc-update": "service", "curl": "fetch", "wget": "fetch", "chpasswd": "chpasswd",
    "locale-gen": "locale", "update-locale": "locale", "localedef": "locale", "ip": "ip",
    "getent": "getent",
}
# Every distribution: no network of its own (ip, getent, curl), passwords without PAM.
_COMMON = ("curl", "wget", "chpasswd", "ip", "getent")
_SYSTEMD = ("systemctl", "service")
FAMILY_TOOLS: dict[str, tuple[str, ...]] = {
    "apt": ("apt-get", "apt", "apt-cache", "dpkg", "dpkg-query", "locale-gen", "update-locale",
            "localedef", *_SYSTEMD, *_COMMON),
    "dnf": ("dnf", "yum", "rpm", "localedef", *_SYSTEMD, *_COMMON),
    "apk": ("apk", "rc-service", "rc-update", *_COMMON),
    "pacman": ("pacman", "locale-gen", "localedef", *_SYSTEMD, *_COMMON),
}


@dataclass(frozen=True)
class Distro:
    """What a template says about its distribution."""

    id: str
    version: str
    family: str  # apt | dnf | apk | pacman

    def os_release(self) -> str:
        name, like, codename = _NAMES.get(self.id, (self.id.title(), "", ""))
        if self.id == "debian":
            codename = _DEBIAN_CODENAMES.get(self.version.split(".")[0], "")
        elif self.id == "ubuntu":
            codename = _UBUNTU_CODENAMES.get(self.version, "")
        pretty = f"{name} {self.version}" + (f" ({codename})" if codename else "")
        lines = [f'PRETTY_NAME="{pretty}"', f'NAME="{name}"', f'VERSION_ID="{self.version}"',
                 f'VERSION="{self.version}' + (f' ({codename})"' if codename else '"'),
                 f"ID={self.id}"]
        if like:
            lines.append(f'ID_LIKE="{like}"')
        if codename:
            lines.append(f"VERSION_CODENAME={codename}")
        lines.append('HOME_URL="https://example.invalid/pxrun-simulator"')
        return "\n".join(lines) + "\n"


_NAMES = {
    "debian": ("Debian GNU/Linux", "", ""), "ubuntu": ("Ubuntu", "debian", ""),
    "alpine": ("Alpine Linux", "", ""), "fedora": ("Fedora Linux", "", ""),
    "rockylinux": ("Rocky Linux", "rhel centos fedora", ""),
    "almalinux": ("AlmaLinux", "rhel centos fedora", ""),
    "centos": ("CentOS Stream", "rhel fedora", ""), "archlinux": ("Arch Linux", "", ""),
}
_DEBIAN_CODENAMES = {"10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie"}
_UBUNTU_CODENAMES = {"20.04": "focal", "22.04": "jammy", "24.04": "noble", "24.10": "oracular",
                     "25.04": "plucky"}
_FAMILY = {"debian": "apt", "ubuntu": "apt", "devuan": "apt", "alpine": "apk", "fedora": "dnf",
           "centos": "dnf", "rockylinux": "dnf", "almalinux": "dnf", "archlinux": "pacman"}
_DEFAULT_VERSION = {"debian": "12", "ubuntu": "24.04", "alpine": "3.20", "fedora": "41",
                    "centos": "9", "rockylinux": "9", "almalinux": "9", "archlinux": "rolling"}
_TEMPLATE = re.compile(r"(?:^|/)([a-z]+)-(\d+(?:\.\d+)?|base)[-_]")
_SEED_PACKAGES = {
    "apt": ("base-files", "bash", "coreutils", "dpkg", "apt", "ca-certificates", "locales",
            "openssh-server", "systemd", "iproute2"),
    "dnf": ("bash", "coreutils", "dnf", "rpm", "systemd", "openssh-server"),
    "apk": ("alpine-base", "busybox", "apk-tools", "openrc"),
    "pacman": ("base", "bash", "coreutils", "pacman", "systemd"),
}


def distro_for(ostype: str | None, template: str | None) -> Distro:
    """Work the distribution out from the template volume name, else from `ostype`."""
    found = _TEMPLATE.search(template or "")
    dist_id = found.group(1) if found and found.group(1) in _FAMILY else (ostype or "debian")
    if dist_id not in _FAMILY:
        dist_id = "debian"
    version = _DEFAULT_VERSION[dist_id]
    if found and found.group(1) == dist_id and found.group(2) != "base":
        version = found.group(2)
    return Distro(dist_id, version, _FAMILY[dist_id])


def rootfs_dir(state_dir: Path, vmid: int) -> Path:
    return state_dir / "rootfs" / str(vmid)


def nodefs_dir(state_dir: Path, node: str) -> Path:
    return state_dir / "nodefs" / node


def ensure_rootfs(state_dir: Path, vmid: int, distro: Distro, hostname: str) -> Path:
    """Seed a container's root on first use (lazily, at its first `pct` command)."""
    root = rootfs_dir(state_dir, vmid)
    if (root / "etc" / "os-release").is_file():
        return root
    tmp = root.with_name(f".{vmid}.seeding.{os.getpid()}")  # two processes may seed at once
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in ("etc/ssh", "etc/skel", "root", "tmp", "var/log/pxrun-sim", "var/lib/pxrun-sim",
                "var/tmp", "home", "usr/local/bin", "usr/local/sbin", "opt", "run", "srv",
                "mnt"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    (tmp / "tmp").chmod(0o1777)
    (tmp / "root").chmod(0o700)
    etc = tmp / "etc"
    etc.joinpath("os-release").write_text(distro.os_release(), encoding="utf-8")
    etc.joinpath("hostname").write_text(hostname + "\n", encoding="utf-8")
    etc.joinpath("hosts").write_text(
        f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost ip6-localhost\n",
        encoding="utf-8")
    shell = "/bin/ash" if distro.family == "apk" else "/bin/bash"
    etc.joinpath("passwd").write_text(
        f"root:x:0:0:root:/root:{shell}\nnobody:x:65534:65534:nobody:/nonexistent:"
        "/usr/sbin/nologin\n", encoding="utf-8")
    etc.joinpath("group").write_text("root:x:0:\nusers:x:100:\nnogroup:x:65534:\n",
                                     encoding="utf-8")
    _write_private(etc / "shadow", "root:*:20000:0:99999:7:::\nnobody:*:20000:0:99999:7:::\n")
    _write_private(etc / "gshadow", "root:*::\nusers:*::\nnogroup:*::\n")
    etc.joinpath("login.defs").write_text(
        "UID_MIN 1000\nUID_MAX 60000\nGID_MIN 1000\nGID_MAX 60000\nCREATE_HOME yes\n"
        "USERGROUPS_ENAB yes\nENCRYPT_METHOD SHA512\n", encoding="utf-8")
    etc.joinpath("shells").write_text("/bin/sh\n/bin/bash\n/usr/bin/bash\n", encoding="utf-8")
    etc.joinpath("resolv.conf").write_text("nameserver 127.0.0.53\n", encoding="utf-8")
    etc.joinpath("nsswitch.conf").write_text(
        "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n", encoding="utf-8")
    (tmp / "root" / ".profile").write_text("# pxrun simulator\n", encoding="utf-8")
    packages = "".join(f"{name} 1.0-sim\n" for name in _SEED_PACKAGES[distro.family])
    (tmp / "var/lib/pxrun-sim/packages").write_text(packages, encoding="utf-8")
    (tmp / "var/lib/pxrun-sim/family").write_text(distro.family + "\n", encoding="utf-8")
    root.parent.mkdir(parents=True, exist_ok=True)
    if root.exists() and not (root / "etc" / "os-release").is_file():
        shutil.rmtree(root, ignore_errors=True)  # a root someone emptied
    try:
        tmp.rename(root)
    except OSError:  # another process finished first: keep its root
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def ensure_nodefs(state_dir: Path, node: str) -> Path:
    """The node's own "/": where SFTP uploads land and node shell commands run."""
    root = nodefs_dir(state_dir, node)
    if (root / "etc" / "hostname").is_file():
        return root
    for sub in ("etc", "root", "tmp", "var/tmp", "var/lib/vz/template/cache"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (root / "etc/group").write_text("root:x:0:\n", encoding="utf-8")
    (root / "etc/os-release").write_text(
        Distro("debian", "12", "apt").os_release(), encoding="utf-8")
    (root / "etc/hostname").write_text(node + "\n", encoding="utf-8")
    for name in ("subuid", "subgid"):  # what a fresh Proxmox VE install allows root
        (root / "etc" / name).write_text("root:100000:65536\n", encoding="utf-8")
    return root


def remove_rootfs(state_dir: Path, vmid: int) -> None:
    shutil.rmtree(rootfs_dir(state_dir, vmid), ignore_errors=True)


def _write_private(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o640)


def install_shims(state_dir: Path) -> Path:
    """Write the shim scripts into `<state_dir>/shims/` (lib/ plus one bin/ per family).

    Why copies: package data need not keep its executable bit, and a per-family bin
    directory lets `command -v apt-get` fail inside an Alpine container, as it should.
    """
    base = state_dir / "shims"
    lib = base / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    source = resources.files("pxrun.sim").joinpath("shims")
    for entry in source.iterdir():
        if entry.name.endswith(".sh"):
            _write_if_changed(lib / entry.name, entry.read_text(encoding="utf-8"), 0o755)
    for family, tools in FAMILY_TOOLS.items():
        bin_dir = base / family / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        for tool in tools:
            script = (f'#!/bin/sh\nexec /bin/sh {SHIM_MOUNT}/lib/{TOOLS[tool]}.sh {tool} "$@"\n')
            _write_if_changed(bin_dir / tool, script, 0o755)
    return base


_SUDO = """#!/bin/sh
# pxrun simulator: sudo on a node. The node login already acts as root, so sudo to root
# runs the command as it is; another target user is refused (the node has no such users).
while [ $# -gt 0 ]; do
    case "$1" in
        -n|-E|-H|-S|-k|--non-interactive|--preserve-env|--set-home|--stdin) shift ;;
        -u|--user) [ "$2" = root ] || { echo "sudo: unknown user $2" >&2; exit 1; }; shift 2 ;;
        -uroot|--user=root) shift ;;
        --) shift; break ;;
        -*) echo "sudo: option $1 is not simulated" >&2; exit 1 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: sudo [-n] [-u root] command" >&2; exit 1; }
exec "$@"
"""


def install_node_tools(state_dir: Path) -> dict[str, Path]:
    """Write a node's own commands (`pct`, `sudo`) into `<state_dir>/shims/node/`.

    `pct` is `pct_client.py` run by the host's python3 (visible in every view through the
    host's /usr); its shebang skips site-packages so it starts in a few milliseconds.
    """
    base = state_dir / "shims" / "node"
    base.mkdir(parents=True, exist_ok=True)
    python = "/usr/bin/python3 -IS" if Path("/usr/bin/python3").exists() else (
        "/usr/bin/env python3")
    client = resources.files("pxrun.sim").joinpath("pct_client.py").read_text(encoding="utf-8")
    _write_if_changed(base / "pct", f"#!{python}\n{client}", 0o755)
    _write_if_changed(base / "sudo", _SUDO, 0o755)
    return {"pct": base / "pct", "sudo": base / "sudo"}


def _write_if_changed(path: Path, text: str, mode: int) -> None:
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(mode)
        tmp.replace(path)


def prune_rootfs(state_dir: Path, vmids: set[int]) -> None:
    """Drop the roots of containers that no longer exist (destroyed while we were away)."""
    base = state_dir / "rootfs"
    if not base.is_dir():
        return
    for entry in base.iterdir():
        if entry.name.isdigit() and int(entry.name) not in vmids:
            shutil.rmtree(entry, ignore_errors=True)


# -- mount point volumes -------------------------------------------------------------------


def volume_dir(state_dir: Path, volid: str) -> Path:
    """Where a volume's files live, by volume id (`local-lvm:vm-101-disk-1`).

    Why by volume id: whatever moves, renames, copies or reassigns a volume (migrate,
    move_volume, clone, snapshot) moves the directory with it through the functions below,
    and every container that mounts the volume sees the same files.
    """
    return state_dir / "volumes" / quote(volid, safe="")


def ensure_volume_dir(state_dir: Path, volid: str) -> Path:
    path = volume_dir(state_dir, volid)
    path.mkdir(parents=True, exist_ok=True)
    return path


def rename_volume_dir(state_dir: Path, old: str, new: str) -> None:
    """A volume got a new id (move_volume to another storage, reassignment to another CT)."""
    source = volume_dir(state_dir, old)
    if source.is_dir() and old != new:
        target = volume_dir(state_dir, new)
        shutil.rmtree(target, ignore_errors=True)
        source.rename(target)


def copy_volume_dir(state_dir: Path, source: str, target: str) -> None:
    """A volume was copied (full clone, a copy kept by move_volume, a snapshot's content)."""
    src = volume_dir(state_dir, source)
    dst = volume_dir(state_dir, target)
    shutil.rmtree(dst, ignore_errors=True)
    if src.is_dir():
        shutil.copytree(src, dst, symlinks=True)


def remove_volume_dir(state_dir: Path, volid: str) -> None:
    shutil.rmtree(volume_dir(state_dir, volid), ignore_errors=True)


def prune_volume_dirs(state_dir: Path, volids: Iterable[str]) -> None:
    """Drop the files of volumes that no storage holds any more (freed while we were away)."""
    base = state_dir / "volumes"
    if not base.is_dir():
        return
    keep = {volume_dir(state_dir, v).name for v in volids}
    for entry in base.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)
