"""Essence and field diff: the two containers the planner compares, and how they differ.

Normalisation belongs to observe (`canonical`, `comparable`): the desired container and
the observed one arrive in the spec's own types with one spelling per meaning, and the
observed one restricted to what the spec manages. Here they become JSON views (secrets
never shown, provisioning as per-step fingerprints) and are diffed kopf-style into
(op, path, old, new) items. `lifecycle.ignore_changes` is applied to the desired side
before the diff (the desired value at an ignored path becomes the observed one), so an
ignored field produces neither a diff nor an operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from pxrun.observe.model import ObservedContainer
from pxrun.observe.normalize import canonical, comparable
from pxrun.plan.model import SENSITIVE, FieldDiff, Json
from pxrun.plan.templates import satisfies
from pxrun.spec.model import Container

_NOT_SHOWN = frozenset({"name", "lifecycle", "depends_on", "provision", "password", "ssh_keys"})
_MISSING = object()


def essence_pair(desired: Container, observed: ObservedContainer) -> tuple[Container, Container]:
    """(desired, observed) reduced to what is compared; ignore_changes applied.

    The observed side is the *future* config (pending changes count as asked for; whether
    a restart is still due is the planner's question, from `observed.pending`).
    """
    want = canonical(desired)
    have = comparable(want, observed.future)
    recorded = observed.current.template
    if want.template and recorded and satisfies(want.template, recorded, want.arch):
        have = have.model_copy(update={"template": want.template})
    for path in want.lifecycle.ignore_changes:
        want = set_path(want, path.split("."), get_path(have, path.split(".")))
    return want, have


def get_path(model: Any, parts: list[str]) -> Any:
    """The value at a dotted path, or _MISSING when a slot on the way does not exist."""
    value = model
    for part in parts:
        if isinstance(value, BaseModel):
            value = getattr(value, part, _MISSING)
        elif isinstance(value, dict):
            value = value.get(part, _MISSING)
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def set_path(model: Any, parts: list[str], value: Any) -> Any:
    """A copy of `model` with `value` at the path (_MISSING removes a slot)."""
    head, rest = parts[0], parts[1:]
    if isinstance(model, BaseModel):
        inner = getattr(model, head)
        new = set_path(inner, rest, value) if rest and inner is not None else value
        if new is _MISSING:
            new = None
        return model.model_copy(update={head: new})
    if isinstance(model, dict):
        inner = model.get(head, _MISSING)
        new = set_path(inner, rest, value) if rest and inner is not _MISSING else value
        out = {k: v for k, v in model.items() if k != head}
        if new is not _MISSING:
            out[head] = new
        return dict(sorted(out.items()))
    return value


def view(container: Container, steps: dict[str, str] | None,
         sensitive: frozenset[str] = frozenset()) -> dict[str, Json]:
    """A container as a JSON view for before/after: no identity or lifecycle fields, no
    secret values, provisioning as its per-step fingerprints."""
    data: dict[str, Json] = container.model_dump(mode="json", exclude=_NOT_SHOWN)
    if steps:
        data["provision"] = dict(steps)
    return redact(data, sensitive) if sensitive else data


def redact(value: Json, sensitive: Iterable[str]) -> Json:
    """Replace every string that contains a secret value by SENSITIVE."""
    secrets = [s for s in sensitive if s]
    if isinstance(value, str):
        return SENSITIVE if any(s in value for s in secrets) else value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


def field_diffs(old: dict[str, Json], new: dict[str, Json], prefix: str = "") -> list[FieldDiff]:
    """kopf-style diff of two JSON views: dicts are walked, everything else compared whole.

    A key present on one side only is an `add` or `remove` of its whole value (a slot
    such as `networks.net1`); keys are visited in sorted order, so the result is stable.
    """
    diffs: list[FieldDiff] = []
    for key in sorted(old.keys() | new.keys()):
        path = f"{prefix}{key}"
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a == b:
            continue
        if a is _MISSING or a is None:
            diffs.append(FieldDiff(op="add", path=path, old=None, new=b))
        elif b is _MISSING or b is None:
            diffs.append(FieldDiff(op="remove", path=path, old=a, new=None))
        elif isinstance(a, dict) and isinstance(b, dict):
            diffs.extend(field_diffs(a, b, path + "."))
        else:
            diffs.append(FieldDiff(op="change", path=path, old=a, new=b))
    return diffs
