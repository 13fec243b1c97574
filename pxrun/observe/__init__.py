"""OBSERVED: the live cluster -> the spec's own model types.

Thin fetchers over the API client (`pxrun.connect`, `fetch.py`) and a pure assembly of
their answers (`assemble.py`, `parse.py`), tested with recorded responses. What each config
key means, how it parses and what its absence means comes from the option rows in
`pxrun.pve`; volatile values (digest, pending markers) are split off here.
"""
