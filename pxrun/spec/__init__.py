"""DESIRED: YAML (+ vars, sops secrets) -> validated, frozen pydantic models.

May read files and run `sops -d` as a subprocess. Must not talk to Proxmox, must not print,
and never puts a decrypted value into a diagnostic or log line. Problems are collected as
`pxrun.errors.Diagnostic` with file:line:col and raised together as one `SpecError`.
"""
