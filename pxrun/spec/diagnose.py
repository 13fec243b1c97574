"""Turning validation failures into `Diagnostic`s at the line the user wrote.

pydantic reports a failure at a location tuple in the *resolved* stack
(`containers.web-2.resources.cores`); the user wrote that value somewhere else: in the
`web:` entry before count expanded it, or in `defaults:`, perhaps in another file of the
folder. The loader knows those origins (`Locate`); this module reads the error locations,
drops the union-member tags pydantic inserts (`bool`, `function-after[...]`), writes one
plain-English line per problem, and folds the copies a problem in `defaults:` or in a counted
entry makes for every container into one diagnostic that names them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pxrun.errors import Diagnostic
from pxrun.spec.yamlsrc import Mark, Path

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class Where:
    """Where a path of the resolved stack was written, and how to name it in a message."""

    mark: Mark
    key_mark: Mark
    subject: str
    """The container name ('' for stack-level values)."""
    rel: Path
    """The path inside the subject (inside the container, or from the stack root)."""
    note: str = ""
    """Why the location is not the container's own entry, e.g. 'from defaults'."""


Locate = Callable[[Path], Where]


@dataclass(frozen=True)
class Problem:
    """One problem before folding: where, about what, and what is wrong."""

    mark: Mark
    subject: str
    rel: Path
    message: str
    note: str = ""


def dotted(path: Path) -> str:
    """resources.cores, provision.run[0].script"""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none", "tuple"})
_SHAPE_ERRORS = frozenset({"string_type", "int_type", "int_parsing", "bool_type",
                           "bool_parsing", "float_type", "float_parsing", "list_type",
                           "literal_error", "string_pattern_mismatch", "pxrun_value"})


def data_path(data: Any, loc: tuple[str | int, ...]) -> tuple[Path, str | None]:
    """The part of a pydantic `loc` that exists in `data`, and a trailing field that does not.

    Union members and validator tags in `loc` are not keys of the data and are skipped. The
    trailing field is a key the data left out: a missing one, or one the model filled in
    (hostname from the name) whose derived value failed.
    """
    path: Path = ()
    current = data
    consumed = False
    for key in loc:
        in_map = isinstance(current, Mapping) and key in current
        consumed = in_map or (isinstance(current, list) and isinstance(key, int)
                              and 0 <= key < len(current))
        if consumed:
            path = (*path, key)
            current = current[key]
    last = loc[-1] if loc else None
    if (not consumed and isinstance(current, Mapping) and isinstance(last, str)
            and last not in _TYPE_TAGS and re.fullmatch(r"[a-z_][a-z0-9_]*", last)):
        return path, last
    return path, None


_PLAIN: dict[str, str] = {
    # pydantic's error types, in the user's words; {unit} is ' of MiB' etc. when known
    "int_type": "must be a whole number{unit}",
    "int_parsing": "must be a whole number{unit}",
    "int_from_float": "must be a whole number{unit}, without decimals",
    "float_type": "must be a number{unit}",
    "float_parsing": "must be a number{unit}",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
    "none_required": "must be empty (null)",
}
_SIZE = re.compile(r"^\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[kmgt])(?:i?b)?\s*$", re.I)
_UNIT = re.compile(r"\b(MiB|GiB)\b")
_FACTORS = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}  # in MiB


def _size_hint(name: str, value: Any, unit: str) -> str | None:
    """'memory is in MiB: write 1024, not 1G' for a size written with a suffix."""
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    mib = float(match["num"]) * _FACTORS[match["unit"].lower()]
    number = mib if unit == "MiB" else mib / 1024
    whole = int(number) if number == int(number) else int(number) + 1
    return f"{name} is in {unit}: write {max(whole, 1)}, not {value.strip()}"


def _alternatives(texts: list[str]) -> str:
    """'must be text; or must be a list' -> 'must be text or a list'."""
    if len(texts) > 1 and all(t.startswith("must be ") for t in texts):
        return "must be " + " or ".join(t.removeprefix("must be ") for t in texts)
    return "; or ".join(texts)


def _message(err: Mapping[str, Any], missing: str | None, doc: str = "",
             name: str = "the value") -> str:
    """One problem in the user's words: no pydantic phrasing, the unit when the field has one."""
    kind = str(err.get("type", ""))
    msg = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix):]  # our own rules speak the user's language already
    if kind == "missing" and missing is not None:
        return f"missing required key {missing!r}"
    unit_match = _UNIT.search(doc)
    unit = unit_match[1] if unit_match else ""
    if kind in ("int_parsing", "int_type", "float_parsing", "float_type") and unit:
        hint = _size_hint(name, err.get("input"), unit)
        if hint is not None:
            return hint
    if kind in _PLAIN:
        return _PLAIN[kind].format(unit=f" of {unit}" if unit else "")
    if kind == "literal_error":
        # the input is only compared, never shown: it may be a rendered secret
        expected = str(err.get("ctx", {}).get("expected", ""))
        options = re.findall(r"'([^']*)'", expected)
        text = "must be " + (" or ".join(options) if options else expected or "one of the choices")
        if isinstance(err.get("input"), str):
            close = difflib.get_close_matches(err["input"], options, n=1, cutoff=0.6)
            if close:
                text += f" (did you mean {close[0]!r}?)"
        return text
    # anything else pydantic says ("Input should be ...") in the same voice
    return re.sub(r"^Input should (be|have)", r"must \1", msg)


def validation_problems(error: ValidationError, data: Any, locate: Locate,
                        model: type[BaseModel]) -> list[Problem]:
    """One Problem per place in a pydantic ValidationError.

    A value that fails every member of a union yields one error per member; they share a
    place and become one problem whose message lists the alternatives.
    """
    from pxrun.spec.introspect import field_description, suggest, valid_keys

    errors = error.errors(include_url=False)
    located = [(err, *data_path(data, tuple(err.get("loc", ())))) for err in errors]
    # When one member of a union got further (an error inside the mapping), the others'
    # "should be a valid string" only adds noise.
    deeper = {p[:i] for _, p, _ in located for i in range(len(p))}
    grouped: dict[tuple[Path, Path], tuple[Where, list[str]]] = {}
    for err, path, field in located:
        loc = tuple(err.get("loc", ()))
        if (field is None and path in deeper and err.get("type") in _SHAPE_ERRORS
                and loc[-1:] != ("[key]",)):
            continue
        where = locate(path)
        if err.get("type") == "extra_forbidden" and path and loc and path[-1] == loc[-1]:
            hint = suggest(str(path[-1]), valid_keys(model, loc[:-1]))
            text = f"unknown key {path[-1]!r}" + (f" (did you mean {hint!r}?)" if hint else "")
            where = replace(where, mark=where.key_mark)
        else:
            at = _field_loc(loc, field)
            text = _message(err, field, field_description(model, at),
                            str(at[-1]) if at and isinstance(at[-1], str) else "the value")
            if field is not None and err.get("type") != "missing":
                where = replace(where, rel=(*where.rel, field))
        _, texts = grouped.setdefault((path, (*where.rel, field or "")),
                                      (where, []))
        if text not in texts:
            texts.append(text)
    return [Problem(where.mark, where.subject, where.rel, _alternatives(texts), where.note)
            for where, texts in grouped.values()]


def plain_message(err: Mapping[str, Any], model: type[BaseModel]) -> str:
    """One pydantic error of `model` in the user's words (for values typed at a prompt)."""
    from pxrun.spec.introspect import field_description

    at = _field_loc(tuple(err.get("loc", ())), None)
    name = str(at[-1]) if at and isinstance(at[-1], str) else "the value"
    text = _message(err, None, field_description(model, at), name)
    return text if text.startswith(name) else f"{name}: {text}"


def _field_loc(loc: tuple[str | int, ...], field: str | None) -> tuple[str | int, ...]:
    """The error location without pydantic's trailing union-member tags ('int', 'str')."""
    while loc and isinstance(loc[-1], str) and (loc[-1] in _TYPE_TAGS or "[" in loc[-1]):
        loc = loc[:-1]
    return (*loc, field) if field is not None and (not loc or loc[-1] != field) else loc


def _natural(name: str) -> list[Any]:
    """web-2 before web-10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def fold(problems: list[Problem]) -> list[Diagnostic]:
    """One diagnostic per (place, path, message), naming every container it concerns."""
    groups: dict[tuple[Mark, Path, str, str], list[str]] = {}
    for p in problems:
        names = groups.setdefault((p.mark, p.rel, p.message, p.note), [])
        if p.subject and p.subject not in names:
            names.append(p.subject)
    out = []
    for (mark, rel, message, note), names in groups.items():
        parts = []
        if names:
            names.sort(key=_natural)
            shown = ", ".join(names[:3])
            if len(names) > 3:
                shown += f" and {len(names) - 3} more"
            parts.append(shown)
        if rel:
            parts.append(dotted(rel) + (f" ({note})" if note else ""))
        elif note:
            parts.append(f"({note})")
        out.append(mark.diagnostic(": ".join([*parts, message])))
    return out

