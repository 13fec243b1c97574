"""The Jinja2 environment spec templates run in: sandboxed, and bounded in size and time.

Why more than Jinja's sandbox: it keeps a template away from Python internals, but not from
`{{ 'x'|center(10**9) }}` (a gigabyte in one C call), `['a'] * 10**8`, `10**10**9`, or nested
loops that run for hours; and specs arrive through pull requests that CI validates. So every
place where a template can build something large or run long is checked here, *before* the
work is done wherever one C call could do it all:

- operators `*`, `**`, `+`, `%` (Jinja's intercepted binops): the result's size up front;
- calls (`call`): width, join, replace and translate amounts of str/bytes methods, and the
  field widths of `str.format` / `%` format strings;
- filters (each one wrapped): their arguments, widths and counts, the sizes of joins,
  replacements and indents, and their results;
- `~` and every join of a block's output (`concat`), each `{{ }}` output (`finalize`), and
  the whole rendered text;
- the deadline, at every loop iteration (the code generator wraps each `for` iterable) and at
  every call, operator and attribute access.

A value's size counts characters and items, shared parts once per use: `[[x] * 100] * 100`
is as large as the text it would print. Exceeding a limit raises `LimitExceeded`, a Jinja
`SecurityError`, which the renderer reports as a template error of that value.
"""

from __future__ import annotations

import functools
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

MAX_SIZE = 1 << 20
"""Characters (and items) of any value a template builds, and of its output: 1 Mi."""
MAX_INT_BITS = 8192
"""Integers a template computes: ~2,500 digits, below Python's 4,300-digit text limit."""
MAX_NESTING = 100
"""Lists and mappings inside each other: spec data stops at 64 (`yamlsrc.MAX_DEPTH`)."""
RENDER_SECONDS = 1.0
"""Time one value may take to render; real templates take microseconds."""

SLOW_INPUT = MAX_SIZE // 16
"""Input of the filters that cost more than a pass over it (`_SLOW_FILTERS`): 64 Ki."""
_SLOW_FILTERS = frozenset({"urlize", "wordwrap", "sort", "unique", "pprint", "dictsort",
                           "groupby", "list", "title", "sum"})  # sum of lists is quadratic
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_REFUSED_METHODS = frozenset({"translate", "maketrans"})  # a table can map 1 char to 1 MiB


class LimitExceeded(SecurityError):
    """A template went over a size or time limit; `timed_out` says which."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def size_of(value: Any, budget: int = MAX_SIZE) -> int:
    """Characters plus items in `value`, shared parts counted at every use (each measured
    once); stops counting past `budget`. Nesting past MAX_NESTING counts as too large."""
    known: dict[int, int] = {}

    def measure(item: Any, depth: int) -> int:
        if isinstance(item, str | bytes):
            return len(item)
        if not isinstance(item, Mapping | list | tuple | set | frozenset):
            return 1
        if depth > MAX_NESTING:
            return budget + 1
        found = known.get(id(item))
        if found is None:
            found = 1
            for child in (*item.keys(), *item.values()) if isinstance(item, Mapping) else item:
                found += measure(child, depth + 1)
                if found > budget:
                    break
            known[id(item)] = found
        return found

    return measure(value, 0)


def _refuse(what: str) -> LimitExceeded:
    return LimitExceeded(f"{what} would be larger than the limit of {MAX_SIZE:,} characters")


def _check_size(value: Any, what: str = "a value") -> Any:
    if size_of(value) > MAX_SIZE:
        raise _refuse(what)
    return value


def _check_amount(amount: Any, what: str) -> None:
    if isinstance(amount, int) and not isinstance(amount, bool) and amount > MAX_SIZE:
        raise _refuse(what)


def _format_widths(fmt: str) -> int:
    """The sum of the field widths and precisions of a `%` or `{}` format string."""
    total = 0
    for found in _PERCENT_SPEC.finditer(fmt):
        if "*" in found.group(0):
            raise LimitExceeded("'*' widths are not allowed in format strings")
        total += sum(int(n) for n in _DIGITS.findall(found.group(0)))
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return total  # not a {} format string; `%` alone applies
    for _, _, spec, _ in fields:
        if spec and "{" in spec:
            raise LimitExceeded("nested fields are not allowed in format specs")
        total += sum(int(n) for n in _DIGITS.findall(spec or ""))
    return total


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def _check_format(fmt: Any, args: Any) -> None:
    if isinstance(fmt, str) and _format_widths(fmt) + size_of(fmt) + size_of(args) > MAX_SIZE:
        raise _refuse("the formatted text")


def _check_replace(text: Any, old: Any, new: Any) -> None:
    if isinstance(text, str | bytes) and isinstance(old, type(text)) and isinstance(
            new, type(text)):
        hits = len(text) + 1 if not old else text.count(old)  # type: ignore[arg-type]
        if len(text) + hits * max(0, len(new) - len(old)) > MAX_SIZE:
            raise _refuse("the replaced text")


def _check_join(items: Iterable[Any], sep: Any = "") -> list[Any]:
    listed = list(items)
    if sum(size_of(i) for i in listed) + len(listed) * size_of(sep) > MAX_SIZE:
        raise _refuse("the joined text")
    return listed


def _check_binop(op: str, left: Any, right: Any) -> None:
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right))
    if op == "**" and ints and right > 0 and abs(left) > 1 and (
            left.bit_length() * right > MAX_INT_BITS):
        raise LimitExceeded(f"the number would have more than {MAX_INT_BITS} bits")
    if op == "*" and ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise LimitExceeded(f"the number would have more than {MAX_INT_BITS} bits")
    if op == "*" and not ints:
        count, seq = (left, right) if isinstance(left, int) else (right, left)
        if isinstance(count, int) and isinstance(seq, str | bytes | list | tuple) and (
                count > 0 and size_of(seq) * count > MAX_SIZE):
            raise _refuse("the repeated value")
    if op == "+" and isinstance(left, str | bytes | list | tuple) and (
            size_of(left) + size_of(right) > MAX_SIZE):
        raise _refuse("the sum")
    if op == "%" and isinstance(left, str | bytes):
        _check_format(left.decode("latin-1") if isinstance(left, bytes) else left, right)


class _Generator(CodeGenerator):
    """Jinja's code generator, with a deadline in every loop and a size check on every `~`."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        node.iter = nodes.Call(nodes.EnvironmentAttribute("pxrun_loop"), [node.iter], [],
                               None, None, lineno=node.lineno)
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.pxrun_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """An immutable sandbox whose templates stay under MAX_SIZE and RENDER_SECONDS.

    One render at a time: `render` sets the deadline the hooks check.
    """

    code_generator_class = _Generator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=self._finalize, **options)
        self.deadline = float("inf")
        self.globals.pop("lipsum", None)  # lorem ipsum in an infrastructure spec is a bomb
        self.filters = {name: self._bounded_filter(name, func)
                        for name, func in self.filters.items()}

    # -- the deadline ----------------------------------------------------------------------

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"took longer than {RENDER_SECONDS:g} s", timed_out=True)

    def pxrun_loop(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.tick()
            yield item

    def render_text(self, template: Any, context: Mapping[str, Any]) -> str:
        """Render with the limits; raises LimitExceeded or the template's own error."""
        self.deadline = time.monotonic() + RENDER_SECONDS
        try:
            parts: list[str] = []
            size = 0
            for chunk in template.generate(context):
                size += len(chunk)
                if size > MAX_SIZE:
                    raise _refuse("the rendered text")
                parts.append(chunk)
                self.tick()
            return "".join(parts)
        finally:
            self.deadline = float("inf")

    # -- sizes -----------------------------------------------------------------------------

    def _finalize(self, value: Any) -> Any:
        self.tick()
        return _check_size(value, "the output")

    @staticmethod
    def concat(parts: Iterable[str]) -> str:
        listed = list(parts)
        if sum(len(p) for p in listed) > MAX_SIZE:
            raise _refuse("the block's output")
        return "".join(listed)

    def pxrun_concat(self, parts: tuple[Any, ...]) -> str:
        self.tick()
        if sum(size_of(p) for p in parts) > MAX_SIZE:
            raise _refuse("the joined text")
        return "".join(str(p) for p in parts)

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        self.tick()
        _check_binop(operator_, left, right)
        return self.binop_table[operator_](left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None

        @functools.wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format(value.__self__, (args, kwargs))
            return str(_check_size(wrapped(*args, **kwargs), "the formatted text"))

        return checked

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self.tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            name = getattr(__obj, "__name__", "")
            if name in _REFUSED_METHODS:
                raise LimitExceeded(f"{name}() is not allowed in spec templates")
            if name in _WIDTH_METHODS:
                amount = max([a for a in (*args, *kwargs.values()) if isinstance(a, int)]
                             or [0])
                per_tab = 1 + (owner.count("\t") if isinstance(owner, str) else owner.count(b"\t"))
                _check_amount(amount * (per_tab if name == "expandtabs" else 1),
                              f"{name}()'s result")
            elif name == "replace" and len(args) >= 2:
                _check_replace(owner, args[0], args[1])
            elif name == "join" and args:
                args = (_check_join(args[0], owner), *args[1:])
        result = super().call(__context, __obj, *args, **kwargs)
        return _check_size(result, "a call's result")

    # -- filters ---------------------------------------------------------------------------

    def _bounded_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        skip = 1 if _PassArg.from_obj(func) is not None else 0
        check = _FILTER_CHECKS.get(name)
        limit = SLOW_INPUT if name in _SLOW_FILTERS else MAX_SIZE

        @functools.wraps(func)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            self.tick()
            value, rest = (args[skip] if len(args) > skip else None), args[skip + 1:]
            if size_of(value, limit) > limit:
                raise LimitExceeded(f"{name}'s input is larger than its limit of {limit:,}")
            for item in (*rest, *kwargs.values()):
                _check_size(item, f"{name}'s argument")
            if check is not None:
                replaced = check(value, rest, kwargs)
                if replaced is not None:
                    args = (*args[:skip], replaced, *rest)
            result = func(*args, **kwargs)
            if isinstance(result, str | bytes | list | tuple | dict):
                _check_size(result, f"{name}'s result")
            return result

        return bounded


def _arg(rest: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str,
         default: Any = None) -> Any:
    return rest[index] if len(rest) > index else kwargs.get(name, default)


def _lines(value: Any) -> int:
    return str(value).count("\n") + 1


def _indent_check(value: Any, rest: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    width = _arg(rest, kwargs, 0, "width", 4)
    per_line = len(width) if isinstance(width, str) else width
    if isinstance(per_line, int):
        _check_amount(size_of(value) + per_line * _lines(value), "the indented text")


def _center_check(value: Any, rest: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    _check_amount(_arg(rest, kwargs, 0, "width", 80), "the centred text")


def _count_check(what: str, index: int, name: str) -> Callable[..., None]:
    def check(value: Any, rest: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        count = _arg(rest, kwargs, index, name)
        if isinstance(count, int) and count > MAX_SIZE // 10:
            raise _refuse(what)

    return check


def _format_check(value: Any, rest: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    _check_format(value, (rest, kwargs))


def _join_check(value: Any, rest: tuple[Any, ...],
                kwargs: Mapping[str, Any]) -> list[Any] | None:
    if isinstance(value, str):
        return None
    return _check_join(value if isinstance(value, Iterable) else [value],
                       _arg(rest, kwargs, 0, "d", ""))


def _replace_check(value: Any, rest: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    _check_replace(str(value), _arg(rest, kwargs, 0, "old"), _arg(rest, kwargs, 1, "new"))


_FILTER_CHECKS: dict[str, Callable[..., Any]] = {
    "indent": _indent_check,
    "center": _center_check,
    "batch": _count_check("the batches", 0, "linecount"),
    "slice": _count_check("the slices", 0, "slices"),
    "format": _format_check,
    "join": _join_check,
    "replace": _replace_check,
}
"""Filters that can make much from little: checked before they run (all are sized after)."""
