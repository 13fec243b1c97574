"""Downloading a template from the node's catalog by hand (`pxrun templates download`).

Why in apply: it changes the cluster (a file appears on a storage), so it goes through the
layer that acts, reports through the same `Hook` the executor uses, and never prints. A
create that needs a template downloads it inside its own plan (`steps_create`); this is
the same task started on its own, one node (or one shared storage) at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pxrun.apply.hooks import Hook
    from pxrun.connect.client import ProxmoxClient

DOWNLOAD_TIMEOUT = 1800.0  # seconds; a large template over a slow mirror takes minutes


def download_template(client: ProxmoxClient, node: str, storage: str, template: str, *,
                      hook: Hook, timeout: float = DOWNLOAD_TIMEOUT) -> float:
    """`POST nodes/{node}/aplinfo` and wait for its task; the seconds it took. Task errors
    raise (TaskFailedError with the log tail); task warnings go to `hook.warning`."""
    where = f"{node}:{storage}"
    hook.step_started(where, "download", template)
    upid = client.post(f"nodes/{node}/aplinfo", storage=storage, template=template)
    hook.task_started(where, "download", str(upid))
    result = client.wait_task(str(upid), timeout=timeout)
    if result.exitstatus != "OK":
        for line in result.warnings:
            hook.warning(where, f"download: {line}")
    hook.step_finished(where, "download", result.seconds)
    return result.seconds
