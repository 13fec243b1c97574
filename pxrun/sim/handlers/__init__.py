"""The API's endpoint handlers; importing this package registers every route.

One module per area of the Proxmox API tree, so each stays small and its routes are easy
to find: version, cluster, nodes, storage, lxc (list/create/destroy), config, power,
disks (resize/move/migrate), tasks, pools, and access (tickets, owned by the server side).
"""

from pxrun.sim.handlers import (  # noqa: F401
    access,
    access_admin,
    access_users,
    backup,
    bulk,
    clone,
    cluster,
    config,
    disks,
    files,
    firewall,
    ha_api,
    jobs,
    lxc,
    node_info,
    nodes,
    oci_api,
    pools,
    power,
    qemu,
    rrd,
    snapshot,
    storage,
    tasks,
    version,
)
