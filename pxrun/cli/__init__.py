"""EDGE: argv -> calls the layers in order -> prints -> ExitStatus.

The only place that prints. Exceptions map to exit codes in `status.py` only. Commands are
imported lazily so `pxrun --help` and `pxrun validate` stay fast and never import proxmoxer,
Fabric, paramiko or the simulator.
"""
