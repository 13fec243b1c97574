"""Commands on the Proxmox nodes over SSH (Fabric), and the `pct set` root runner for apply.

Why SSH at all: Proxmox lets only root@pam set some container options (features other than
nesting, bind and device mount points, `devN`, `hookscript`; reference A6), and an API token
is never root@pam. The node's own `pct set` runs as root, so apply hands those options to
`PctSetRunner` (apply's `RootRunner` seam) instead of the API. Raw `lxc.*` lines (and
idmaps) no API call sets at all: they are written into the container's config file under
`/etc/pve/lxc/` (read, edited by apply, written back atomically under pve-container's lock).

Connections, targets and host keys are `sshconn`'s (shared with provisioning): one
connection per node, host keys checked against known_hosts. Command lines are built with
`shlex.join` and never carry a secret (these options hold none); no environment is forwarded.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pxrun.errors import NodeCommandError
from pxrun.provision.channel import CommandResult, run_command
from pxrun.provision.sshconn import (
    CONNECT_TIMEOUT,
    ConnectionPool,
    SshTarget,
    node_target,
    open_connection,
    ssh_errors,
)

if TYPE_CHECKING:
    from pxrun.connect.settings import SshSettings

__all__ = ["CONNECT_TIMEOUT", "CommandResult", "NodeShell", "PctSetRunner", "fabric_connection"]


def fabric_connection(ssh: SshSettings, node: str, timeout: float) -> Any:
    """A Fabric connection to `node` from the SSH settings; host keys checked strictly."""
    return open_connection(node_target(ssh, node), timeout)


class NodeShell:
    """Runs argv on the nodes over SSH: one connection per node, opened on first use and
    reused (nodes run in parallel). Close when done.

    `addresses` (node -> ip, from `/cluster/status`) is where a node is dialled unless the
    profile says otherwise; `pool` shares connections with provisioning.
    """

    def __init__(self, ssh: SshSettings, *, timeout: float = CONNECT_TIMEOUT,
                 addresses: Mapping[str, str] | None = None,
                 pool: ConnectionPool | None = None,
                 connect: Callable[[SshTarget, float], Any] | None = None) -> None:
        self.ssh = ssh
        self.timeout = timeout
        self.addresses = dict(addresses or {})
        self._own_pool = pool is None
        self.pool = pool or ConnectionPool(timeout=timeout, connect=connect or open_connection)

    def __enter__(self) -> NodeShell:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._own_pool:
            self.pool.close()

    def target(self, node: str) -> SshTarget:
        return node_target(self.ssh, node, self.addresses)

    def run(self, node: str, argv: Sequence[str], stdin: bytes | None = None) -> CommandResult:
        """Run `argv` on `node`; its exit status and output. Raises NodeSshError when the
        node cannot be reached (the command's own failure is a status, not an error)."""
        target = self.target(node)
        with self.pool.connection(target) as conn, ssh_errors(target):
            return run_command(conn, shlex.join(argv), stdin=stdin, timeout=None)

    def check(self, node: str, argv: Sequence[str], stdin: bytes | None = None,
              ) -> CommandResult:
        """Like `run`, but a non-zero exit raises NodeCommandError with the command's stderr."""
        result = self.run(node, argv, stdin)
        if result.status != 0:
            said = result.stderr.strip() or result.stdout.strip() or "no message"
            raise NodeCommandError(f"`{shlex.join(argv[:3])} ...` on {node} failed "
                                   f"(exit {result.status}): {said}",
                                   status=result.status, stderr=result.stderr)
        return result


class PctSetRunner:
    """apply's `RootRunner`: `pct set <vmid> --key value ...` on the node, as root.

    A login other than root (`ssh.user`) becomes root with `sudo -n` (no password prompt:
    the node's sudoers must allow `pct` for it).
    """

    def __init__(self, shell: NodeShell) -> None:
        self.shell = shell
        self.sudo = shell.ssh.user != "root"

    def pct(self, node: str, args: Sequence[str]) -> None:
        if not args or args[0] != "set":
            raise ValueError(f"PctSetRunner runs `pct set` only, not `pct {' '.join(args[:1])}`")
        argv = ["pct", *args]
        self.shell.check(node, self._root(argv))

    # -- the container's config file (raw lxc lines: no API call sets them) --------------

    def read_config(self, node: str, vmid: int) -> str:
        """The text of `/etc/pve/lxc/<vmid>.conf` on `node`."""
        return self.shell.check(node, self._root(["cat", config_path(vmid)])).stdout

    def write_config(self, node: str, vmid: int, text: str, expect: str) -> None:
        """Replace the config file with `text`, atomically, unless it changed since it was
        read (`expect`: the SHA-1 of what was read, which is also Proxmox's digest). Under
        pve-container's own lock, so no API write interleaves; written beside and renamed
        over, so a reader sees the old or the new file (pmxcfs renames atomically)."""
        path = config_path(vmid)
        result = self.shell.run(node, self._root(
            ["sh", "-c", _WRITE_CONFIG, "pxrun-write-config", path, expect, str(vmid)]),
            text.encode("utf-8"))
        if result.status == _CHANGED:
            raise NodeCommandError(f"{path} on {node} changed while pxrun edited it; nothing "
                                   "was written", status=result.status, stderr=result.stderr)
        if result.status != 0:
            said = result.stderr.strip() or result.stdout.strip() or "no message"
            raise NodeCommandError(f"writing {path} on {node} failed (exit {result.status}): "
                                   f"{said}", status=result.status, stderr=result.stderr)

    def ensure_lines(self, node: str, path: str, lines: Sequence[str]) -> None:
        """Append each of `lines` to `path` on `node` unless the file has it already
        (`/etc/subuid`, `/etc/subgid`)."""
        self.shell.check(node, self._root(["sh", "-c", _ENSURE_LINES, "pxrun-ensure-lines",
                                           path, *lines]))

    def _root(self, argv: list[str]) -> list[str]:
        return ["sudo", "-n", *argv] if self.sudo else argv


def config_path(vmid: int) -> str:
    return f"/etc/pve/lxc/{vmid}.conf"


_CHANGED = 3
# $1 config file, $2 the SHA-1 it had when read, $3 vmid; the new text on stdin. The lock
# is pve-container's own (PVE::LXC::Config->lock_config), so the API waits for us.
_WRITE_CONFIG = """set -e
mkdir -p /run/lock/lxc
exec 9>/run/lock/lxc/pve-config-"$3".lock
flock -w 10 9
if [ "$(sha1sum < "$1" | cut -d' ' -f1)" != "$2" ]; then
    echo "$1 changed since it was read" >&2; exit 3
fi
tmp="$(dirname "$1")/.$(basename "$1").pxrun.$$"
cat > "$tmp"
mv -f "$tmp" "$1"
"""
_ENSURE_LINES = """set -e
file="$1"; shift
touch "$file"
for line in "$@"; do grep -qxF -- "$line" "$file" || printf '%s\n' "$line" >> "$file"; done
"""
