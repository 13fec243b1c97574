"""DIFF: `plan(desired, observed, options) -> Plan`.

Pure: no I/O, no clock, no globals. One field-policy table decides how each field changes.
The reason of a change is for humans only; apply never branches on it.
"""
