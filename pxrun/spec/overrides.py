"""`--var NAME=VALUE` and `--var-file FILE`: values for a spec's `vars` from the command line.

Why typed by the spec: a command line holds only text, and YAML's guesses are wrong as often
as right (`--var version=1.10` is not the number 1.1). A var keeps the type its value has in
the spec: text stays text, a number must parse as one, a list or mapping is read as YAML.
A var file is YAML, so its values are typed already. Only vars the spec declares may be
set, so a typo (`--var domian=lan`) is an error with "did you mean", not a silent no-op.
Later sources win: the spec, then each --var-file in order, then each --var.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pxrun.errors import Diagnostic, UsageError
from pxrun.spec.graph import did_you_mean
from pxrun.spec.yamlsrc import parse_yaml, read_yaml

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class VarOverride:
    """One var's value from the command line, and where it was given (for messages)."""

    value: Any
    source: str
    raw: bool = False
    """True for `--var` text, which takes the type of the spec's value."""


def parse_var_flags(flags: Sequence[str]) -> dict[str, VarOverride]:
    """`--var NAME=VALUE` flags -> overrides; a flag without `=` is a usage error."""
    out: dict[str, VarOverride] = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var {flag}: expected NAME=VALUE",
                             hint="e.g. --var domain=lan (quote values with spaces)")
        out[name.strip()] = VarOverride(value, f"--var {name.strip()}", raw=True)
    return out


def read_var_file(path: Path) -> dict[str, VarOverride]:
    """A YAML mapping of var names to values, read with the spec's own limits (size, alias
    expansion, nesting: `yamlsrc`), since a var file is as much an input as the spec."""
    doc, problems = read_yaml(str(path), str(path))
    if problems:
        first = problems[0]
        if not first.line:
            reason = first.message.removeprefix("cannot read: ")
            raise UsageError(f"--var-file {path}: cannot read it ({reason})")
        raise UsageError(f"--var-file {first}")
    data = doc.data
    if data is None:
        return {}
    if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
        raise UsageError(f"--var-file {path}: expected a mapping of var names to values",
                         hint="e.g. `domain: lan` on one line per var")
    return {name: VarOverride(value, str(path)) for name, value in data.items()}


def merge_overrides(var_files: Sequence[Path], flags: Sequence[str]) -> dict[str, VarOverride]:
    """Every var file in order, then the flags: later ones win."""
    out: dict[str, VarOverride] = {}
    for path in var_files:
        out.update(read_var_file(path))
    out.update(parse_var_flags(flags))
    return out


def _coerce(text: str, current: Any) -> Any:
    """`text` as a value of the type `current` has; ValueError(what it must be) if not."""
    if isinstance(current, bool):
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ValueError("true or false")
    try:
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        if isinstance(current, list | dict):
            parsed, problems = parse_yaml(text, "--var")
            if isinstance(parsed.data, type(current)) and not problems:
                return parsed.data
            raise ValueError
    except ValueError:
        raise ValueError({int: "a whole number", float: "a number",
                          list: "a list like [a, b]"}.get(type(current),
                                                          "a mapping like {key: value}"),
                         ) from None
    return text


def apply_overrides(rendered: Mapping[str, Any], overrides: Mapping[str, VarOverride],
                    ) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The spec's (rendered) vars with the overrides applied, and the problems found."""
    out = dict(rendered)
    problems: list[Diagnostic] = []
    for name, override in overrides.items():
        if name not in rendered:
            declared = ", ".join(sorted(map(str, rendered))) or "none"
            problems.append(Diagnostic(override.source, 0, 0,
                                       f"the spec has no var {name!r}"
                                       f"{did_you_mean(name, set(map(str, rendered)))} "
                                       f"(its vars: {declared})"))
            continue
        value = override.value
        if override.raw:
            try:
                value = _coerce(value, rendered[name])
            except ValueError as exc:
                problems.append(Diagnostic(override.source, 0, 0,
                                           f"{name} must be {exc}, as in the spec"))
                continue
        out[name] = value
    return out, problems
