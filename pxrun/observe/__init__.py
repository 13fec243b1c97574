"""OBSERVED: the live cluster -> the spec's own model types.

Thin fetchers over the API client (`pxrun.connect`) and pure parsers of Proxmox property
strings, tested with recorded responses. Normalizes away volatile values (digest, generated
MACs, defaults Proxmox fills in) so the planner never sees a perpetual diff.
"""
