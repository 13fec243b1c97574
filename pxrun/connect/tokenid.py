"""API token ids, and the secret people paste along with them.

Proxmox shows a new token as `user@realm!name` and its secret apart, but the header it
expects is `PVEAPIToken=user@realm!name=SECRET`, and that whole string is what gets
copied into `PROXMOX_TOKEN_ID`, a profile or `--token-id`. Such a value must neither be
refused with a message that quotes it (the secret would land in a CI log) nor be shown
later as "the token id" by `pxrun doctor`. So it is split here, once: the id part goes on,
the secret part is handed back to the caller to use (and to redact everywhere), and a
message about a token id only ever quotes the part before `=`.

Pure and small on purpose: `pxrun.cli.main` reads the environment's token id through it
at start-up, before anything can print, to learn a pasted secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pxrun.errors import ConfigError

TOKEN_ID = re.compile(r"[^\s@!:=]+@[A-Za-z][A-Za-z0-9.\-_]*![A-Za-z][A-Za-z0-9.\-_]*")
_HEADER = re.compile(r"^\s*(?:Authorization\s*:\s*)?PVEAPIToken\s*=\s*", re.IGNORECASE)


@dataclass(frozen=True)
class TokenId:
    """A token id as given: `text` (everything before a pasted secret, trimmed) and the
    pasted `secret` (None when there was none)."""

    text: str
    secret: str | None = None

    @property
    def valid(self) -> bool:
        return TOKEN_ID.fullmatch(self.text) is not None


def split_token_id(value: str) -> TokenId:
    """`user@realm!name`, `user@realm!name=SECRET` or `PVEAPIToken=user@realm!name=SECRET`
    (with or without an `Authorization:` in front) -> the id and the pasted secret."""
    text = _HEADER.sub("", value.strip(), count=1)
    ident, sep, secret = text.partition("=")
    return TokenId(ident.strip(), secret.strip() if sep and secret.strip() else None)


def pasted_secret(value: str | None) -> str | None:
    """The secret pasted into a token id value, if any (for redaction at start-up)."""
    return split_token_id(value).secret if value else None


def parse_token_id(text: Any, source: str = "token_id") -> tuple[str, str | None]:
    """(`user@realm!name`, a secret pasted after `=` or None). A message about a wrong id
    never quotes it: what was pasted there may be the secret itself."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{source}: the API token id is empty", hint=_TOKEN_ID_HINT)
    token = split_token_id(text)
    if not token.valid:
        raise ConfigError(f"{source} is not an API token id: {_what_is_wrong(token.text)}",
                          hint=_TOKEN_ID_HINT)
    if token.secret is not None and source == "--token-id":
        raise ConfigError(
            "--token-id holds a token secret after '=': a command line is visible to every "
            "user of this machine", hint="pass only user@realm!name to --token-id and give "
            "the secret in PROXMOX_TOKEN_SECRET, .env, a profile or sops; the secret is now "
            "in your shell history, so consider regenerating the token")
    return token.text, token.secret


_TOKEN_ID_HINT = ("a token id looks like user@realm!tokenname, e.g. root@pam!pxrun; pxrun "
                  "authenticates with API tokens, not passwords")


def _what_is_wrong(text: str) -> str:
    """Why `text` is not `user@realm!name`, in words that do not repeat it."""
    if re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", text):
        return "it looks like a token secret (a UUID), not its id"
    if "@" not in text:
        return "there is no @realm"
    if "!" not in text:
        return "there is no !tokenname after user@realm"
    if any(c.isspace() for c in text):
        return "it contains white space"
    return "the realm and the token name must start with a letter"


def pasted_token_secret(pasted: str, configured: Any, id_source: str, secret_source: str,
                   warnings: list[str]) -> str:
    """The secret to use when the token id came with one after `=`: that one, unless a
    token secret is configured too and differs (then which one is meant is unclear)."""
    if isinstance(configured, str) and configured.strip() and configured.strip() != pasted:
        raise ConfigError(f"{id_source} holds a token secret after '=' that differs from the "
                          f"token secret of {secret_source}",
                          hint=f"keep only user@realm!name in {id_source}")
    warnings.append(f"{id_source} holds the token secret after '=': pxrun splits it off, "
                    "but keep only user@realm!name there and the secret in "
                    "PROXMOX_TOKEN_SECRET, .env, a profile or sops")
    return pasted
