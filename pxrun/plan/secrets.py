"""Secrets in values to write: found by value, carried by reference (`SecretText`).

Why by value: the spec is rendered before the planner sees it, so `{{ secrets.token }}` has
become plain text inside `env`, a description or a mount path. The planner knows every
secret by name and value (`PlanOptions.secrets`), so a printed config value that contains
one is split into literal text and references; apply joins them again with the values its
secret source gives at the moment of the call. The plan therefore never holds a secret,
and a saved plan applied later writes the value the secret has then (the spec hash, which
covers a MAC of every secret, refuses a plan whose secrets changed).

A secret that the spec transformed (a Jinja filter, `| upper`) is not found by value here;
the loader registers such a rendered value as a secret of its own (`pxrun.spec.derived`),
so it is found as a whole. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from pxrun.plan.model import ConfigValue, SecretRef, SecretText

Known = tuple[tuple[str, str], ...]
"""(value, name) pairs, longest value first: at one position the longest secret wins."""


def known_secrets(secrets: Mapping[str, str]) -> Known:
    return tuple(sorted(((value, name) for name, value in secrets.items() if value),
                        key=lambda item: (-len(item[0]), item[1])))


def seal(text: str, known: Known) -> ConfigValue:
    """`text` as it may be carried: unchanged without secrets, else a `SecretText` whose
    parts are the literal text around each secret and a reference in its place."""
    if not any(value in text for value, _ in known):
        return text
    parts: list[str | SecretRef] = []
    rest = text
    while rest:
        found: tuple[int, str, str] | None = None
        for value, name in known:
            at = rest.find(value)
            if at >= 0 and (found is None or at < found[0]):
                found = (at, value, name)
        if found is None:
            parts.append(rest)
            break
        at, value, name = found
        if at:
            parts.append(rest[:at])
        parts.append(SecretRef(ref=name))
        rest = rest[at + len(value):]
    return SecretText(parts=tuple(parts))


def seal_all(values: Mapping[str, str], known: Known) -> dict[str, ConfigValue]:
    if not known:  # no secrets in this run: nothing to look for, key by key
        return dict(values)
    return {key: seal(text, known) for key, text in values.items()}
