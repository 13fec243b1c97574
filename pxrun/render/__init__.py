"""SHOW: Plan -> JSON plan -> human text. Pure: no I/O, no printing.

- `jsonplan`: the versioned public JSON plan (and back, for saved plans);
- `planschema`: its JSON Schema, checked in as schemas/plan.schema.json;
- `human`: the JSON plan as Terraform-like text, plain or rich markup;
- `values`: how values and nested fields read; `wording`: every word and symbol.

All human wording about plans lives in `wording`, so new outputs never touch the diff logic.
"""
