"""The simulator's parameter table: every endpoint it implements, keyed by (method, template).

Assembled from the per-area modules. Templates are relative to /api2/json and use the same
`{name}` placeholders as `api.route`. tests/sim/test_conformance_params.py checks every entry
against the official schema.
"""

from __future__ import annotations

from pxrun.sim import (
    table_access,
    table_backup,
    table_cluster,
    table_firewall,
    table_ha,
    table_lxc,
    table_node,
)
from pxrun.sim.table_param import Endpoint

TABLE: dict[tuple[str, str], Endpoint] = {
    (ep.method, ep.template): ep
    for ep in (*table_cluster.ENDPOINTS, *table_lxc.ENDPOINTS, *table_backup.ENDPOINTS,
               *table_access.ENDPOINTS, *table_ha.ENDPOINTS, *table_node.ENDPOINTS,
               *table_firewall.ENDPOINTS)
}
