"""bubblewrap command lines for the two kinds of views: a container's and a node's.

Why bubblewrap: provisioning must run real shells and coreutils against a root that looks
like the container's (its /etc, its packages, its mount points), and a node must look like a
node (its own "/", `pct` on PATH, `/etc/pve`). bwrap gives each command such a view in a few
milliseconds without images or daemons. The host's `/usr` (and `/bin`, `/lib`… as usrmerge
symlinks) is shared read-only underneath; everything else comes from the state directory.
This is a simulation, not isolation or security: commands run as the host's root, and the
network namespace is the host's.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BWRAP_MISSING = ("bubblewrap (bwrap) is not installed: the simulator needs it to run commands "
                 "in a container's file view; install the Debian package 'bubblewrap'")

SHIM_MOUNT = "/opt/pxrun-sim"
"""Where a container sees the shims: `lib/` (implementations) and `bin/` (its family's tools)."""
HOST_TOOLS = f"{SHIM_MOUNT}/host"
"""Host binaries a shim delegates to (getent for non-hosts databases), under their own names."""
CONTAINER_PATH = f"{SHIM_MOUNT}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOST_SBIN = "/run/pxrun-sim/host-sbin"
"""Where a node view keeps the host's /usr/sbin, so /usr/sbin itself can hold `pct`."""


@dataclass(frozen=True)
class Bind:
    """`source` (a host path) seen at `target` inside the view."""

    source: Path
    target: str
    read_only: bool = False

    def args(self) -> list[str]:
        return ["--ro-bind" if self.read_only else "--bind", str(self.source), self.target]


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _host_system_binds(root: Path) -> list[str]:
    """The host's system directories, read-only; symlinked ones (usrmerge) stay symlinks.

    The symlinks are made in the root itself (bwrap's --symlink refuses an existing one).
    The bits of the host's /etc its binaries need (alternatives, the ld.so cache) are
    bound read-only too: without /etc/alternatives, `awk` is a dangling symlink.
    """
    (root / "usr" / "local").mkdir(parents=True, exist_ok=True)
    args: list[str] = ["--ro-bind", "/usr", "/usr", "--bind", f"{root}/usr/local", "/usr/local"]
    for name in _HOST_ETC:
        args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / name
        mine = root / name
        if host.is_symlink():
            if not mine.is_symlink():
                if mine.is_dir():
                    shutil.rmtree(mine)
                mine.symlink_to(os.readlink(host))
        elif host.is_dir():
            args += ["--ro-bind", str(host), f"/{name}"]
    return args


@functools.cache
def host_tool_paths(tool: str) -> tuple[str, ...]:
    """Where the host has `tool` (the paths a shim of that name must cover).

    Symlinks are left out: they lead to a covered file (`/usr/sbin/ip -> /bin/ip`), and
    bwrap cannot mount over a symlink.
    """
    found = []
    for directory in ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"):
        path = Path(directory) / tool
        if path.exists() and not path.is_dir() and not path.is_symlink():
            found.append(str(path))
    return tuple(found)


def _tail(env: Mapping[str, str], cwd: str, argv: Sequence[str]) -> list[str]:
    args: list[str] = []
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return [*args, "--chdir", cwd, "--", *argv]


def container_argv(root: Path, shims: Path, family: str, hostname: str,
                   argv: Sequence[str], env: Mapping[str, str], *,
                   tools: Mapping[str, str], family_tools: Sequence[str],
                   mounts: Sequence[Bind] = (), cwd: str = "/root") -> list[str]:
    """The bwrap command line running `argv` inside a container's file view.

    `tools` maps every shimmed tool to its implementation; the container's own family's
    tools (`family_tools`) cover host binaries of the same name, another family's are
    covered by /dev/null, so `command -v apt-get` answers as on that distribution. `mounts`
    are the container's mount points (volumes and bind mounts), mounted in path order.
    """
    bwrap = bwrap_path() or "bwrap"
    args = [bwrap, "--bind", str(root), "/", *_host_system_binds(root)]
    args += ["--ro-bind", str(shims / "lib"), f"{SHIM_MOUNT}/lib",
             "--ro-bind", str(shims / family / "bin"), f"{SHIM_MOUNT}/bin"]
    own = set(family_tools)
    for tool in sorted(tools):
        for host_path in host_tool_paths(tool):
            if host_path.startswith("/usr/local/"):
                continue  # the container's own /usr/local, not the host's
            cover = str(shims / family / "bin" / tool) if tool in own else "/dev/null"
            args += ["--ro-bind", cover, host_path]
    for tool in _passthrough():
        args += ["--ro-bind", tool, f"{HOST_TOOLS}/{os.path.basename(tool)}"]
    for mount in sorted(mounts, key=lambda m: (m.target.count("/"), m.target)):
        args += mount.args()
    args += ["--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--unshare-uts",
             "--unshare-ipc", "--hostname", hostname, "--die-with-parent", "--clearenv"]
    return args + _tail(env, cwd, argv)


_HOST_ETC = tuple(n for n in ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d")
                  if os.path.exists(f"/etc/{n}"))


@functools.cache
def _passthrough() -> tuple[str, ...]:
    return tuple(p for p in ("/usr/bin/getent",) if os.path.exists(p))


@functools.cache
def _host_sbin() -> tuple[str, ...]:
    try:
        return tuple(sorted(os.listdir("/usr/sbin")))
    except OSError:
        return ()


def node_argv(root: Path, node: str, argv: Sequence[str], env: Mapping[str, str], *,
              sbin_tools: Mapping[str, Path] | None = None, binds: Sequence[Bind] = (),
              cwd: str = "/root") -> list[str]:
    """The bwrap command line running `argv` on a node (its sandbox as "/").

    `sbin_tools` (name -> file) appear in /usr/sbin beside the host's own commands: that
    is how `pct` (and `sudo`) become commands on PATH, at the path a real node has them
    (`/usr/sbin/pct`, which Ansible calls by full path). /usr/sbin becomes a small tmpfs of
    symlinks to the host's /usr/sbin, because bwrap cannot add a file to a read-only bind.
    """
    bwrap = bwrap_path() or "bwrap"
    args = [bwrap, "--bind", str(root), "/", *_host_system_binds(root)]
    if sbin_tools:
        args += ["--ro-bind", "/usr/sbin", HOST_SBIN, "--tmpfs", "/usr/sbin"]
        for name in _host_sbin():
            if name not in sbin_tools:
                args += ["--symlink", f"{HOST_SBIN}/{name}", f"/usr/sbin/{name}"]
        for name, path in sorted(sbin_tools.items()):
            args += ["--ro-bind", str(path), f"/usr/sbin/{name}"]
    for bind in binds:
        args += bind.args()
    args += ["--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--unshare-uts",
             "--hostname", node, "--die-with-parent", "--clearenv"]
    return args + _tail(env, cwd, argv)
