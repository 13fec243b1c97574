"""pxrun's start-up settings (`pxrun._boot`): pydantic plugin discovery is skipped.

Each case runs a fresh interpreter: what is imported at start-up is a property of the
whole process, which this test process (pytest, plugins) cannot show.
"""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import sys
from pxrun.spec.model import Stack
Stack.model_validate({"version": 1, "stack": "s", "containers": {"a": {"name": "a", "hostname": "a",
                                                                     "template": "debian-12"}}})
import pydantic.plugin._schema_validator as sv
print("metadata" if "importlib.metadata" in sys.modules else "no-metadata",
      type(sys.modules["pydantic.plugin._loader"].get_plugins()).__name__)
"""


def _probe(**env: str) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k != "PXRUN_PYDANTIC_PLUGINS"}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**environ, **env},
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_validating_a_stack_does_not_scan_installed_distributions() -> None:
    assert _probe() == ["no-metadata", "tuple"]


def test_plugins_come_back_on_request() -> None:
    found = _probe(PXRUN_PYDANTIC_PLUGINS="1")
    assert found[1] != "tuple"  # pydantic's own loader: a dict's values view


def test_no_model_has_a_builtin_default_factory() -> None:
    """pydantic reads a default_factory's signature when it builds a model; for a builtin
    (`list`, `dict`) that means parsing its text signature, which every command that
    validates a spec would pay for (see `model_base.empty_list`)."""
    from pxrun.observe.model import Observed
    from pxrun.plan.model import Plan
    from pxrun.spec.model import Stack

    seen: set[type] = set()
    builtin: list[str] = []

    def walk(model: type) -> None:
        if model in seen or not hasattr(model, "model_fields"):
            return
        seen.add(model)
        for sub in model.__subclasses__():
            walk(sub)
        for name, field in model.model_fields.items():
            factory = field.default_factory
            if factory is not None and type(factory).__module__ == "builtins" \
                    and not hasattr(factory, "__code__"):
                builtin.append(f"{model.__name__}.{name}")

    from pydantic import BaseModel

    walk(BaseModel)
    assert {Stack, Plan, Observed} <= seen
    assert builtin == []
