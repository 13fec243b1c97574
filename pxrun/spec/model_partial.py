"""Raw-form twins of the models, for `defaults:` and the containers of a spec file.

Why: in the file form a container may leave out anything that `defaults:` provides, a slot
may override one key of a default network (`net0: {ip: ...}` under `net0: {bridge: vmbr0}`),
and any value may still be a Jinja expression (`vlan: "{{ vars.vlan }}"`) that is rendered
only later. So a twin makes every field optional (recursively through nested models and slot
maps) and lets every scalar be a `{{ }}` / `{% %}` string. Items of lists keep their
required fields: the loader replaces lists instead of merging them. Field rules (ranges,
formats) still apply to plain values; cross-field rules run on the resolved Container.
The JSON Schema of these twins is what editors see.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    create_model,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticUndefined, core_schema

from pxrun.spec.model_base import SpecModel

JINJA_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"\{\{|\{%",
    "description": "A Jinja2 expression, rendered before validation.",
}


def is_template(value: Any) -> bool:
    """True for a string that Jinja will render (it holds {{ or {%)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


@dataclass(frozen=True)
class Templated:
    """Annotated metadata: accept a Jinja string as is; validate anything else normally."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any, inner: core_schema.ValidatorFunctionWrapHandler) -> Any:
            return value if is_template(value) else inner(value)

        def serialize(value: Any, inner: core_schema.SerializerFunctionWrapHandler) -> Any:
            return value if is_template(value) else inner(value)

        return core_schema.no_info_wrap_validator_function(
            validate, handler(source),
            serialization=core_schema.wrap_serializer_function_ser_schema(serialize),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), dict(JINJA_SCHEMA)]}


TEMPLATED = Templated()


def _is_leaf(tp: Any) -> bool:
    origin = get_origin(tp)
    if origin in (Annotated, Union, types.UnionType, dict, list, tuple):
        return False
    return tp is not type(None) and tp is not Any and not (
        isinstance(tp, type) and issubclass(tp, BaseModel)
    )


def _twin_type(tp: Any, optional: bool) -> Any:
    """`tp` with nested models replaced by twins and scalars made Jinja-tolerant."""
    origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, SpecModel):
        return raw_model(tp, optional=optional)
    if _is_leaf(tp):
        return Annotated[tp, TEMPLATED]
    if origin is Annotated:
        inner, *meta = get_args(tp)
        if _is_leaf(inner):
            return Annotated[(inner, *meta, TEMPLATED)]
        return Annotated[(_twin_type(inner, optional), *meta)]
    if origin is Union or origin is types.UnionType:
        return Union[tuple(_twin_type(arg, optional) for arg in get_args(tp))]  # noqa: UP007
    if origin is dict:
        key, value = get_args(tp)
        return dict[key, _twin_type(value, optional)]  # type: ignore[misc,valid-type]
    if origin is list:
        return list[_twin_type(get_args(tp)[0], False)]  # type: ignore[misc]
    return tp


@cache
def raw_model(
    model: type[SpecModel], exclude: frozenset[str] = frozenset(), optional: bool = True
) -> type[BaseModel]:
    """The raw-form twin of `model` without the `exclude` fields.

    optional=True: every field optional with default None (defaults, container entries);
    optional=False: required fields and defaults kept (items of lists).
    """
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in exclude:
            continue
        tp = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        tp = _twin_type(tp, optional)
        if optional:
            fields[name] = (Union[tp, None], Field(default=None, description=info.description))  # noqa: UP007
        elif info.is_required():
            fields[name] = (tp, Field(description=info.description))
        elif info.default_factory is not None:
            fields[name] = (tp, Field(default_factory=info.default_factory,
                                      description=info.description))
        else:
            default = None if info.default is PydanticUndefined else info.default
            fields[name] = (tp, Field(default=default, description=info.description))
    return create_model(
        model.__name__, __base__=SpecModel, __doc__=model.__doc__, __module__=__name__,
        **fields,
    )
