"""TLS against the simulator's real HTTPS server: CA files, pinning, and turning it off."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import pytest

from pxrun import errors
from pxrun.connect.settings import TlsMode
from pxrun.connect.tls import describe_tls, server_fingerprint
from pxrun.sim.tls import ensure_tls
from tests.connect.conftest import Cluster

pytestmark = pytest.mark.integration


def _pin(cluster: Cluster) -> str:
    """The server certificate's SHA-256, computed here from the PEM file itself (lower case,
    no colons: the settings parser must accept this form too)."""
    pem = cluster.server.tls.cert_file.read_text()
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def _other_ca(tmp: Path) -> Path:
    return ensure_tls(tmp / "other-ca").ca_file


def test_ca_file_verifies(cluster: Cluster) -> None:
    settings = cluster.settings()
    assert settings.tls_mode is TlsMode.CA_FILE
    assert cluster.client(settings).get("version")["release"]


def test_wrong_ca_fails_and_is_not_retried(cluster: Cluster) -> None:
    client = cluster.client(cluster.settings(PROXMOX_CA_FILE=str(_other_ca(cluster.tmp))))
    with pytest.raises(errors.TlsError) as info:
        client.get("version")
    assert not info.value.transient
    assert client.request_count == 1
    assert "fingerprint" in info.value.hint


def test_system_trust_store_rejects_a_private_ca(cluster: Cluster) -> None:
    client = cluster.client(cluster.settings(PROXMOX_CA_FILE=""))
    with pytest.raises(errors.TlsError):
        client.get("version")


def test_fingerprint_pinning_works_without_a_ca(cluster: Cluster) -> None:
    settings = cluster.settings(PROXMOX_CA_FILE="", PROXMOX_FINGERPRINT=_pin(cluster))
    assert settings.tls_mode is TlsMode.PINNED
    assert "pinned" in describe_tls(settings)
    assert cluster.client(settings).get("version")["release"]


def test_wrong_fingerprint_fails_before_sending_the_token(cluster: Cluster) -> None:
    settings = cluster.settings(PROXMOX_CA_FILE="", PROXMOX_FINGERPRINT="AB" * 32)
    client = cluster.client(settings)
    with pytest.raises(errors.TlsError) as info:
        client.get("version")
    assert "does not match the pinned fingerprint" in info.value.message
    assert cluster.requests_seen() == 0  # the handshake failed: no request reached the API
    cluster.client().get("version")
    assert cluster.requests_seen() == 1  # (and the log does record requests that arrive)


def test_pinning_with_ca_file_checks_both(cluster: Cluster) -> None:
    good = cluster.settings(PROXMOX_FINGERPRINT=_pin(cluster))
    assert cluster.client(good).get("version")
    bad_ca = cluster.settings(PROXMOX_FINGERPRINT=_pin(cluster),
                              PROXMOX_CA_FILE=str(_other_ca(cluster.tmp)))
    with pytest.raises(errors.TlsError):
        cluster.client(bad_ca).get("version")


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verification_off_is_explicit_and_warned(cluster: Cluster) -> None:
    settings = cluster.settings(PROXMOX_CA_FILE="", PROXMOX_VERIFY_SSL="0")
    assert settings.tls_mode is TlsMode.OFF
    assert any("TLS verification is off" in w for w in settings.warnings)
    assert describe_tls(settings).startswith("NOT VERIFIED")
    assert cluster.client(settings).get("version")["release"]


def test_server_fingerprint_matches_the_certificate(cluster: Cluster) -> None:
    shown = server_fingerprint(cluster.settings().endpoint)
    assert shown.replace(":", "").lower() == _pin(cluster)


def test_one_tls_context_loads_the_ca_once_for_every_connection(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib3 would load the CA bundle into a new context for each connection (~50 ms of
    CPU with the usual bundle, per connection); the client's one context loads it once,
    and still verifies (a wrong CA fails, as test_wrong_ca_fails_and_is_not_retried shows)."""
    from concurrent.futures import ThreadPoolExecutor

    loads: list[object] = []
    original = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loads.append(args or kwargs)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    client = cluster.client(cluster.settings())
    before = cluster.server.stats.connections
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: client.get("nodes"), range(64)))
    assert all(answers)
    assert cluster.server.stats.connections - before >= 2  # several connections were made
    assert len(loads) == 1, loads
