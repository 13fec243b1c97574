"""The connection pool of the API client: keep-alive for concurrent callers, TLS pinning,
and one TLS context for every connection.

Why its own module: it is the only piece that subclasses requests' adapter, and importing
requests costs time that `pxrun --help` and the pure layers should not pay.

Why one TLS context: requests hands urllib3 the CA bundle's path, and urllib3 makes a new
context per connection and loads the bundle into it: with the usual bundle (~140 CAs) that
is ~50 ms of CPU per connection, 1.5 s for the 32 connections observe opens. The client's
one context (`httpget.tls_context`, the same trust: the CA file, or requests' default
bundle, or none when verification is off) is handed in, and the pool is told not to load a
bundle again.
"""

from __future__ import annotations

import ssl
from typing import Any

from requests.adapters import HTTPAdapter


class PooledAdapter(HTTPAdapter):
    """Keep-alive connections for up to `pool_size` concurrent requests, optionally pinned.

    requests' default keeps 10 connections per host and throws away the rest after use, so
    16 parallel observers would reconnect (a TLS handshake each) all the time. Retries are
    ours (`retry.py`), not urllib3's: urllib3 would also repeat requests that are unsafe to
    repeat.
    """

    def __init__(self, *, pool_size: int, verify: bool | str | None, context: ssl.SSLContext,
                 fingerprint: str | None = None) -> None:
        self._fingerprint = fingerprint.replace(":", "").lower() if fingerprint else None
        self._verify = verify
        self._context = context  # the client's one context (`httpget.tls_context`)
        super().__init__(pool_connections=4, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        if self._fingerprint:
            pool_kwargs["assert_fingerprint"] = self._fingerprint
        pool_kwargs["ssl_context"] = self._context
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

    def build_connection_pool_key_attributes(self, request: Any, verify: Any,
                                             cert: Any = None) -> Any:
        """requests' pool key, without the CA bundle when it is the one the shared context
        already holds (else urllib3 loads it again for every connection)."""
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        if verify == self._verify:
            pool.pop("ca_certs", None)
            pool.pop("ca_cert_dir", None)
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
        if verify == self._verify:  # the shared context holds the CAs already
            conn.ca_certs = None
            conn.ca_cert_dir = None
