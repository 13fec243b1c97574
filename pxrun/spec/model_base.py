"""The base class of every spec model, and the slot-keyed map keys (net0, mp0, dev0).

Why frozen and extra="forbid": desired state is a value that the planner compares, never
mutates; and an unknown key is almost always a typo, which the loader turns into
"unknown key 'memroy' (did you mean 'memory'?)". Field docstrings become the JSON Schema's
descriptions (`docstrings.describe`), so editors show the same help as this code.

Why defer_build: building a model's validator (core schema, then pydantic-core) is most of
the cost of importing the spec, and a command validates with few of the models: `Stack`
builds its whole tree in one go on first use, `Container` its own when observe first reads
a container. Defaults that are models are made with `model_construct()` (the same value as
`Model()`, whose defaults are never validated), so defining a class builds nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict

from pxrun.spec.docstrings import register
from pxrun.spec.rules import Check, fail


class SpecModel(BaseModel):
    """Frozen, closed pydantic model: the base of every part of a spec."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        defer_build=True,
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register(cls)  # its field docstrings become descriptions when first needed


_UP_TO = {
    31: "([0-9]|[12][0-9]|3[01])",
    255: "([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])",
}


def _slot(prefix: str, limit: int) -> Check:
    """A map key `<prefix><n>` with 0 <= n <= limit, e.g. net0..net31."""

    def check(value: str) -> str:
        digits = value[len(prefix):]
        if (not value.startswith(prefix) or not digits.isdigit()
                or (len(digits) > 1 and digits[0] == "0") or int(digits) > limit):
            raise fail(f"{value!r} is not a valid slot: use {prefix}0 to {prefix}{limit}")
        return value

    return Check(check, {"pattern": f"^{prefix}{_UP_TO[limit]}$"})


NetSlot = Annotated[str, _slot("net", 31)]
MountSlot = Annotated[str, _slot("mp", 255)]
DeviceSlot = Annotated[str, _slot("dev", 255)]


def slot_index(key: str) -> int:
    """The number of a slot key: slot_index('net3') == 3."""
    return int(key.lstrip("abcdefghijklmnopqrstuvwxyz"))


def as_list(value: Any) -> Any:
    """Accept a single string where a list of strings is expected."""
    return [value] if isinstance(value, str) else value


# default_factory for the spec models: plain functions, not `list` / `dict`. pydantic reads
# the factory's signature when it builds a model, and a builtin's signature is parsed from
# its text form (~0.2 ms each, and the first parse compiles tokenize's patterns): ~18 M
# instructions of every command that validates a spec.
def empty_list() -> list[Any]:
    """A new empty list (a field's default)."""
    return []


def empty_dict() -> dict[Any, Any]:
    """A new empty dict (a field's default)."""
    return {}
