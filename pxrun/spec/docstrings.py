"""Field docstrings as field descriptions, read when something first asks for them.

Why not pydantic's `use_attribute_docstrings`: for each class it walks the call stack and
asks `inspect.getmodule` of every frame, which scans all of `sys.modules` each time; for the
spec's fifty-odd models that was a quarter of pxrun's start-up. Here each model module's
source is parsed once (`ast`).

Why only when asked: validating a spec never reads a description, yet parsing the model
modules' source was a tenth of `pxrun validate`. So a spec model only registers itself when
it is defined (`register`); `describe()` gives every registered model's fields their
descriptions, and rebuilds the models whose schema was already built, before anything
reads them: the file-form twins (`model_file`, hence the JSON Schema and the spec
reference) and the field hints of diagnostics (`introspect.field_description`).
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import threading
from typing import Any

_pending: list[type[Any]] = []
_lock = threading.Lock()


@functools.cache
def module_docstrings(filename: str) -> dict[str, dict[str, str]]:
    """Class name -> {attribute: docstring} for the top-level classes of a source file: the
    string literal right after an annotated assignment, as pydantic reads it."""
    try:
        with open(filename, encoding="utf-8") as source:
            tree = ast.parse(source.read(), filename)
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        docs: dict[str, str] = {}
        for before, after in zip(node.body, node.body[1:], strict=False):
            if (isinstance(before, ast.AnnAssign) and isinstance(before.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                docs[before.target.id] = inspect.cleandoc(after.value.value)
        found[node.name] = docs
    return found


def register(cls: type[Any]) -> None:
    """Remember a model whose field docstrings `describe()` is to read."""
    with _lock:
        _pending.append(cls)


def _docs_of(cls: type[Any]) -> dict[str, str]:
    """The field docstrings written in `cls`'s own class body."""
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    return module_docstrings(filename).get(cls.__name__, {}) if filename else {}


def describe() -> None:
    """Give the fields of every registered model their docstrings as descriptions (a field
    with a description of its own keeps it), and rebuild the models already built so their
    schema carries them. Cheap when nothing new was registered."""
    with _lock:
        classes, _pending[:] = list(_pending), []
        for cls in classes:
            fields, changed = cls.__pydantic_fields__, False
            for klass in cls.__mro__:
                docs = _docs_of(klass) if klass in classes else {}
                own = inspect.get_annotations(klass) if docs else {}
                for name, doc in docs.items():
                    info = fields.get(name)
                    if name in own and info is not None and info.description is None:
                        info.description = doc
                        changed = True
            if changed and cls.__pydantic_complete__:
                cls.model_rebuild(force=True)
