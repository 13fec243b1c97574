"""Open a client from resolved settings, and say how it is connected (`ConnectionInfo`).

Why separate from `client.py`: the CLI and the layers that receive a client also need to know
where it points, how TLS is checked, how to reach the nodes by SSH, and what the user should
be warned about, without reaching into the client's internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pxrun.connect.settings import ConnectionSettings, Endpoint, SshSettings, TlsMode
from pxrun.connect.tls import describe_tls

if TYPE_CHECKING:
    from pxrun.connect.client import ProxmoxerClient


@dataclass(frozen=True)
class ConnectionInfo:
    """Where a client points and how. Safe to print: the secret inside stays masked."""

    settings: ConnectionSettings
    simulated: bool = False

    @property
    def endpoint(self) -> Endpoint:
        return self.settings.endpoint

    @property
    def ssh(self) -> SshSettings:
        return self.settings.ssh

    @property
    def tls(self) -> str:
        return describe_tls(self.settings)

    @property
    def verification_off(self) -> bool:
        """True when nothing authenticates the server: the CLI must print a warning."""
        return self.settings.tls_mode is TlsMode.OFF

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.settings.warnings


def open_connection(settings: ConnectionSettings, *, simulated: bool = False,
                    pool_size: int | None = None) -> tuple[ProxmoxerClient, ConnectionInfo]:
    """A ready client (nothing is sent yet) and its `ConnectionInfo`. Close the client after use."""
    from pxrun.connect.client import DEFAULT_POOL_SIZE, ProxmoxerClient

    client = ProxmoxerClient(settings, pool_size=pool_size or DEFAULT_POOL_SIZE)
    return client, ConnectionInfo(settings=settings, simulated=simulated)
