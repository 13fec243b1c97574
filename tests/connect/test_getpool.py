"""The standard-library GET path (connect/httpget.py) against the simulator over HTTPS:
keep-alive reuse, connections closed under it, TLS refusals, timeouts, and what a
read-only client never imports. A loopback relay (tests/connect/relay.py) plays the network;
the client and the server are the real ones."""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pxrun import errors
from pxrun.connect.httpget import tls_context
from pxrun.connect.retry import RetryPolicy
from pxrun.sim.tls import ensure_tls
from tests.connect.conftest import Cluster
from tests.connect.relay import Relay

pytestmark = pytest.mark.integration
ONCE = RetryPolicy(attempts=1)


@pytest.fixture
def relay(cluster: Cluster) -> Iterator[Relay]:
    relay = Relay(cluster.server.port)
    try:
        yield relay
    finally:
        relay.stop()


def test_sequential_gets_share_one_kept_alive_connection(cluster: Cluster) -> None:
    client = cluster.client()
    before = cluster.server.stats.connections
    for _ in range(5):
        assert client.get("version")["release"]
    assert cluster.server.stats.connections - before == 1
    assert client._gets is not None and client._gets.connections == 1
    assert client._writer is None  # no write: proxmoxer and requests were never built


def test_a_connection_dropped_as_the_request_goes_out_is_resent_once(cluster: Cluster,
                                                                     relay: Relay) -> None:
    """The server closes a kept-alive connection just as the next GET goes out (no answer
    byte): the GET is sent once more on a new connection, and counts as one request."""
    client = cluster.client(cluster.settings(PROXMOX_HOST=relay.host), retry=ONCE)
    assert client.get("version")["release"]
    seen = cluster.requests_seen()
    relay.drop(1)
    assert client.get("nodes")
    assert relay.dropped == 1
    assert client._gets is not None and client._gets.connections == 2
    assert client.request_count == 2  # the resend is part of the same request
    assert cluster.requests_seen() == seen + 1  # the dropped one never reached the server


def test_a_second_drop_is_a_typed_error_not_a_loop(cluster: Cluster, relay: Relay) -> None:
    client = cluster.client(cluster.settings(PROXMOX_HOST=relay.host), retry=ONCE)
    assert client.get("version")["release"]
    relay.drop(2)  # the request on the kept-alive connection, then the new one's handshake
    with pytest.raises(errors.UnreachableError) as info:
        client.get("nodes")
    assert info.value.transient
    assert info.value.message.startswith(f"cannot connect to https://{relay.host}")
    assert relay.dropped == 2
    assert client.get("nodes")  # and the pool recovers


def test_a_new_connection_is_never_resent(cluster: Cluster, relay: Relay) -> None:
    """Only a *reused* connection may have been closed while idle; a new one that fails
    says so at once."""
    client = cluster.client(cluster.settings(PROXMOX_HOST=relay.host), retry=ONCE)
    relay.drop(1)  # the very first bytes: the TLS handshake
    with pytest.raises(errors.UnreachableError):
        client.get("version")
    assert relay.dropped == 1 and relay.accepted == 1


def test_connections_closed_while_idle_are_replaced(cluster: Cluster, relay: Relay) -> None:
    client = cluster.client(cluster.settings(PROXMOX_HOST=relay.host), retry=ONCE)
    assert client.get("version")["release"]
    relay.close_all()  # the server's idle timeout, or a restart
    assert client.get("version")["release"]
    assert client._gets is not None and client._gets.connections == 2
    assert client.request_count == 2


def test_a_slow_answer_is_a_transient_timeout(cluster: Cluster) -> None:
    cluster.sim.settings.faults.latency_ms = 400
    client = cluster.client(cluster.settings(PROXMOX_TIMEOUT="0.1"), retry=ONCE)
    with pytest.raises(errors.UnreachableError) as info:
        client.get("version")
    assert info.value.transient
    assert info.value.message == (f"{cluster.endpoint} did not answer GET /version in time")
    assert "--timeout" in info.value.hint


def test_a_server_that_never_completes_the_handshake_times_out(cluster: Cluster,
                                                               relay: Relay) -> None:
    relay.stall = True
    client = cluster.client(cluster.settings(PROXMOX_HOST=relay.host, PROXMOX_TIMEOUT="0.1"),
                            retry=ONCE)
    with pytest.raises(errors.UnreachableError) as info:
        client.get("version")
    assert info.value.message.startswith(f"cannot connect to https://{relay.host}")
    assert "timed out" in info.value.message


def test_refused_connection_is_unreachable(cluster: Cluster, relay: Relay) -> None:
    port = relay.port
    relay.stop()  # nothing listens there any more
    client = cluster.client(cluster.settings(PROXMOX_HOST=f"127.0.0.1:{port}"), retry=ONCE)
    with pytest.raises(errors.UnreachableError) as info:
        client.get("version")
    assert "Connection refused" in info.value.message


def test_pin_mismatch_is_refused_before_the_token_is_sent(cluster: Cluster) -> None:
    client = cluster.client(cluster.settings(PROXMOX_CA_FILE="", PROXMOX_FINGERPRINT="CD" * 32),
                            retry=ONCE)
    with pytest.raises(errors.TlsError) as info:
        client.get("version")
    assert not info.value.transient
    assert "does not match the pinned fingerprint" in info.value.message
    assert f'Expected "{"cd" * 32}"' in info.value.message
    assert cluster.requests_seen() == 0
    assert cluster.token_secret not in info.value.message


def test_pin_with_a_ca_file_still_verifies_the_chain(cluster: Cluster) -> None:
    pem = cluster.server.tls.cert_file.read_text()
    pin = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    other = ensure_tls(cluster.tmp / "other-ca").ca_file
    client = cluster.client(cluster.settings(PROXMOX_FINGERPRINT=pin,
                                             PROXMOX_CA_FILE=str(other)), retry=ONCE)
    with pytest.raises(errors.TlsError) as info:
        client.get("version")
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.message
    assert cluster.requests_seen() == 0


def test_ca_mismatch_is_refused(cluster: Cluster) -> None:
    other = ensure_tls(cluster.tmp / "other-ca").ca_file
    client = cluster.client(cluster.settings(PROXMOX_CA_FILE=str(other)), retry=ONCE)
    with pytest.raises(errors.TlsError) as info:
        client.get("version")
    assert info.value.message.startswith(f"TLS verification of {cluster.endpoint} failed: ")
    assert "certificate verify failed" in info.value.message
    assert cluster.requests_seen() == 0


def test_tls_contexts_check_what_urllib3_checks(cluster: Cluster) -> None:
    """Host names are verified unless a pinned fingerprint stands in for them (as urllib3's
    `assert_fingerprint`); nothing is verified only when verification is off."""
    ca = str(cluster.ca_file)
    plain = tls_context(ca)
    assert plain.verify_mode is ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.minimum_version is ssl.TLSVersion.TLSv1_2
    pinned = tls_context(ca, pinned=True)
    assert pinned.verify_mode is ssl.CERT_REQUIRED and not pinned.check_hostname
    off = tls_context(False)
    assert off.verify_mode is ssl.CERT_NONE and not off.check_hostname


def test_writes_build_proxmoxer_on_the_same_trust(cluster: Cluster) -> None:
    client = cluster.client()
    assert client.get("version")
    assert client._writer is None
    with pytest.raises(errors.ApiError):
        client.post("nodes/pve1/lxc/999/status/start")
    assert client._writer is not None
    assert client._writer.session.get_adapter(cluster.endpoint)._context is client._context


READ_ONLY = """
import json, os, sys
from pathlib import Path
from pxrun.connect.client import ProxmoxerClient
from pxrun.connect.settings import ConnectionSettings, Endpoint, Secret
from pxrun.observe.fetch import observe_cluster
args = json.loads(os.environ["FACTS"])
settings = ConnectionSettings(endpoint=Endpoint("127.0.0.1", args["port"]),
                              token_id=args["token_id"], token_secret=Secret(args["secret"]),
                              ca_file=Path(args["ca_file"]))
with ProxmoxerClient(settings) as client:
    observed = observe_cluster(client, "web")
print(json.dumps({"requests": observed.requests,
                  "loaded": sorted(m for m in ("requests", "urllib3", "proxmoxer")
                                   if m in sys.modules)}))
"""


def test_observing_imports_no_requests_urllib3_or_proxmoxer(cluster: Cluster) -> None:
    """Read-only commands never pay for the write path's libraries (specs/0121)."""
    facts = {"port": cluster.server.port, "token_id": cluster.token_id,
             "secret": cluster.token_secret, "ca_file": str(cluster.ca_file)}
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["FACTS"] = json.dumps(facts)  # the environment, never argv: argv is public
    done = subprocess.run([sys.executable, "-c", READ_ONLY], env=env, capture_output=True,
                          text=True, check=True, timeout=60)
    answer = json.loads(done.stdout)
    assert answer["requests"] > 0
    assert answer["loaded"] == []


def test_requests_ca_bundle_is_honoured_as_requests_honours_it(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the default (system) mode requests trusts `REQUESTS_CA_BUNDLE`; so does the GET
    path, and the write path shares its context."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cluster.ca_file))
    client = cluster.client(cluster.settings(PROXMOX_CA_FILE=""), retry=ONCE)
    assert client.get("version")["release"]
    with pytest.raises(errors.NotFoundError):
        client.post("nodes/pve1/lxc/999/status/start")  # verified too, on the same trust
