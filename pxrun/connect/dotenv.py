"""Read a `.env` file into a dict, without touching `os.environ`.

Why our own parser: pxrun 0.1.1 users keep `PROXMOX_*` in a `.env` beside their specs, and
the values must rank *below* the real environment. Exporting them into `os.environ` (what
python-dotenv's `load_dotenv` does) would hide where a value came from and leak the token
secret into every child process (sops, ssh). The accepted syntax is the common subset:

    # comment
    KEY=value                 # trailing comment after whitespace
    export KEY=value
    KEY="double quoted \\n escapes, # not a comment"
    KEY='single quoted, taken literally'
    KEY=                      # empty value

No variable expansion, no multi-line values. A line that is not `KEY=VALUE` is reported
with its line number (never its content: it may hold a secret).
"""

from __future__ import annotations

import re
from pathlib import Path

from pxrun.errors import ConfigError

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_DOUBLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def parse_dotenv(text: str, *, source: str = ".env") -> dict[str, str]:
    """Parse `.env` text. Later assignments of a key win, as in a shell."""
    values: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("export ", "export\t")):
            line = line[len("export"):].lstrip()
        key, sep, rest = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            raise ConfigError(f"{source}:{lineno}: expected KEY=VALUE",
                              hint="fix or remove that line of the .env file")
        values[key] = _parse_value(rest.lstrip(), source=source, lineno=lineno)
    return values


def _parse_value(rest: str, *, source: str, lineno: int) -> str:
    if rest[:1] in ('"', "'"):
        quote = rest[0]
        out: list[str] = []
        i = 1
        while i < len(rest):
            ch = rest[i]
            if quote == '"' and ch == "\\" and i + 1 < len(rest):
                nxt = rest[i + 1]
                out.append(_DOUBLE_ESCAPES.get(nxt, "\\" + nxt))
                i += 2
                continue
            if ch == quote:
                tail = rest[i + 1:].strip()
                if tail and not tail.startswith("#"):
                    raise ConfigError(f"{source}:{lineno}: unexpected text after the closing quote",
                                      hint="quote the whole value")
                return "".join(out)
            out.append(ch)
            i += 1
        raise ConfigError(f"{source}:{lineno}: missing closing quote",
                          hint="values spanning several lines are not supported")
    # Unquoted: a `#` starts a comment only after whitespace, so `a#b` stays intact.
    comment = re.search(r"\s#", rest)
    if comment:
        rest = rest[:comment.start()]
    return rest.strip()


CONFIG_LIMIT = 1 << 20
"""The most a `.env` or profiles file may hold (1 MiB: a few dozen lines are usual)."""


def read_dotenv(path: Path) -> dict[str, str]:
    """The values of `path`, or an empty dict when there is no such file."""
    from pxrun.spec.paths import LocalFileError, read_bounded

    if not path.exists():
        return {}
    try:  # bounded: a `.env` that is a FIFO, a device or huge must not hang or fill memory
        text = read_bounded(path, limit=CONFIG_LIMIT, fifo=False).decode("utf-8")
    except (LocalFileError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return parse_dotenv(text, source=str(path))
