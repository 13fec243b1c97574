"""CONFIGURE: steps run inside a container through a transport (Fabric + `pct exec`).

The only layer that imports Fabric. Secret values never appear in output or process arguments.
"""
