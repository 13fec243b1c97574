"""Field docstrings as field descriptions, read once per module.

Why not pydantic's `use_attribute_docstrings`: for each class it walks the call stack and
asks `inspect.getmodule` of every frame, which scans all of `sys.modules` each time; for the
spec's fifty-odd models that was a quarter of pxrun's start-up. Here each model module's
source is parsed once (`ast`), and a class's docstrings become `Field(description=...)`
before pydantic collects its fields, so the JSON Schema, the spec reference and the twins
(`model_partial`) read the same descriptions as before.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


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


def describe_fields(cls: type[Any]) -> None:
    """Give each annotated attribute of `cls` with a docstring a description, by turning its
    default into a `Field` (or setting the description of the `Field` it already has).
    Called from `__init_subclass__`, before pydantic collects the fields."""
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    if not filename:
        return
    docs = module_docstrings(filename).get(cls.__name__)
    if not docs:
        return
    own = inspect.get_annotations(cls)
    for name, doc in docs.items():
        if name not in own:
            continue
        current = cls.__dict__.get(name, PydanticUndefined)
        if isinstance(current, FieldInfo):
            if current.description is None:
                setattr(cls, name, _described(current, doc, f"{cls.__name__}.{name}"))
        elif current is PydanticUndefined:
            setattr(cls, name, Field(description=doc))
        else:
            setattr(cls, name, Field(default=current, description=doc))


def _described(info: FieldInfo, doc: str, where: str) -> FieldInfo:
    """`Field(default=...)` or `Field(default_factory=...)` again, with a description.

    Why a new one: pydantic merges a field's FieldInfos by the arguments each was made
    with, so a description set on the object afterwards would be dropped.
    """
    if info.metadata or info.alias or info.json_schema_extra or info.title:
        raise TypeError(f"{where}: give this Field its description= itself")
    if info.default_factory is not None:
        return Field(default_factory=info.default_factory, description=doc)  # type: ignore[no-any-return]
    return Field(default=info.default, description=doc)  # type: ignore[no-any-return]
