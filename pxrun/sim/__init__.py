"""SIMULATE: a Proxmox VE API server (HTTPS) and node SSH endpoint.

Built from the official API schema and the reference semantics, and deliberately shares no
code with pxrun's client: a bug in our parsers must not be mirrored by the thing that tests
them. Only the CLI starts it. This is a simulation, not isolation or security.
"""
