"""VOCABULARY: Proxmox's language, below everything that reads or writes a cluster.

Property strings (`propstr`), scalar values (`values`), the ownership marker (`marker`), the
mapping of property strings to the spec's model parts (`parts`), and ONE ROW PER OPTION
(`options`): its spec path, Proxmox key, change kind, who may set it, printer, parser and
Proxmox's default. Everything else that needs to know about an option (the planner's
policy lookups, the printers apply writes, the parser observe reads with, the default
tables, the root@pam-only rules doctor lists) is derived from those rows (`config`,
`essence`).

Pure: no I/O, no clock; imports only the spec models. The simulator keeps its own,
schema-driven copy of the property-string grammar on purpose (specs/0001).
"""
