"""`/usr/sbin/pct` on a simulated node: hands its arguments and stdio to the simulator.

Why a client at all: `pct` needs the live cluster model (is CT 101 here, is it running),
which lives in the simulator process, while the shell that runs `pct` lives in the node's
bubblewrap view. This file is copied into the view as the `pct` command (with a shebang for
the host's python3) and run there; it must use the standard library only.

Protocol on the node's Unix socket (`/run/pxrun-sim/pct.sock`): one message, a 4-byte
big-endian length and a JSON object `{argv, cwd, env}`, sent with the caller's stdin,
stdout and stderr as SCM_RIGHTS file descriptors; the simulator runs the command with those
very descriptors (pipes, redirections and binary data work as on a real node) and answers
with a 4-byte exit status. When this process dies (Ctrl-C, a dropped SSH session), the
socket closes and the simulator stops the command.
"""

from __future__ import annotations

import array
import json
import os
import socket
import sys

SOCKET = "/run/pxrun-sim/pct.sock"


def _stdio() -> list[int]:
    """fds 0-2, with /dev/null standing in for a closed one (`pct exec 101 -- true <&-`)."""
    fds = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:
            fds.append(os.open(os.devnull, os.O_RDWR))
    return fds


def main() -> int:
    message = json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(),
                          "env": dict(os.environ)}).encode()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(SOCKET)
    except OSError as exc:
        sys.stderr.write(f"pct: the simulator is not answering ({exc.strerror})\n")
        return 255
    fds = array.array("i", _stdio())
    data = len(message).to_bytes(4, "big") + message
    sent = sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])
    if sent < len(data):
        sock.sendall(data[sent:])
    reply = b""
    while len(reply) < 4:
        chunk = sock.recv(4 - len(reply))
        if not chunk:
            sys.stderr.write("pct: the simulator closed the connection\n")
            return 255
        reply += chunk
    return int.from_bytes(reply, "big")


if __name__ == "__main__":
    sys.exit(main())
