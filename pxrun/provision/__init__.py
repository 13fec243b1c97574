"""CONFIGURE: steps run inside a container through a transport (Fabric + `pct exec`).

The only layer that imports Fabric (and paramiko). It may use spec (the models and
`spec.steps`), connect (the SSH settings) and errors; it never talks to the Proxmox API
(the caller passes node addresses in) and never prints (output goes to callbacks and log
files). Secret values never appear in output, logs, exceptions or process arguments.
`runner.ProvisionSession` is the entry point; see spec 0061.
"""
