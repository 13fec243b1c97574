"""The JSON Schema of the JSON plan (schemas/plan.schema.json), built from code.

Why generated: the envelope (top-level keys, a change's keys) is written here next to
`jsonplan`, which fills it, and the operations, diagnostics and summary come from the
planner's own pydantic models; a test fails when the checked-in file differs, so the
public format cannot drift silently. Strict (`additionalProperties: false`) on purpose:
our own tests validate every plan they produce against it, so any unplanned change to the
format fails there first. Regenerate with:

    .venv/bin/python -c "from pxrun.render.planschema import render_plan_schema as r; \\
        print(r(), end='')" > schemas/plan.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from pxrun.plan.model import (
    Action,
    DataVolume,
    Operation,
    PlanDiagnostic,
    Summary,
    Taint,
    UnknownContainer,
)
from pxrun.render.jsonplan import FORMAT_VERSION

SCHEMA_ID = "https://pxrun.dev/schemas/plan.schema.json"
EFFECTS = ("live", "restart", "resize", "migrate", "move_volume", "move_and_resize", "pool",
           "power", "provision", "replace", "ha")

_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_NULLABLE_STR = {"type": ["string", "null"]}
_VIEW = {"type": ["object", "null"],
         "description": "The container's essence as JSON; secrets read \"(sensitive)\"."}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _obj(description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": properties,
            "required": list(properties), "additionalProperties": False}


def _structure(schema: Any) -> Any:
    """A generated schema without the models' docstrings: the schema file changes when
    the format does, not when a comment in the planner is reworded."""
    if isinstance(schema, dict):
        return {k: _structure(v) for k, v in schema.items() if k != "description"}
    if isinstance(schema, list):
        return [_structure(v) for v in schema]
    return schema


def plan_schema() -> dict[str, Any]:
    """The schema as a dict, `$schema` and `$id` first."""
    operations = _structure(TypeAdapter(tuple[Operation, ...]).json_schema(
        mode="serialization", ref_template="#/$defs/{model}"))
    defs: dict[str, Any] = dict(operations.pop("$defs", {}))
    for model in (PlanDiagnostic, UnknownContainer, Summary, Taint, DataVolume):
        schema = _structure(model.model_json_schema(mode="serialization",
                                                    ref_template="#/$defs/{model}"))
        defs.update(schema.pop("$defs", {}))
        defs[model.__name__] = schema
    defs["FieldDiff"] = _obj("One field-level difference (kopf style) and what it costs.", {
        "op": {"enum": ["add", "change", "remove"]},
        "path": {**_STR, "description": "Dotted spec path, e.g. resources.memory."},
        "old": {"description": "The cluster's value (in drift: the spec's)."},
        "new": {"description": "The spec's value (in drift: the cluster's)."},
        "effect": {"enum": [*EFFECTS, None],
                   "description": "How the change is carried out; null outside updates."},
    })
    defs["ResourceChange"] = _obj("What happens to one container, and why.", {
        "address": {**_STR, "description": "The container's name in the spec, e.g. web-2."},
        "actions": {"enum": [a.as_list() for a in Action],
                    "description": "Terraform's action list, e.g. [\"delete\", \"create\"]."},
        "action_reason": {**_STR, "description": "Why; for people only, never for apply."},
        "vmid": {"type": ["integer", "null"]},
        "node": _NULLABLE_STR,
        "digest": {**_NULLABLE_STR, "description": "Observed config digest."},
        "before": _VIEW,
        "after": _VIEW,
        "diffs": _array(_ref("FieldDiff")),
        "replace_paths": _array(_STR),
        "restart_required": _BOOL,
        "restart_policy": {"enum": ["auto", "never", "ask"]},
        "prune": {**_BOOL, "description": "A managed container that left the spec."},
        "depends_on": _array(_STR),
        "pending": {**_array(_STR), "description": "Config keys pending since an earlier "
                    "change; a restart applies them (since 2.3)."},
        "data_destroyed": {**_array(_ref("DataVolume")), "description": "Data volumes this "
                           "change destroys (since 2.3)."},
        "roll_after": {**_array(_STR), "description": "Replicas whose replacement must be up "
                       "before this one starts: a rolling replace (since 2.3)."},
        "operations": {**operations, "description": "The ordered steps apply runs."},
        "taint": {"anyOf": [_ref("Taint"), {"type": "null"}],
                  "description": "Tainted: a change of it failed (the provisioning step and "
                                 "its log); the plan finishes it."},
    })
    body = _obj("A pxrun plan: what apply would change to make the cluster match the spec.", {
        "format_version": {**_STR, "pattern": r"^" + FORMAT_VERSION.split(".")[0] + r"\.\d+$"},
        "pxrun_version": _STR,
        "stack": _STR,
        "mode": {"enum": ["normal", "destroy", "refresh-only"]},
        "spec_hash": {**_STR, "description": "sha256 of the resolved spec (secrets by name, "
                      "plus a MAC of their values)."},
        "spec_path": {**_NULLABLE_STR, "description": "The spec, relative to the saved plan "
                      "file (since 1.1; null when the plan was not saved)."},
        "restart_policy": {"enum": ["auto", "never", "ask"]},
        "resource_changes": _array(_ref("ResourceChange")),
        "drift": _array(_ref("ResourceChange")),
        "unknown": _array(_ref("UnknownContainer")),
        "diagnostics": _array(_ref("PlanDiagnostic")),
        "observed_digests": {"type": "object", "additionalProperties": _NULLABLE_STR},
        "summary": _ref("Summary"),
        "changes_present": _BOOL,
        "errored": _BOOL,
    })
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": f"pxrun JSON plan, format {FORMAT_VERSION}", **body,
            "$defs": dict(sorted(defs.items()))}


def render_plan_schema() -> str:
    """The exact text of schemas/plan.schema.json."""
    return json.dumps(plan_schema(), indent=2, ensure_ascii=False) + "\n"
