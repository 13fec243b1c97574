"""An inline `cluster:` block: where the Proxmox API is and how to reach its nodes by SSH.

The usual spelling is a profile name (`cluster: home`) resolved by the connect layer; the
inline block exists for self-contained specs and CI. The token secret is a SecretStr; keep it
in sops secrets (`token_secret: "{{ secrets.pve_token }}"`), never in git as plain text.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import SecretStr, model_validator

from pxrun.spec.model_base import SpecModel
from pxrun.spec.rules import between, fail, matches

Endpoint = Annotated[
    str,
    matches("endpoint", r"https?://[^\s/]+(:\d+)?(/.*)?",
            "a URL like https://pve.example.com:8006"),
]
TokenId = Annotated[
    str,
    matches("token_id", r"[^\s@!]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]*",
            "user@realm!tokenname, e.g. pxrun@pve!ci"),
]
Fingerprint = Annotated[
    str,
    matches("fingerprint", r"([0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}",
            "a SHA-256 fingerprint as 32 colon-separated hex bytes"),
]


class SshSettings(SpecModel):
    """How pxrun reaches the nodes over SSH to run `pct exec` for provisioning."""

    user: str = "root"
    """SSH user on the nodes."""
    port: Annotated[int, between("port", 1, 65535)] = 22
    """SSH port on the nodes."""
    key_file: str | None = None
    """Private key file; the SSH agent and default keys when unset."""
    known_hosts: str | None = None
    """known_hosts file to verify node host keys against."""


class ClusterBlock(SpecModel):
    """Connection settings given inline instead of a profile name."""

    endpoint: Endpoint
    """The API URL, e.g. https://pve1.lan:8006."""
    token_id: TokenId
    """API token id: user@realm!tokenname."""
    token_secret: SecretStr
    """API token secret (a UUID). Never shown."""
    verify_ssl: bool = True
    """Verify the server's TLS certificate (keep on; use ca_file or fingerprint)."""
    ca_file: str | None = None
    """CA certificate file for a self-signed cluster."""
    fingerprint: Fingerprint | None = None
    """Pin the server certificate's SHA-256 fingerprint."""
    ssh: SshSettings = SshSettings.model_construct()
    """SSH settings for provisioning."""

    @model_validator(mode="after")
    def _tls_consistent(self) -> ClusterBlock:
        if not self.verify_ssl and (self.ca_file or self.fingerprint):
            raise fail("verify_ssl: false contradicts ca_file/fingerprint; drop one of them")
        return self
