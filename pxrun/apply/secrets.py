"""Secret values at the moment of the call: the plan names secrets, a source gives them.

A plan's operations hold `SecretText` (literal parts and `SecretRef`s) where a value to
write contains a secret, never the value itself (specs/0052). Apply asks its injected
`SecretSource` for each reference right before the API call that writes it, and keeps the
joined value only for that call. The CLI's source is the loaded spec's own secrets (the
sops file and the environment variables the spec reads); tests inject a plain mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pxrun.errors import ApplyError
from pxrun.plan.model import ConfigValue, SecretText


class SecretSource(Protocol):
    """Gives the value of a secret by its name (`secrets.db.password`, `env.TOKEN`)."""

    def secret(self, ref: str) -> str:
        """The value; raise a `PxrunError` when the secret is unknown."""
        ...


class SecretMap:
    """A `SecretSource` over a mapping of name -> value."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def secret(self, ref: str) -> str:
        try:
            return self._values[ref]
        except KeyError:
            raise ApplyError(f"the plan refers to the secret {ref}, which the spec does not "
                             "provide", hint="run `pxrun plan` again") from None


def resolve(value: ConfigValue, source: SecretSource | None) -> str:
    """The text to send for a planned value: secrets filled in from `source`."""
    if not isinstance(value, SecretText):
        return value
    if source is None:
        raise ApplyError(f"the plan refers to secrets ({', '.join(value.refs)}) but this "
                         "apply has no secret source", hint="apply with the plan's spec")
    return "".join(part if isinstance(part, str) else source.secret(part.ref)
                   for part in value.parts)


def resolve_all(values: Mapping[str, ConfigValue],
                source: SecretSource | None) -> dict[str, str]:
    return {key: resolve(value, source) for key, value in values.items()}
