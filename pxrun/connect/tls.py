"""TLS for the API connection: CA files, certificate pinning, and a pool sized for threads.

Proxmox clusters usually run on a self-signed CA (`/etc/pve/pve-root-ca.pem`). Users either
copy that CA file (`ca_file`, chain and host name verified), or pin the node's certificate by
its SHA-256 fingerprint, which needs no file and also survives IP-address endpoints that the
certificate does not name. Pinning is urllib3's `assert_fingerprint`: checked on every new
connection, before a single byte of the request (and so the token) is sent (the adapter
that sets it is in `pool.py`, so that this module imports no HTTP library).
"""

from __future__ import annotations

import hashlib
import os
import ssl
from collections.abc import Mapping

from pxrun.connect.settings import ConnectionSettings, Endpoint, TlsMode


def requests_verify(settings: ConnectionSettings) -> bool | str:
    """The `verify=` value for requests. Pinning checks the fingerprint instead of a chain
    (self-signed certificates have none we could verify), unless a CA file is given too."""
    mode = settings.tls_mode
    if mode is TlsMode.PINNED:
        return str(settings.ca_file) if settings.ca_file and settings.verify else False
    if mode is TlsMode.CA_FILE:
        return str(settings.ca_file)
    return mode is TlsMode.SYSTEM


def effective_verify(settings: ConnectionSettings,
                     environ: Mapping[str, str] | None = None) -> bool | str:
    """`requests_verify` as requests finally applies it: when the system trust is asked
    for, `REQUESTS_CA_BUNDLE` (else `CURL_CA_BUNDLE`) names the bundle, as requests reads
    them for a session that trusts the environment. Both HTTP paths use this value."""
    verify = requests_verify(settings)
    if verify is True:
        env = os.environ if environ is None else environ
        return env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or True
    return verify


def proxy_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment names a proxy for HTTPS (`https_proxy` or `all_proxy`, in
    either case, as urllib's `getproxies` reads them). Then every request goes through
    requests, which honours the proxy and `NO_PROXY`; the standard-library GET path does
    not speak to proxies."""
    env = os.environ if environ is None else environ
    return any(value and name.lower() in ("https_proxy", "all_proxy")
               for name, value in env.items())


def describe_tls(settings: ConnectionSettings) -> str:
    """One line saying how the server is authenticated, for doctor and -v output."""
    mode = settings.tls_mode
    if mode is TlsMode.PINNED:
        extra = f" and verified against {settings.ca_file}" if requests_verify(settings) else ""
        return f"certificate pinned to SHA-256 {settings.fingerprint}{extra}"
    if mode is TlsMode.CA_FILE:
        return f"verified against CA file {settings.ca_file}"
    if mode is TlsMode.SYSTEM:
        return "verified against the system's trusted CAs"
    return "NOT VERIFIED: TLS verification is off"


def server_fingerprint(endpoint: Endpoint, *, timeout: float = 5.0) -> str:
    """The SHA-256 fingerprint of the certificate the server presents, unverified.

    For `pxrun doctor` to show what a user could pin after checking it on the node
    (`pvenode cert info`). Never used to decide trust by itself.
    """
    pem = ssl.get_server_certificate((endpoint.host, endpoint.port), timeout=timeout)
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
