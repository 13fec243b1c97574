"""The simulator's HTTPS transport: TLS, headers, keep-alive, parsing, envelopes, errors."""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import ssl
import stat

import pytest
import requests
from cryptography import x509
from proxmoxer.core import ResourceException

from pxrun.sim import httpparse
from pxrun.sim.api import ApiError
from pxrun.sim.tls import ensure_tls
from tests.sim.conftest import SimEnv

pytestmark = pytest.mark.integration


def _url(env: SimEnv, path: str) -> str:
    return f"{env.endpoint}/api2/json{path}"


def _get(env: SimEnv, path: str, **kwargs: object) -> requests.Response:
    return requests.get(
        _url(env, path), verify=str(env.ca_file), headers=env.token_header(), timeout=10, **kwargs
    )


def _conn(env: SimEnv) -> http.client.HTTPSConnection:
    ctx = ssl.create_default_context(cafile=str(env.ca_file))
    return http.client.HTTPSConnection("127.0.0.1", env.server.port, context=ctx, timeout=10)


# -- TLS --------------------------------------------------------------------------------------


def test_tls_is_verified_with_the_sim_ca_and_headers_look_like_pveproxy(sim_env: SimEnv) -> None:
    resp = _get(sim_env, "/version")
    assert resp.status_code == 200
    assert resp.json()["data"]["release"] in ("9.1", "8.4")
    h = resp.headers
    assert h["Server"] == "pve-api-daemon/3.0"
    assert h["Content-Type"] == "application/json;charset=UTF-8"
    assert h["Cache-Control"] == "max-age=0"
    assert h["Pragma"] == "no-cache"
    assert "Expires" in h and "Date" in h
    assert int(h["Content-Length"]) == len(resp.content)
    assert h["Connection"].lower() == "keep-alive"


def test_tls_fails_without_the_sim_ca(sim_env: SimEnv) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(_url(sim_env, "/version"), verify=True, timeout=10)
    # The server survives clients that hang up during the handshake.
    assert _get(sim_env, "/version").status_code == 200


def test_certificate_names_fingerprint_and_file_modes(sim_env: SimEnv) -> None:
    cert = x509.load_pem_x509_certificate(sim_env.server.tls.cert_file.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    conn = _conn(sim_env)
    try:
        conn.connect()
        der = conn.sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
    finally:
        conn.close()
    digest = hashlib.sha256(der).hexdigest().upper()
    assert sim_env.server.fingerprint.replace(":", "") == digest
    for name in ("server.key", "ca.key", "auth.json"):
        assert stat.S_IMODE((sim_env.state_dir / name).stat().st_mode) == 0o600
    # A second start reuses the material.
    before = sim_env.server.tls.cert_file.read_bytes()
    again = ensure_tls(sim_env.state_dir)
    assert again.cert_file.read_bytes() == before


# -- connections --------------------------------------------------------------------------------


def test_keep_alive_serves_many_requests_over_one_connection(sim_env: SimEnv) -> None:
    ca = str(sim_env.ca_file)  # per request: REQUESTS_CA_BUNDLE would beat session.verify
    with requests.Session() as session:
        session.headers.update(sim_env.token_header())
        for _ in range(5):
            assert session.get(_url(sim_env, "/version"), verify=ca, timeout=10).status_code == 200
        # Errors keep the connection too.
        assert session.get(_url(sim_env, "/nope"), verify=ca, timeout=10).status_code == 501
    assert sim_env.server.stats.connections == 1
    assert sim_env.server.stats.requests == 6


def test_connection_close_is_honoured(sim_env: SimEnv) -> None:
    conn = _conn(sim_env)
    try:
        conn.request(
            "GET", "/api2/json/version", headers={**sim_env.token_header(), "Connection": "close"}
        )
        resp = conn.getresponse()
        assert resp.getheader("Connection") == "close"
        assert resp.read()
        assert resp.will_close
    finally:
        conn.close()


def test_proxmoxer_keeps_its_session_alive(sim_env: SimEnv) -> None:
    prox = sim_env.proxmoxer()
    for _ in range(4):
        prox.version.get()
    assert sim_env.server.stats.connections == 1


# -- envelopes and errors -------------------------------------------------------------------------


def test_unknown_method_is_501_with_the_reason_proxmoxer_shows(sim_env: SimEnv) -> None:
    resp = _get(sim_env, "/nodes/pve1/nothing")
    assert resp.status_code == 501
    assert resp.reason == "Method 'GET /nodes/pve1/nothing' not implemented"
    assert resp.json() == {"data": None, "message": resp.reason}
    with pytest.raises(ResourceException) as err:
        sim_env.proxmoxer().nothing.here.get()
    assert err.value.status_code == 501
    assert err.value.content == "Method 'GET /nothing/here' not implemented"


def test_parameter_errors_are_400_with_errors_map(sim_env: SimEnv) -> None:
    prox = sim_env.proxmoxer()
    with pytest.raises(ResourceException) as err:
        prox.cluster.nextid.get(vmid="abc")
    assert err.value.status_code == 400
    assert err.value.content == "Parameter verification failed."
    assert set(err.value.errors) == {"vmid"}
    resp = _get(sim_env, "/cluster/nextid", params={"vmid": "abc"})
    body = resp.json()
    assert body["data"] is None
    assert body["message"] == "Parameter verification failed.\n"
    assert body["errors"] == err.value.errors


def test_python_true_and_repeated_keys_are_rejected_like_proxmox(sim_env: SimEnv) -> None:
    url = _url(sim_env, "/access/ticket")
    ca = str(sim_env.ca_file)
    form = {"username": "root@pam", "password": sim_env.password, "new-format": True}
    resp = requests.post(url, data=form, verify=ca, timeout=10)
    assert resp.status_code == 400
    assert resp.json()["errors"] == {"new-format": "type check ('boolean') failed - got 'True'"}
    pairs = [("username", "root@pam"), ("username", "root@pam"), ("password", "x")]
    resp = requests.post(url, data=pairs, verify=ca, timeout=10)
    assert resp.status_code == 400
    assert resp.json()["errors"] == {"username": "type check ('string') failed - got ARRAY"}


def test_unexpected_exceptions_become_500_without_traceback(
    echo_routes: SimEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    resp = _get(echo_routes, "/_t/boom")
    assert resp.status_code == 500
    assert resp.reason == "kaboom"
    assert resp.json() == {"data": None, "message": "kaboom\nsecond line\n"}
    assert "Traceback" not in resp.text
    assert "Traceback" in capsys.readouterr().err


def test_total_is_sent_next_to_data(echo_routes: SimEnv) -> None:
    assert _get(echo_routes, "/_t/total").json() == {"data": [{"n": 1}, {"n": 2}], "total": 2}


def test_unknown_and_unreachable_nodes(echo_routes: SimEnv) -> None:
    resp = _get(echo_routes, "/_t/node/nosuch")
    assert resp.status_code == 500
    assert resp.reason == (
        "hostname lookup 'nosuch' failed - failed to get address info for: nosuch: "
        "Name or service not known"
    )
    assert _get(echo_routes, "/_t/node/pve2").status_code == 200
    echo_routes.sim.settings.faults.offline_nodes = ["pve2"]
    resp = _get(echo_routes, "/_t/node/pve2")
    assert (resp.status_code, resp.reason, resp.content) == (595, "No route to host", b"")
    echo_routes.sim.settings.faults.offline_nodes = []
    echo_routes.sim.nodes["pve3"].online = False
    assert _get(echo_routes, "/_t/node/pve3").status_code == 595


# -- parameters -------------------------------------------------------------------------------


def _post(
    env: SimEnv, path: str, headers: dict[str, str] | None = None, **kwargs: object
) -> requests.Response:
    return requests.post(
        _url(env, path),
        verify=str(env.ca_file),
        headers={**env.token_header(), **(headers or {})},
        timeout=10,
        **kwargs,
    )


def test_form_bodies_split_on_semicolons_and_query_overrides(echo_routes: SimEnv) -> None:
    resp = _post(
        echo_routes,
        "/_t/echo?b=from-query",
        data="a=1;b=x+y&c=%41&a=2&_dc=123",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.json()["data"]["params"] == {"a": ["1", "2"], "b": "from-query", "c": "A"}


def test_json_bodies_keep_native_types(echo_routes: SimEnv) -> None:
    resp = _post(echo_routes, "/_t/echo", json={"n": 5, "flag": True, "s": "x"})
    assert resp.json()["data"]["params"] == {"n": 5, "flag": True, "s": "x"}
    resp = _post(
        echo_routes, "/_t/echo", data="{nope", headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400


def test_get_ignores_the_body_and_chunked_bodies_work(echo_routes: SimEnv) -> None:
    resp = _get(echo_routes, "/_t/echo?x=1", data="y=2")
    assert resp.json()["data"]["params"] == {"x": "1"}
    resp = _post(echo_routes, "/_t/echo", data=iter([b"a=1&", b"b=2"]))
    assert resp.json()["data"]["params"] == {"a": "1", "b": "2"}


def test_conflicting_path_parameter_is_400(echo_routes: SimEnv) -> None:
    resp = _post(echo_routes, "/_t/echo/101", data={"vmid": "102"})
    assert resp.status_code == 400
    assert resp.json()["errors"] == {
        "vmid": "duplicate parameter (already defined in URI) with conflicting values!"
    }
    resp = _post(echo_routes, "/_t/echo/101", data={"vmid": "101"})
    assert resp.json()["data"]["params"] == {"vmid": "101"}


def test_oversized_bodies_are_refused(echo_routes: SimEnv) -> None:
    resp = _post(echo_routes, "/_t/echo", data={"x": "a" * 70_000})
    assert resp.status_code == 413


def test_decode_urlencoded_quirks() -> None:
    assert httpparse.decode_urlencoded("a=%2B+b;c=&d") == {"a": "+ b", "c": "", "d": ""}
    assert httpparse.decode_urlencoded("k=1&k=2&k=3") == {"k": ["1", "2", "3"]}
    assert httpparse.parse_params("GET", "a=1", None, b"b=2") == {"a": "1"}


def test_error_body_shape() -> None:
    body = json.loads(
        httpparse.error_body(ApiError(400, "Parameter verification failed.", {"x": "bad"}))
    )
    assert body == {
        "data": None,
        "errors": {"x": "bad"},
        "message": "Parameter verification failed.\n",
    }
    assert httpparse.reason_phrase("first\nsecond") == "first"


def test_encoded_slashes_stay_inside_their_path_segment(echo_routes: SimEnv) -> None:
    resp = _post(echo_routes, "/_t/echo/local%3Avztmpl%2Fx.tar.zst")
    assert resp.json()["data"]["params"] == {"vmid": "local:vztmpl/x.tar.zst"}
    resp = _get(echo_routes, "/_t/no%20such")
    assert resp.reason == "Method 'GET /_t/no such' not implemented"


def test_stop_closes_idle_keep_alive_connections(sim_env: SimEnv) -> None:
    conn = _conn(sim_env)
    try:
        conn.request("GET", "/api2/json/version", headers=sim_env.token_header())
        assert conn.getresponse().read()
        sim_env.server.stop()
        with pytest.raises((http.client.HTTPException, OSError)):
            conn.request("GET", "/api2/json/version", headers=sim_env.token_header())
            conn.getresponse()
    finally:
        conn.close()


def test_secret_parameters_are_masked() -> None:
    from pxrun.sim.reqlog import mask_params

    masked = mask_params(
        {
            "password": "p",
            "tfa-challenge": "t",
            "token_secret": "s",
            "root-Password": "x",
            "hostname": "web",
        }
    )
    assert masked == {
        "password": "***",
        "tfa-challenge": "***",
        "token_secret": "***",
        "root-Password": "***",
        "hostname": "web",
    }


def test_a_nonsense_content_length_is_a_400(sim_env: SimEnv) -> None:
    conn = _conn(sim_env)
    try:
        conn.putrequest("POST", "/api2/json/version")
        conn.putheader("Content-Length", "lots")
        conn.endheaders()
        resp = conn.getresponse()
        assert (resp.status, resp.getheader("Connection")) == (400, "close")
    finally:
        conn.close()
    assert _get(sim_env, "/version").status_code == 200
