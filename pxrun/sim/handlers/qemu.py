"""`GET /nodes/{node}/qemu`: a container-only cluster has no virtual machines.

Inventory scripts and Ansible's proxmox inventory list both guest types on every node; the
answer here is the empty list a node without VMs gives, not a 501.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim.api import Request, route

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator


@route("GET", "/nodes/{node}/qemu")
def list_qemu(sim: Simulator, req: Request) -> Any:
    return []
