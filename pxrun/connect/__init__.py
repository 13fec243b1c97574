"""Talking to Proxmox: connection settings, TLS, and the one API client Protocol.

The implementation wraps proxmoxer's https backend. Errors from Proxmox become typed
exceptions chosen in one function. Only `observe`, `apply` and `cli` use this package.
"""
