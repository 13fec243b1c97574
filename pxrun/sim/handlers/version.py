"""`GET /version`: what pve-manager reports, per the simulated release (9.1 or 8.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim.api import Request, route

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

VERSIONS = {
    "9.1": {"version": "9.1.9", "release": "9.1", "repoid": "14a22df35955ff83"},
    "8.4": {"version": "8.4.14", "release": "8.4", "repoid": "b502d23c55afcba1"},
}


def version_info(sim: Simulator) -> dict[str, Any]:
    return dict(VERSIONS["9.1" if sim.pve9 else "8.4"])


@route("GET", "/version")
def get_version(sim: Simulator, req: Request) -> Any:
    return version_info(sim)
