"""Redaction for what the CLI writes besides stdout and stderr: saved plans and the
watcher's HTTP answers. (stdout and stderr are wrapped for the whole run in `main`; the
`--sim` request log scrubs each line itself; see `pxrun.redaction`.)

A saved plan is a contract, not a display: its operations are what `pxrun apply PLAN`
sends, so a secret found in clear there is never masked (a mask would reach the cluster,
and the principle is "never send a placeholder"). It is refused instead: the planner
carries secrets by reference, so this can only be a bug, and a plan file that holds a
secret must not exist even for a moment. Everything else in the document (reasons,
views, diagnostics) is display and is masked like any output.
"""

from __future__ import annotations

import json
from typing import Any

from pxrun.errors import PlanError
from pxrun.redaction import KnownSecrets


def sealed_plan(doc: dict[str, Any], secrets: KnownSecrets) -> dict[str, Any]:
    """`doc` as a plan file may hold it: display text masked; a secret in clear inside an
    operation raises PlanError (nothing is written)."""
    if not secrets:
        return doc

    def walk(value: Any, where: str, inside_op: bool) -> Any:
        if isinstance(value, str):
            if value not in secrets:
                return value
            if inside_op:
                raise PlanError(f"the plan would hold a secret in clear in {where}; it was "
                                "not saved", hint="this is a bug in pxrun: please report it "
                                "(without the plan); `pxrun apply` without -o works")
            return secrets.redact(value)
        if isinstance(value, dict):
            return {k: walk(v, f"{where}.{k}" if where else str(k),
                            inside_op or k == "operations") for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{where}[{i}]", inside_op) for i, v in enumerate(value)]
        return value

    sealed: dict[str, Any] = walk(doc, "", False)
    return sealed


def sealed_text(doc: dict[str, Any], secrets: KnownSecrets) -> str:
    """The plan file's text: `sealed_plan(doc)` as JSON (`jsonplan.dumps`).

    Why not always walk the document: a plan of 500 containers is ~40,000 values, and the
    walk is a Python call per value; the text has to be made anyway, and one search of it
    finds any known secret in any spelling JSON gives it (the known secrets include their
    escaped spellings). Only a text that holds one is sealed value by value.
    """
    from pxrun.render.jsonplan import dumps

    text = dumps(doc)
    if text not in secrets:
        return text
    return dumps(sealed_plan(doc, secrets))


def redacted_json(value: Any, secrets: KnownSecrets) -> Any:
    """A JSON-able value with every known secret masked (through its JSON text, where a
    secret's escaped spelling is known too)."""
    if not secrets:
        return value
    return json.loads(secrets.redact(json.dumps(value, default=str)))
