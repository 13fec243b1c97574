"""Values rendered from secrets: when a templated string must itself count as a secret.

The planner finds secrets by value (specs/0052), so `{{ secrets.token }}` inside a longer
string is carried by reference. A secret that a template *transformed* is not found that
way: `{{ secrets.token | upper }}`, `{{ secrets.token ~ "-x" | b64encode }}`, a slice, a
comparison that picks one text or another. Such a rendered string is a secret of its own:
the loader registers it under the path it was rendered for (`containers.web.description`,
`vars.auth`), so the plan refers to it by that name and apply, which loads the same spec,
renders the same value again.

How a transformation is told from a verbatim copy: a string whose template may read a
secret (it names `secrets`, `env`, or `vars` when a var holds one) is rendered a second
time in a *shadow* context, where every secret value is an opaque marker. If putting the
real values back in place of the markers gives exactly the real result, the secrets only
flowed through as they are; anything else (a marker that a filter changed, a branch that
went another way, an error) makes the whole string a derived secret. Conservative by
design: a false positive only hides a value as `(sensitive)`, a false negative would write
a secret into a plan file. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pxrun.spec.secrets import MIN_SECRET
from pxrun.spec.template import Scope
from pxrun.spec.yamlsrc import Path

_MARKER = re.compile("\u27e6pxrun-secret-(\\d+)\u27e7")
"""Printable (a repr or `{{ env }}` keeps it as is) and unlike anything a spec writes."""


class Shadow:
    """Markers for secret values, and the way back from a shadow rendering to real text."""

    def __init__(self) -> None:
        self._marker: dict[str, str] = {}
        self._value: list[str] = []

    def mark(self, value: str) -> str:
        """The marker standing for `value` (the same marker each time)."""
        found = self._marker.get(value)
        if found is None:
            found = f"\u27e6pxrun-secret-{len(self._value)}\u27e7"
            self._marker[value] = found
            self._value.append(value)
        return found

    def reveal(self, text: str) -> str:
        """`text` with every marker replaced by the value it stands for."""
        return _MARKER.sub(lambda m: self._value[int(m.group(1))], text)

    def leaves(self, value: Any, label: str) -> Any:
        """A copy of a scope tree (the `secrets` file, the environment) in which every
        leaf that is a secret (text or number, `MIN_SECRET` long) is a marker."""
        if isinstance(value, Mapping):
            scope = Scope({str(k): self.leaves(v, f"{label}.{k}") for k, v in value.items()})
            scope.label = label
            return scope
        if isinstance(value, list):
            return [self.leaves(v, f"{label}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            text = str(value)
            return self.mark(text) if len(text) >= MIN_SECRET else value
        return value

    def within(self, value: Any, secrets: Iterable[str], label: str) -> tuple[Any, bool]:
        """A copy of `value` (the rendered `vars`) with every occurrence of `secrets` in its
        strings marked, and whether anything was."""
        known = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
        if not known:
            return value, False
        pattern = re.compile("|".join(re.escape(s) for s in known))
        changed = False

        def walk(item: Any, where: str) -> Any:
            nonlocal changed
            if isinstance(item, str):
                out = pattern.sub(lambda m: self.mark(m.group(0)), item)
                changed = changed or out != item
                return out
            if isinstance(item, Mapping):
                scope = Scope({str(k): walk(v, f"{where}.{k}") for k, v in item.items()})
                scope.label = where
                return scope
            if isinstance(item, list):
                return [walk(v, f"{where}[{i}]") for i, v in enumerate(item)]
            return item

        return walk(value, label), changed


class Secrecy:
    """What a `Renderer` needs to find derived secrets: the shadow of its base context and
    the names whose shadow differs (a template naming none of them reads no secret)."""

    def __init__(self, shadow: Shadow, base: Mapping[str, Any], names: Iterable[str]) -> None:
        self.shadow = shadow
        self.base = dict(base)
        self.names = tuple(names)

    def may_read(self, text: str) -> bool:
        """Whether the template `text` could read a secret: it names a secret scope. (Jinja
        has no way to reach a context value without its name.)"""
        return any(name in text for name in self.names)

    def derived(self, rendered: str, shadow_rendered: str | None) -> bool:
        """Whether `rendered` is a secret of its own: the shadow rendering failed, or its
        markers put back do not give `rendered` (the secret was transformed)."""
        return shadow_rendered is None or self.shadow.reveal(shadow_rendered) != rendered


def ref_name(prefix: str, path: Path) -> str:
    """The name a derived secret is known by: `containers.web.env.TOKEN`, `vars.x[0]`."""
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
