"""Rendering `{{ }}` expressions in spec string values with Jinja2.

Why after YAML parsing, value by value: a template can then never change the structure of
the document (no YAML injection through a variable), and each failure points at the string
that holds it. Why sandboxed: specs arrive through pull requests and CI validates them, so a
template must not reach Python internals, nor build gigabytes or run for hours (the limits
are in `sandbox`). Why StrictUndefined: a typo in a variable name must
be an error, not an empty hostname.

Jinja is imported, and an expression compiled, only when some string contains `{{`, `{%` or
`{#`; identical strings (count replicas, defaults) share one compiled template.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pxrun.spec.yamlsrc import Path

if TYPE_CHECKING:
    from jinja2 import Template

    from pxrun.spec.derived import Secrecy
    from pxrun.spec.sandbox import BoundedSandbox

MAX_TEMPLATE = 64 << 10
"""Characters of one templated string: far above any real one, and cheap to compile."""
MAX_TIMEOUTS = 3
"""Templates that may run out of time (`sandbox.RENDER_SECONDS` each) before the rest of the
spec's templates are reported without being run: a spec of 1,000 slow templates must not
take 1,000 s to reject."""

Report = Callable[[Path, str], None]
"""Called with (path of the string, message) for every template that cannot be rendered."""


class Scope(dict[str, Any]):
    """A mapping in the template context that knows its dotted name.

    Why: Jinja's own message for `{{ vars.domian }}` is "'dict object' has no attribute
    'domian'"; with the name we can say "vars.domian is undefined".
    """

    label: str = ""

    @classmethod
    def wrap(cls, value: Any, label: str) -> Any:
        if isinstance(value, Mapping):
            scope = cls({str(k): cls.wrap(v, f"{label}.{k}") for k, v in value.items()})
            scope.label = label
            return scope
        if isinstance(value, list):
            return [cls.wrap(v, f"{label}[{i}]") for i, v in enumerate(value)]
        return value


class WatchedScope(Scope):
    """A Scope that remembers which of its keys a template read.

    Why: `env` holds the whole process environment, but only the variables a spec reads
    are inputs of the spec (and, like `secrets`, treated as secrets by the planner).
    """

    def __init__(self, values: Mapping[str, Any], label: str) -> None:
        super().__init__(values)
        self.label = label
        self._read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self._read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._read.add(key)
        return super().get(key, default)

    # Reading every value at once (`env.items()`, `{{ env }}`, `env | dictsort`) reads
    # every key: each value may now be in the output.
    def _all(self) -> None:
        self._read.update(super().keys())

    def items(self) -> Any:
        self._all()
        return super().items()

    def values(self) -> Any:
        self._all()
        return super().values()

    def copy(self) -> dict[str, Any]:
        self._all()
        return dict(super().items())

    def __repr__(self) -> str:
        self._all()
        return super().__repr__()

    __str__ = __repr__


def keys_read(scope: WatchedScope) -> frozenset[str]:
    """The keys templates read from `scope` so far (a function, not an attribute, so that
    no name of the scope's own shadows a key a template asks for)."""
    return frozenset(scope._read)


class Unavailable:
    """Stands in for `secrets` when the secrets file could not be read.

    That problem is already reported once; every `{{ secrets.x }}` would otherwise add one
    more diagnostic saying the same thing.
    """

    def __getattr__(self, name: str) -> Unavailable:
        return self

    def __getitem__(self, name: object) -> Unavailable:
        return self

    def __str__(self) -> str:
        return ""


def needs_rendering(text: str) -> bool:
    return "{" in text and ("{{" in text or "{%" in text or "{#" in text)


class Renderer:
    """Renders every templated string in a value tree against a fixed base context."""

    def __init__(self, base: Mapping[str, Any], secrecy: Secrecy | None = None) -> None:
        self.base = dict(base)
        self.secrecy = secrecy
        """With it, `render` tells strings rendered from a transformed secret (`derived`)."""
        self._env: BoundedSandbox | None = None
        self._cache: dict[str, Template | str] = {}
        self._timeouts = 0

    def _environment(self) -> BoundedSandbox:
        if self._env is None:
            from jinja2 import StrictUndefined

            from pxrun.spec.sandbox import BoundedSandbox

            class NamedUndefined(StrictUndefined):
                """StrictUndefined that names `vars.x` instead of "'dict object'"."""

                @property
                def _undefined_message(self) -> str:
                    owner = self._undefined_obj
                    if isinstance(owner, Scope) and isinstance(self._undefined_name, str):
                        return f"{owner.label}.{self._undefined_name} is undefined"
                    return str(StrictUndefined._undefined_message.fget(self))  # type: ignore[attr-defined]

            self._env = BoundedSandbox(
                undefined=NamedUndefined, autoescape=False, keep_trailing_newline=True)
        return self._env

    def _compiled(self, text: str) -> Template | str:
        """The compiled template, or the syntax error message (cached either way)."""
        found = self._cache.get(text)
        if found is None:
            from jinja2 import TemplateSyntaxError

            if len(text) > MAX_TEMPLATE:
                found = f"template is longer than {MAX_TEMPLATE:,} characters"
            else:
                try:
                    found = self._environment().from_string(text)
                except TemplateSyntaxError as exc:
                    found = f"template syntax error: {exc.message}"
                except (RecursionError, SyntaxError, MemoryError):  # ((((( ... 500 deep
                    found = "template syntax error: nested too deeply"
            self._cache[text] = found
        return found

    def render_string(self, text: str, context: Mapping[str, Any]) -> str:
        """Render one string; raises ValueError with a user-facing message on failure."""
        compiled = self._compiled(text)
        if isinstance(compiled, str):
            raise ValueError(compiled)
        if self._timeouts >= MAX_TIMEOUTS:
            raise ValueError(f"template not rendered: {MAX_TIMEOUTS} templates of this spec "
                             "already ran out of time")
        from jinja2 import TemplateError, UndefinedError

        from pxrun.spec.sandbox import LimitExceeded

        try:
            return self._environment().render_text(compiled, context)
        except LimitExceeded as exc:
            self._timeouts += exc.timed_out
            raise ValueError(f"template error: {exc.message}") from None
        except UndefinedError as exc:
            raise ValueError(self._undefined(str(exc.message), context)) from None
        except TemplateError as exc:
            raise ValueError(f"template error: {exc.message}") from None
        except RecursionError:
            raise ValueError("template error: recursion too deep") from None
        except Exception as exc:  # arithmetic and filter errors inside an expression
            raise ValueError(f"template error: {type(exc).__name__}: {exc}") from None

    def _undefined(self, message: str, context: Mapping[str, Any]) -> str:
        known = ", ".join(sorted(context))
        text = f"undefined in template: {message}"
        if message.startswith("'index' is undefined"):
            return f"{text} (index exists only in containers with count)"
        if message.endswith("is undefined") and message.startswith("'"):
            return f"{text} (known names: {known})"
        return text

    def render(self, value: Any, extra: Mapping[str, Any], report: Report,
               path: Path = (), derived: Report | None = None) -> Any:
        """`value` with every templated string rendered; unchanged parts are shared, not copied.
        `derived` is called with (path, rendered text) for each string that carries a secret
        in a form the planner cannot find by value (see `pxrun.spec.derived`)."""
        context = {**self.base, **extra} if extra else self.base
        shadow = None
        if self.secrecy is not None and derived is not None:
            shadow = {**self.secrecy.base, **extra} if extra else self.secrecy.base
        return self._walk(value, context, report, path, shadow, derived)

    def _walk(self, value: Any, context: Mapping[str, Any], report: Report, path: Path,
              shadow: Mapping[str, Any] | None = None, derived: Report | None = None) -> Any:
        if isinstance(value, str):
            if not needs_rendering(value):
                return value
            try:
                out = self.render_string(value, context)
            except ValueError as exc:
                report(path, str(exc))
                return value
            if shadow is not None and derived is not None and self.secrecy is not None and (
                    self.secrecy.may_read(value)):
                try:
                    twin: str | None = self.render_string(value, shadow)
                except ValueError:
                    twin = None
                if self.secrecy.derived(out, twin):
                    derived(path, out)
            return out
        # Leaves that cannot change (numbers, booleans, strings without a template) are
        # kept without a call: they are most of a spec, and the walk runs per container.
        if isinstance(value, dict):
            changed = False
            out_map: dict[Any, Any] = {}
            for key, item in value.items():
                if _may_change(item):
                    new = self._walk(item, context, report, (*path, key), shadow, derived)
                    changed = changed or new is not item
                    out_map[key] = new
                else:
                    out_map[key] = item
            return out_map if changed else value
        if isinstance(value, list):
            items = [self._walk(item, context, report, (*path, i), shadow, derived)
                     if _may_change(item) else item for i, item in enumerate(value)]
            if any(new is not old for new, old in zip(items, value, strict=True)):
                return items
            return value
        return value


def _may_change(value: Any) -> bool:
    """Whether rendering can give something other than `value` itself."""
    if isinstance(value, str):
        return needs_rendering(value)
    return isinstance(value, dict | list)
