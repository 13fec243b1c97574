"""pxrun: Proxmox VE LXC containers as code.

Plan and apply desired state kept in YAML against a live cluster, with no state file:
the cluster is the source of truth. See DESIGN.md for the layers.
"""

__version__ = "0.2.0.dev0"

from pxrun._boot import skip_pydantic_plugin_discovery

skip_pydantic_plugin_discovery()
