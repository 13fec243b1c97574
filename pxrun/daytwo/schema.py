"""The JSON Schema of `pxrun drift --json` (schemas/drift.schema.json), built from the models.

Generated, as the plan's schema is: a test fails when the checked-in file differs from the
models, so the public format cannot change silently. Regenerate with:

    .venv/bin/python -m pxrun.daytwo.schema > schemas/drift.schema.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pxrun.daytwo.drift import FORMAT_VERSION, DriftReport

SCHEMA_ID = "https://pxrun.dev/schemas/drift.schema.json"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "drift.schema.json"


def drift_schema() -> dict[str, Any]:
    body = DriftReport.model_json_schema(mode="serialization", ref_template="#/$defs/{model}")
    body["title"] = f"pxrun drift report, format {FORMAT_VERSION}"
    _close(body)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            **body}


def _close(node: Any) -> None:
    """Every object strict, every property required: the report always has all its keys."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node["additionalProperties"] = False
            node["required"] = sorted(node["properties"])
        for value in node.values():
            _close(value)
    elif isinstance(node, list):
        for value in node:
            _close(value)


def render_drift_schema() -> str:
    return json.dumps(drift_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render_drift_schema(), end="")
