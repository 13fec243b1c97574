"""Start-up settings that must be in place before any pydantic model builds a validator.

Why: the first validator pydantic builds looks for third-party pydantic plugins, which
imports `importlib.metadata` and scans every installed distribution's entry points — about
70 ms of CPU on every pxrun command (a fifth of `pxrun validate`), for plugins that pxrun,
an application, never uses. Pydantic's own switch (`PYDANTIC_DISABLE_PLUGINS=__all__`) still
pays for the import. So, unless the user asks for plugins with `PXRUN_PYDANTIC_PLUGINS=1`
(e.g. to instrument pxrun's validation), the plugin loader is registered as a module that
finds none. Nothing else of pydantic changes: `create_schema_validator` asks the loader for
plugins, gets none, and builds the plain `SchemaValidator`, exactly as it does when no
plugin is installed.
"""

from __future__ import annotations

import os
import sys
import types

_LOADER = "pydantic.plugin._loader"


def _no_plugins() -> tuple[()]:
    return ()


def skip_pydantic_plugin_discovery() -> None:
    """Register a plugin loader that finds no plugins, unless discovery already ran or the
    user wants plugins (PXRUN_PYDANTIC_PLUGINS=1)."""
    if _LOADER in sys.modules or os.environ.get("PXRUN_PYDANTIC_PLUGINS") == "1":
        return
    loader = types.ModuleType(_LOADER, "pxrun: pydantic plugin discovery skipped")
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[_LOADER] = loader
