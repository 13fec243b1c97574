"""Parameter validation exactly as PVE's JSONSchema `validate`/`check_prop` does it.

The server calls `validate_params` after routing, with query, body and path parameters
merged. Every parameter is checked in Proxmox's order (type, format, pattern, maxLength,
minLength, maximum, minimum, enum); the first failing check gives that parameter's message;
then missing required parameters, `requires` and unknown keys. All errors are collected and
raised together as one 400 `Parameter verification failed.`, like Proxmox. Validated values
come back typed so handlers need not re-parse them.
"""

from __future__ import annotations

import re
from typing import Any

from pxrun.sim import formats, propstr
from pxrun.sim.api import ApiError, param_error
from pxrun.sim.table import TABLE
from pxrun.sim.table_param import INDEXED, Endpoint, Param

_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$")
_INDEXED_KEY = re.compile(r"^(net|mp|dev|unused)(0|[1-9]\d*)$")


def is_number(text: str) -> bool:
    return bool(_NUMBER.match(text))


def _perl_str(value: Any) -> str:
    """How Perl stringifies a JSON scalar (15 significant digits for floats)."""
    if isinstance(value, float):
        return format(value, ".15g")
    return str(value)


def _num_text(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else format(limit, ".15g")


def check_value(param: Param, value: Any, path: str = "") -> tuple[bool, Any, str]:
    """check_type + check_prop for one defined value: (ok, typed value, error message)."""
    kind = param.type
    if kind == "array":
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, dict | list) for item in items):
            return False, None, "type check ('string') failed - got HASH"
        return True, [_perl_str(item) for item in items], ""
    if isinstance(value, list):
        return False, None, f"type check ('{kind}') failed - got ARRAY"
    if isinstance(value, dict):
        return False, None, f"type check ('{kind}') failed - got HASH"
    if isinstance(value, bool):
        if kind == "boolean":
            return True, int(value), ""
        return False, None, f"type check ('{kind}') failed - got JSON::PP::Boolean"
    text = _perl_str(value)
    if kind == "boolean" and text not in ("0", "1"):
        return False, None, f"type check ('boolean') failed - got '{text}'"
    if kind == "integer" and not _INTEGER.match(text):
        return False, None, f"type check ('integer') failed - got '{text}'"
    if kind == "number" and not is_number(text):
        return False, None, f"type check ('number') failed - got '{text}'"
    if param.propstr:
        try:
            propstr.parse(param.propstr, text, path)
        except propstr.PropStrError as error:
            return False, None, f"invalid format - {error.pve_text()}"
    elif param.format:
        try:
            formats.check_format(param.format, text)
        except formats.FormatError as error:
            return False, None, f"invalid format - {error.text}"
    if param.pattern and not formats.perl_match(param.pattern, text):
        return False, None, "value does not match the regex pattern"
    if param.max_length is not None and len(text) > param.max_length:
        return False, None, f"value may only be {param.max_length} characters long"
    if param.min_length is not None and len(text) < param.min_length:
        return False, None, f"value must be at least {param.min_length} characters long"
    if is_number(text):
        number = float(text)
        if param.maximum is not None and number > param.maximum:
            return False, None, f"value must have a maximum value of {_num_text(param.maximum)}"
        if param.minimum is not None and number < param.minimum:
            return False, None, f"value must have a minimum value of {_num_text(param.minimum)}"
    if param.enum is not None and text not in param.enum:
        choices = ", ".join(param.enum)
        return False, None, f"value '{text}' does not have a value in the enumeration '{choices}'"
    return True, _typed(kind, text), ""


def _typed(kind: str, text: str) -> Any:
    if kind in ("integer", "boolean"):
        return int(text)
    if kind == "number":
        return float(text)
    return text


def lookup(endpoint: Endpoint, key: str) -> Param | None:
    """The schema entry for a parameter name, matching `net3` to `net[n]` (net0..net31)."""
    if key in endpoint.params:
        return endpoint.params[key]
    found = _INDEXED_KEY.match(key)
    if found and int(found.group(2)) < INDEXED[found.group(1)]:
        return endpoint.params.get(f"{found.group(1)}[n]")
    return None


def _add_error(errors: dict[str, str], path: str, message: str) -> None:
    # PVE joins with a single-quoted '\n', i.e. a literal backslash and n.
    errors[path] = f"{errors[path]}\\n{message}" if path in errors else message


def validate_params(
    method: str, template: str, raw: dict[str, Any], *, json_body: bool = False
) -> dict[str, Any]:
    """Check `raw` against the table entry for (method, template); typed values or 400.

    `json_body` tells that values may be native JSON types; the checks are the same since
    PVE also validates the decoded JSON (booleans true/false are accepted there).
    """
    del json_body  # the type checks below handle native and form values alike
    endpoint = TABLE.get((method, template))
    if endpoint is None:
        raise ApiError(501, f"Method '{method} {template}' has no parameter table in the simulator")
    errors: dict[str, str] = {}
    result: dict[str, Any] = {}
    present = {k: v for k, v in raw.items() if v is not None}
    for name, spec in endpoint.params.items():
        if name.endswith("[n]"):
            continue
        if name not in present:
            if not spec.optional:
                _add_error(errors, name, "property is missing and it is not optional")
            continue
    for key, value in present.items():
        param = lookup(endpoint, key)
        if param is None:
            _add_error(
                errors,
                key,
                "property is not defined in schema and the schema does not allow additional "
                "properties",
            )
            continue
        ok, typed, message = check_value(param, value, key)
        if not ok:
            _add_error(errors, key, message)
            continue
        if param.unsupported:
            _add_error(errors, key, param.unsupported)
            continue
        result[key] = typed
    for key in present:
        found = lookup(endpoint, key)
        if found is not None and found.requires and found.requires not in present:
            _add_error(errors, found.requires, f"missing property - '{key}' requires this property")
    if errors:
        raise param_error(errors)
    return result


def implemented_endpoints() -> list[tuple[str, str]]:
    """Every (method, template) the table describes, sorted by path then method."""
    return sorted(TABLE, key=lambda item: (item[1], item[0]))
