"""The JSON Schema of a pxrun spec file, generated from `StackFile`.

Editors (VS Code's YAML extension, JetBrains) use it for completion and inline help, so it
carries `$schema`, `$id`, a title and the models' docstrings as descriptions. The output is
deterministic (stable key order, trailing newline) so a checked-in copy can be compared
byte for byte in CI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_ID = "https://pxrun.dev/schemas/pxrun.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_PATH = Path(__file__).resolve().parent / "pxrun.schema.json"
"""The generated schema, shipped inside the package (`schemas/pxrun.schema.json` in the
repository links to it, the path the examples name). Generating it imports every model and
walks pydantic's core schema (about half a second); reading it costs nothing, and CI's
`pxrun schema --check` proves it fresh before a release is built."""


def spec_schema() -> dict[str, Any]:
    """The schema as a dict, with `$schema` and `$id` first."""
    from pxrun.spec.model import StackFile

    body = StackFile.model_json_schema(mode="validation")
    body["title"] = "pxrun spec"
    _close_slot_maps(body)
    return {"$schema": DRAFT, "$id": SCHEMA_ID, **body}


def render_schema() -> str:
    """The schema as the exact text of schemas/pxrun.schema.json."""
    return json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n"


def shipped_schema() -> str:
    """The schema shipped with pxrun (generated again when the file is missing)."""
    try:
        return SCHEMA_PATH.read_text(encoding="utf-8")
    except OSError:
        return render_schema()


def stale_reason(path: Path = SCHEMA_PATH) -> str | None:
    """Why the checked-in schema at `path` differs from the models, or None when fresh."""
    from pxrun.spec.paths import LocalFileError, read_bounded

    if not path.exists():
        return f"{path} does not exist"
    try:
        if read_bounded(path, limit=16 << 20, fifo=False) != render_schema().encode("utf-8"):
            return f"{path} is stale"
    except LocalFileError as exc:
        return f"{path} {exc}"
    return None


def _close_slot_maps(node: Any) -> None:
    """Slot maps (net0.., mp0.., dev0..) become patternProperties; forbid other keys too.

    pydantic validates the keys itself, but the generated schema leaves other keys open,
    so an editor would accept `nett0:` silently.
    """
    if isinstance(node, dict):
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _close_slot_maps(value)
    elif isinstance(node, list):
        for value in node:
            _close_slot_maps(value)
