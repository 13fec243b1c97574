"""One command over an open SSH connection: stdin in, stdout/stderr streamed out, a deadline.

Why a paramiko channel rather than Fabric's `Connection.run`: provisioning needs exact
control of three things Fabric's runner does not give cheaply — stdin sent whole and then
closed (Fabric feeds it a byte at a time from a thread), output delivered to a callback as
it arrives, and a hard deadline after which the channel is closed. Fabric still opens and
owns the connection (config, gateway, keys); this only uses its paramiko transport.

Output is decoded as UTF-8 (invalid bytes replaced) and handed to `on_output(stream, text)`
one complete line at a time (a final partial line at the end), so a redactor downstream
never sees half a line.
"""

from __future__ import annotations

import codecs
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OutputCallback = Callable[[str, str], None]
"""Called with ("stdout" | "stderr", one line of text including its newline)."""
_CHUNK = 1 << 16


@dataclass(frozen=True)
class CommandResult:
    status: int
    stdout: str
    stderr: str


class CommandTimeout(Exception):
    """The command did not finish before its deadline; the channel was closed."""

    def __init__(self, seconds: float, stdout: str, stderr: str) -> None:
        super().__init__(f"no result after {seconds:g} s")
        self.seconds = seconds
        self.stdout = stdout
        self.stderr = stderr


class _Lines:
    """Incremental UTF-8 decoding, split into lines for the callback; keeps the full text."""

    def __init__(self, stream: str, on_output: OutputCallback | None) -> None:
        self.stream = stream
        self.on_output = on_output
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.parts: list[str] = []
        self.pending = ""

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self.decoder.decode(data, final)
        self.parts.append(text)
        if self.on_output is None:
            return
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.on_output(self.stream, line + "\n")
        if final and self.pending:
            self.on_output(self.stream, self.pending)
            self.pending = ""

    @property
    def text(self) -> str:
        return "".join(self.parts)


def run_command(conn: Any, command: str, *, stdin: bytes | None = None,
                timeout: float | None = None,
                on_output: OutputCallback | None = None) -> CommandResult:
    """Run `command` (one line for the remote shell) and wait for its exit status.

    `stdin` is sent in full and then closed (no stdin: closed at once, so a command that
    reads it sees end of file rather than waiting). Raises CommandTimeout after `timeout`
    seconds; transport failures propagate as paramiko's exceptions (see `ssh_errors`).
    """
    transport = conn.client.get_transport() if hasattr(conn, "client") else conn
    channel = transport.open_session()
    out, err = _Lines("stdout", on_output), _Lines("stderr", on_output)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        channel.exec_command(command)
        if stdin:
            channel.sendall(stdin)
        channel.shutdown_write()
        while True:
            while channel.recv_ready():
                out.feed(channel.recv(_CHUNK))
            while channel.recv_stderr_ready():
                err.feed(channel.recv_stderr(_CHUNK))
            if channel.exit_status_ready() and channel.eof_received and not (
                    channel.recv_ready() or channel.recv_stderr_ready()):
                break
            if channel.closed and not (channel.recv_ready() or channel.recv_stderr_ready()):
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                out.feed(b"", final=True)
                err.feed(b"", final=True)
                raise CommandTimeout(timeout or 0, out.text, err.text)
            select.select([channel], [], [], left)
        out.feed(b"", final=True)
        err.feed(b"", final=True)
        return CommandResult(channel.recv_exit_status(), out.text, err.text)
    finally:
        channel.close()
