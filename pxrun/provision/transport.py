"""Transports: how a script reaches a container, and how a file gets into it.

`PctTransport` (the default): SSH to the container's node, `pct exec <vmid> -- sh -c
'<script>'`; no sshd or network is needed inside the container. Files go through `pct push`
after an upload (stdin) to a private temporary directory on the node, which the same
command line removes afterwards, also on failure; or stream into the container (`cat >`,
then an atomic rename) with `file_method="stream"`.

`SshTransport` (`provision.via: ssh`): SSH straight to the container's address and
`sh -c '<script>'` there, for tokens that give no node shell; files stream.

Quoting is `shlex.quote` for the one remote shell that parses the command line (the node's
login shell, or the container's); `pct exec` passes its arguments to `sh -c` unchanged.
A login other than root prefixes `sudo -n`. Secrets never appear in a command line: the
runner checks every script before it is sent (see `actions.Exec`).
"""

from __future__ import annotations

import shlex
from typing import Protocol

from pxrun.provision.actions import Put, q
from pxrun.provision.channel import CommandResult, OutputCallback, run_command
from pxrun.provision.sshconn import ConnectionPool, SshTarget, ssh_errors


class Transport(Protocol):
    """Runs scripts in, and puts files into, one container."""

    @property
    def name(self) -> str:
        """Where commands go, for messages: `pve1/101` or `root@10.0.0.5:22`."""
        ...

    def run(self, script: str, *, stdin: bytes | None = None, timeout: float | None = None,
            on_output: OutputCallback | None = None) -> CommandResult:
        """Run `script` with /bin/sh in the container; its status and output."""
        ...

    def put(self, action: Put, *, timeout: float | None = None,
            on_output: OutputCallback | None = None) -> CommandResult:
        """Write a file with its mode and owner; a non-zero status says why not."""
        ...


def stream_script(action: Put) -> str:
    """Inside the container: stdin into a temporary file beside `dest`, owner and mode
    set, then renamed over `dest` (readers never see half a file)."""
    owner = action.owner or ""
    chown = ""
    if owner and action.group:
        chown = f'chown {q(owner + ":" + action.group)} "$tmp"\n'
    elif owner:
        chown = f'chown {q(owner)} "$tmp"\n'
    elif action.group:
        chown = f'chgrp {q(action.group)} "$tmp"\n'
    return (f"set -e\ndest={q(action.dest)}\numask 077\n"
            'tmp=$(mktemp "${dest%/*}/.pxrun.XXXXXX")\n'
            "trap 'rm -f \"$tmp\"' EXIT\n"
            'cat > "$tmp"\n' + chown
            + f'chmod {q(action.mode or "0644")} "$tmp"\n'
            'mv -f "$tmp" "$dest"\ntrap - EXIT\n')


class _SshBase:
    def __init__(self, pool: ConnectionPool, target: SshTarget, *, sudo: bool | None) -> None:
        self.pool = pool
        self.target = target
        self.sudo = target.user != "root" if sudo is None else sudo

    def _remote(self, command: str, stdin: bytes | None, timeout: float | None,
                on_output: OutputCallback | None) -> CommandResult:
        with self.pool.connection(self.target) as conn, ssh_errors(self.target):
            return run_command(conn, command, stdin=stdin, timeout=timeout, on_output=on_output)

    def _sudo(self) -> list[str]:
        return ["sudo", "-n"] if self.sudo else []


class PctTransport(_SshBase):
    """`pct exec` / `pct push` on the container's node."""

    def __init__(self, pool: ConnectionPool, node: SshTarget, vmid: int, *,
                 sudo: bool | None = None, file_method: str = "push") -> None:
        super().__init__(pool, node, sudo=sudo)
        self.vmid = vmid
        self.file_method = file_method

    @property
    def name(self) -> str:
        return f"{self.target.name}/{self.vmid}"

    def command(self, script: str) -> str:
        """The node's command line for `script` (what a test checks the quoting of)."""
        return shlex.join([*self._sudo(), "pct", "exec", str(self.vmid), "--", "sh", "-c",
                           script])

    def run(self, script: str, *, stdin: bytes | None = None, timeout: float | None = None,
            on_output: OutputCallback | None = None) -> CommandResult:
        return self._remote(self.command(script), stdin, timeout, on_output)

    def put(self, action: Put, *, timeout: float | None = None,
            on_output: OutputCallback | None = None) -> CommandResult:
        if self.file_method == "stream":
            return self.run(stream_script(action), stdin=action.data, timeout=timeout,
                            on_output=on_output)
        push = [*self._sudo(), "pct", "push", str(self.vmid), "$d/f", action.dest,
                "--perms", action.mode or "0644"]
        if action.owner:
            push += ["--user", action.owner]
        if action.group:
            push += ["--group", action.group]
        line = " ".join('"$d/f"' if arg == "$d/f" else shlex.quote(arg) for arg in push)
        command = ("umask 077; d=$(mktemp -d /tmp/pxrun.XXXXXXXX) || exit 1; "
                   f"trap 'rm -rf \"$d\"' EXIT; cat > \"$d/f\" && {line}")
        return self._remote(command, action.data, timeout, on_output)


class SshTransport(_SshBase):
    """SSH straight into the container (its own sshd and address)."""

    @property
    def name(self) -> str:
        return self.target.where

    def command(self, script: str) -> str:
        return shlex.join([*self._sudo(), "sh", "-c", script])

    def run(self, script: str, *, stdin: bytes | None = None, timeout: float | None = None,
            on_output: OutputCallback | None = None) -> CommandResult:
        return self._remote(self.command(script), stdin, timeout, on_output)

    def put(self, action: Put, *, timeout: float | None = None,
            on_output: OutputCallback | None = None) -> CommandResult:
        return self.run(stream_script(action), stdin=action.data, timeout=timeout,
                        on_output=on_output)
