"""The `pct` command language of a simulated node, with pct's own messages.

Why a parser of our own instead of Proxmox's `pct`: the command needs the live cluster model
(is CT 101 on this node, is it running), which lives in the simulator process. `pct` reaches
it two ways, with one meaning: an SSH exec request whose command line *is* a pct invocation
(optionally behind Fabric's `export VAR=value &&` prefix or `sudo`) is answered directly,
without starting a node shell (`parse`); inside a node shell, `/usr/sbin/pct` hands its
arguments to the simulator (`parse_args`, see `pct_client.py`). Messages and exit codes
follow PVE::CLI::pct: `die` exits 255.

Understood: `pct exec <vmid> [--keep-env 0|1] -- <cmd...>`, `pct push <vmid> <file> <dest>
[--perms M] [--user U] [--group G]`, `pct pull <vmid> <path> <dest> [same options]`,
`pct status <vmid> [--verbose]`, and `pct set <vmid> [--<option> <value>]... [--delete
k[,k]] [--revert k[,k]] [--digest D]`, which is `PUT .../config` as root@pam (the node's
own CLI), checked against the same parameter table (see `handlers.config.pct_set`).
"""

from __future__ import annotations

import errno
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

DIE = 255  # Perl's exit status for `die`, which is how pct reports every failure
_OPERATORS = frozenset({";", "&&", "||", "|", "&", "<", ">", ">>", "(", ")", "<<", ">&", "<&"})
_SUBCOMMANDS = ("exec", "push", "pull", "set", "status")


class PctError(Exception):
    """pct died with `message` (printed on stderr) and exit status `status`."""

    def __init__(self, message: str, status: int = DIE) -> None:
        super().__init__(message)
        self.message = message if message.endswith("\n") else message + "\n"
        self.status = status


@dataclass(frozen=True)
class Exec:
    vmid: int
    argv: tuple[str, ...]
    keep_env: bool = True
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Transfer:
    """`pct push` (into the CT) or `pct pull` (out of it): source, destination, ownership."""

    kind: str  # push | pull
    vmid: int
    source: str
    destination: str
    perms: str | None = None
    user: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class Status:
    vmid: int
    verbose: bool = False


@dataclass(frozen=True)
class Set:
    """`pct set`: the options as given (strings; validated by the server's table), in order."""

    vmid: int
    options: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Shell:
    """Not a pct command: run it with /bin/sh on the node."""

    command: str
    env: dict[str, str] = field(default_factory=dict)


Command = Exec | Transfer | Status | Set | Shell


def parse(command: str) -> Command:
    """Classify an SSH exec request: a pct invocation on its own, or a shell command line
    (pipes, lists and everything else). Raises PctError for a malformed pct invocation."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return Shell(command)
    env, tokens = _strip_exports(tokens)
    tokens = _strip_sudo(tokens)
    if not tokens or os.path.basename(tokens[0]) != "pct":
        return Shell(command)
    if any(t in _OPERATORS for t in tokens):
        return Shell(command)  # the node shell runs it, with /usr/sbin/pct on PATH
    return _parse_pct(tokens[1:], env)


def parse_args(args: Sequence[str]) -> Command:
    """`pct <args>` as the node shell's `/usr/sbin/pct` received them."""
    return _parse_pct(list(args), {})


def _strip_exports(tokens: list[str]) -> tuple[dict[str, str], list[str]]:
    """Fabric's `inline_ssh_env` form: `export A=1 B=2 && <command>`."""
    if len(tokens) < 3 or tokens[0] != "export" or "&&" not in tokens:
        return {}, tokens
    cut = tokens.index("&&")
    env = {}
    for item in tokens[1:cut]:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            return {}, tokens
        env[name] = value
    return env, tokens[cut + 1:]


_SUDO_FLAGS = frozenset({"-n", "-E", "-H", "-S", "-k", "--non-interactive",
                         "--preserve-env", "--set-home", "--stdin"})


def _strip_sudo(tokens: list[str]) -> list[str]:
    """`sudo [flags] [-u root] [--] pct ...` as a non-root node login sends it.

    Ansible's proxmox_pct_remote (and any careful operator) logs in as an ordinary user and
    becomes root with sudo. The simulator's node login already acts as root, so sudo to
    root is a no-op; sudo to anyone else is left for the shell to refuse.
    """
    if not tokens or os.path.basename(tokens[0]) != "sudo":
        return tokens
    rest = tokens[1:]
    while rest:
        head = rest[0]
        if head in _SUDO_FLAGS:
            rest = rest[1:]
        elif head in ("-u", "--user") and len(rest) > 1 and rest[1] == "root":
            rest = rest[2:]
        elif head in ("-uroot", "--user=root"):
            rest = rest[1:]
        elif head == "--":
            return rest[1:]
        else:
            break
    return rest if rest and os.path.basename(rest[0]) == "pct" else tokens


def _parse_pct(args: list[str], env: dict[str, str]) -> Command:
    if not args:
        raise PctError("ERROR: no command specified\nUSAGE: pct <COMMAND> [ARGS] [OPTIONS]")
    sub, rest = args[0], args[1:]
    if sub not in _SUBCOMMANDS:
        raise PctError(f"ERROR: unknown command 'pct {sub}'\n"
                       "(the pxrun simulator answers pct exec, push, pull, set and status; "
                       "use the API for everything else)")
    if sub == "set":
        return _parse_set(rest)
    extra: list[str] = []
    if sub == "exec" and "--" in rest:
        cut = rest.index("--")
        rest, extra = rest[:cut], rest[cut + 1:]
    options, positional = _options(rest, sub)
    if sub == "exec":
        if not positional:
            raise _usage(sub, "not enough arguments")
        extra = positional[1:] + extra
        if not extra:
            raise PctError("missing command")
        keep = options.get("keep-env", "1")
        return Exec(_vmid(positional[0]), tuple(extra), keep not in ("0", "false", "no"), env)
    if sub == "status":
        if len(positional) != 1:
            raise _usage(sub, "not enough arguments" if not positional else "too many arguments")
        return Status(_vmid(positional[0]), options.get("verbose", "0") not in ("0", "false"))
    if len(positional) < 3:
        raise _usage(sub, "not enough arguments")
    if len(positional) > 3:
        raise _usage(sub, "too many arguments")
    return Transfer(sub, _vmid(positional[0]), positional[1], positional[2],
                    options.get("perms"), options.get("user"), options.get("group"))


_ALLOWED = {"exec": {"keep-env"}, "status": {"verbose"},
            "push": {"perms", "user", "group"}, "pull": {"perms", "user", "group"}}
_FLAGS = {"verbose", "keep-env"}


def _options(args: list[str], sub: str) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        # exec's own options come before the command; everything after it is the command's
        if arg.startswith("-") and len(arg) > 1 and (sub != "exec" or len(positional) <= 1):
            name, sep, value = arg.lstrip("-").partition("=")
            if name not in _ALLOWED[sub]:
                raise PctError(f"400 Parameter verification failed.\n{name}: property is not "
                               f"defined in schema and the schema does not allow additional "
                               f"properties\n{_USAGE[sub]}")
            if not sep:
                nxt = args[i + 1] if i + 1 < len(args) else None
                if name in _FLAGS and (nxt is None or nxt not in ("0", "1")):
                    value = "1"
                elif nxt is None:
                    raise _usage(sub, f"missing value for option '{name}'")
                else:
                    value, i = nxt, i + 1
            options[name] = value
        else:
            positional.append(arg)
        i += 1
    return options, positional


def _parse_set(args: list[str]) -> Set:
    """`pct set <vmid> --key value ...`: every option takes a value (`--key=value` too)."""
    options: list[tuple[str, str]] = []
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and len(arg) > 1:
            name, sep, value = arg.lstrip("-").partition("=")
            if not sep:
                if i + 1 >= len(args):
                    raise _usage("set", f"missing value for option '{name}'")
                value, i = args[i + 1], i + 1
            if any(name == known for known, _ in options):
                raise PctError(f"400 Parameter verification failed.\n{name}: duplicate "
                               f"parameter\n{_USAGE['set']}")
            options.append((name, value))
        else:
            positional.append(arg)
        i += 1
    if len(positional) != 1:
        raise _usage("set", "not enough arguments" if not positional else "too many arguments")
    return Set(_vmid(positional[0]), tuple(options))


_USAGE = {
    "set": "pct set <vmid> [OPTIONS]",
    "exec": "pct exec <vmid> [<extra-args>] [OPTIONS]",
    "status": "pct status <vmid> [OPTIONS]",
    "push": "pct push <vmid> <file> <destination> [OPTIONS]",
    "pull": "pct pull <vmid> <path> <destination> [OPTIONS]",
}


def api_failure(message: str, errors: dict[str, str] | None, sub: str = "set") -> PctError:
    """An API handler's error as pct prints it: a 400's per-parameter lines and the usage,
    otherwise the `die` text alone."""
    if errors:
        lines = "".join(f"{key}: {text}\n" for key, text in sorted(errors.items()))
        return PctError(f"400 {message}\n{lines}{_USAGE[sub]}")
    return PctError(message)


def _usage(sub: str, problem: str) -> PctError:
    return PctError(f"400 {problem}\n{_USAGE[sub]}")


def _vmid(text: str) -> int:
    if not text.isdigit() or not 100 <= int(text) <= 999_999_999:
        raise PctError("400 Parameter verification failed.\nvmid: invalid format - value does "
                       "not look like a valid VM ID")
    return int(text)


# -- file transfers ------------------------------------------------------------------------


def resolve_inside(root: Path, path: str) -> Path:
    """`path` as seen from inside `root` (a chroot), following symlinks without escaping it."""
    pending = [p for p in reversed(path.split("/")) if p not in ("", ".")]
    parts: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part == "..":
            if parts:
                parts.pop()
            continue
        candidate = root.joinpath(*parts, part)
        if candidate.is_symlink():
            hops += 1
            if hops > 40:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
            target = os.readlink(candidate)
            if target.startswith("/"):
                parts = []
            pending.extend(p for p in reversed(target.split("/")) if p not in ("", "."))
            continue
        parts.append(part)
    return root.joinpath(*parts)


def _lookup_id(root: Path, table: str, name: str, what: str) -> int:
    if name.isdigit():
        return int(name)
    try:
        lines = (root / "etc" / table).read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        fields = line.split(":")
        if len(fields) > 2 and fields[0] == name and fields[2].isdigit():
            return int(fields[2])
    raise PctError(f"failed to get {what} for: {name}")


def _mode(perms: str) -> int:
    text = perms if perms.startswith("0") else "0" + perms  # pct: octal unless 0x
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text, 8)
    except ValueError:
        raise PctError(f"invalid mode: '{perms}'") from None


def transfer(request: Transfer, ct_root: Path, node_root: Path, cwd: str = "/root") -> None:
    """Copy a file between the node's and the container's views, as pct's create_file does.

    A relative path on the node side is relative to `cwd`, the caller's working directory.

    The owner (names looked up in the container's /etc/passwd and /etc/group) applies to the
    created file on both sides, like pct. Permissions are exact (not masked); a new file
    without `--perms` gets 0644.
    """
    source, destination = request.source, request.destination
    if request.kind == "push":
        src_root, dst_root, owner_root = node_root, ct_root, ct_root
        source = os.path.join(cwd, source)
    else:
        src_root, dst_root, owner_root = ct_root, node_root, ct_root
        destination = os.path.join(cwd, destination)
    uid = _lookup_id(owner_root, "passwd", request.user, "uid") if request.user else None
    gid = _lookup_id(owner_root, "group", request.group, "gid") if request.group else None
    mode = _mode(request.perms) if request.perms is not None else None
    src = resolve_inside(src_root, source)
    try:
        src_fd = os.open(src, os.O_RDONLY)
    except OSError as exc:
        if request.kind == "push":
            raise PctError(f"failed to open {request.source} for reading") from exc
        raise PctError(f"failed to open {request.source}: {exc.strerror}") from exc
    try:
        dst = resolve_inside(dst_root, destination)
        try:
            dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0)
            if mode is None:
                mode = 0o644
        except FileExistsError:
            dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        except OSError as exc:
            raise PctError(f"failed to create file: {request.destination}: "
                           f"{exc.strerror}") from exc
        try:
            if mode is not None:
                os.fchmod(dst_fd, mode)
            if uid is not None or gid is not None:
                stat = os.fstat(dst_fd)
                os.fchown(dst_fd, stat.st_uid if uid is None else uid,
                          stat.st_gid if gid is None else gid)
            while chunk := os.read(src_fd, 1 << 20):
                os.write(dst_fd, chunk)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
