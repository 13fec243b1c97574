"""The connection pool of the API client: keep-alive for concurrent callers, TLS pinning.

Why its own module: it is the only piece that subclasses requests' adapter, and importing
requests costs time that `pxrun --help` and the pure layers should not pay.
"""

from __future__ import annotations

from typing import Any

from requests.adapters import HTTPAdapter


class PooledAdapter(HTTPAdapter):
    """Keep-alive connections for up to `pool_size` concurrent requests, optionally pinned.

    requests' default keeps 10 connections per host and throws away the rest after use, so
    16 parallel observers would reconnect (a TLS handshake each) all the time. Retries are
    ours (`retry.py`), not urllib3's: urllib3 would also repeat requests that are unsafe to
    repeat.
    """

    def __init__(self, *, pool_size: int, fingerprint: str | None = None) -> None:
        self._fingerprint = fingerprint.replace(":", "").lower() if fingerprint else None
        super().__init__(pool_connections=4, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        if self._fingerprint:
            pool_kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
