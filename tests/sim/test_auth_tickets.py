"""Authentication as pveproxy does it: API tokens, tickets, CSRF tokens, and their failures."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from proxmoxer import AuthenticationError
from proxmoxer.core import ResourceException

from pxrun.sim.auth import AUTH_FILE, TICKET_LIFETIME, Credentials, init_credentials
from tests.sim.conftest import SimEnv

pytestmark = pytest.mark.integration


def _call(
    env: SimEnv, method: str, path: str, headers: dict[str, str] | None = None, **kw: object
) -> requests.Response:
    return requests.request(
        method,
        f"{env.endpoint}/api2/json{path}",
        headers=headers or {},
        verify=str(env.ca_file),
        timeout=10,
        **kw,
    )


def _login(env: SimEnv) -> dict[str, str]:
    resp = _call(
        env, "POST", "/access/ticket", data={"username": "root@pam", "password": env.password}
    )
    assert resp.status_code == 200
    data: dict[str, str] = resp.json()["data"]
    return data


# -- API tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["=", " "])
def test_token_header_accepts_both_separators(sim_env: SimEnv, separator: str) -> None:
    value = f"PVEAPIToken{separator}{sim_env.token_id}={sim_env.token_secret}"
    resp = _call(sim_env, "GET", "/version", {"Authorization": value})
    assert resp.status_code == 200


def test_proxmoxer_with_a_token(sim_env: SimEnv) -> None:
    assert sim_env.proxmoxer().version.get()["release"]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "No ticket"),
        ("PVEAPIToken=root@pam!pxrun=wrong", "invalid token value!"),
        ("PVEAPIToken=root@pam!other=x", "no such token 'other' for user 'root@pam'"),
        ("PVEAPIToken=bob@pve!pxrun=x", "no such user ('bob@pve')"),
        ("PVEAPIToken=root@pam!pxrun", "no tokenid specified"),
        ("PVEAuthCookie=PVE:root@pam:00000000::forged", "permission denied - invalid PVE ticket"),
    ],
)
def test_auth_failures_are_401_with_proxmox_texts_and_empty_body(
    sim_env: SimEnv, header: str | None, reason: str
) -> None:
    resp = _call(sim_env, "GET", "/version", {"Authorization": header} if header else {})
    assert (resp.status_code, resp.reason, resp.content) == (401, reason, b"")


def test_proxmoxer_sees_the_401_reason(sim_env: SimEnv) -> None:
    from proxmoxer import ProxmoxAPI

    prox = ProxmoxAPI(
        sim_env.host,
        user="root@pam",
        token_name="pxrun",
        token_value="nope",
        verify_ssl=str(sim_env.ca_file),
    )
    with pytest.raises(ResourceException) as err:
        prox.version.get()
    assert (err.value.status_code, err.value.content) == (401, "invalid token value!")


def test_401s_can_be_delayed_like_pveproxy(sim_env: SimEnv) -> None:
    sim_env.sim.settings.auth_fail_delay = 0.2
    started = time.perf_counter()
    assert _call(sim_env, "GET", "/version").status_code == 401
    assert time.perf_counter() - started >= 0.2


def test_tokens_are_refused_where_allowtoken_is_0(sim_env: SimEnv) -> None:
    resp = _call(
        sim_env,
        "POST",
        "/access/ticket",
        sim_env.token_header(),
        data={"username": "root@pam", "password": sim_env.password},
    )
    assert resp.status_code == 403
    assert resp.reason == "URI '/access/ticket' not available with API token, need proper ticket."


def test_a_token_of_root_is_not_root(echo_routes: SimEnv) -> None:
    by_token = _call(echo_routes, "GET", "/_t/echo", echo_routes.token_header()).json()["data"]
    assert (by_token["authid"], by_token["is_root"]) == ("root@pam!pxrun", False)
    cookie = {"Cookie": f"PVEAuthCookie={_login(echo_routes)['ticket']}"}
    by_ticket = _call(echo_routes, "GET", "/_t/echo", cookie).json()["data"]
    assert (by_ticket["authid"], by_ticket["is_root"]) == ("root@pam", True)


# -- tickets ------------------------------------------------------------------------------------


def test_login_answers_like_proxmox(sim_env: SimEnv) -> None:
    data = _login(sim_env)
    assert data["username"] == "root@pam"
    assert re.fullmatch(r"PVE:root@pam:[0-9A-F]{8}::\S+", data["ticket"])
    assert re.fullmatch(r"[0-9A-F]{8}:\S+", data["CSRFPreventionToken"])
    cap = data["cap"]
    assert isinstance(cap, dict) and cap["vms"]["VM.Allocate"] == 1  # type: ignore[index]


def test_username_and_realm_may_come_apart(sim_env: SimEnv) -> None:
    resp = _call(
        sim_env,
        "POST",
        "/access/ticket",
        data={"username": "root", "realm": "pam", "password": sim_env.password},
    )
    assert resp.json()["data"]["username"] == "root@pam"


@pytest.mark.parametrize(
    "form",
    [
        {"username": "root@pam", "password": "wrong"},
        {"username": "ghost@pam", "password": "whatever"},
        {"username": "root", "password": "whatever"},
    ],
)
def test_bad_logins_are_one_and_the_same_401(sim_env: SimEnv, form: dict[str, str]) -> None:
    resp = _call(sim_env, "POST", "/access/ticket", data=form)
    assert (resp.status_code, resp.reason) == (401, "authentication failure")
    assert resp.json() == {"data": None, "message": "authentication failure\n"}


def test_proxmoxer_password_auth_and_csrf_on_writes(echo_routes: SimEnv) -> None:
    prox = echo_routes.proxmoxer(password=echo_routes.password)
    ticket, csrf = prox.get_tokens()
    assert ticket.startswith("PVE:root@pam:") and csrf
    assert prox.version.get()["release"]
    assert prox("_t/echo").post(x=1)["authid"] == "root@pam"  # proxmoxer sends the CSRF header
    cookie = {"Cookie": f"PVEAuthCookie={ticket}"}
    missing = _call(echo_routes, "POST", "/_t/echo", cookie)
    wrong = _call(echo_routes, "PUT", "/_t/echo", {**cookie, "CSRFPreventionToken": "0:bad"})
    for resp in (missing, wrong):
        assert (resp.status_code, resp.reason) == (401, "Permission denied - invalid csrf token")
    good = _call(echo_routes, "DELETE", "/_t/echo", {**cookie, "CSRFPreventionToken": csrf})
    assert good.status_code == 200


def test_proxmoxer_wrong_password(sim_env: SimEnv) -> None:
    with pytest.raises(AuthenticationError):
        sim_env.proxmoxer(password="wrong")


def test_ticket_in_authorization_header(sim_env: SimEnv) -> None:
    header = {"Authorization": f"PVEAuthCookie={_login(sim_env)['ticket']}"}
    assert _call(sim_env, "GET", "/version", header).status_code == 200


def test_a_valid_ticket_renews_itself(sim_env: SimEnv) -> None:
    ticket = _login(sim_env)["ticket"]
    renewed = _call(
        sim_env, "POST", "/access/ticket", data={"username": "root@pam", "password": ticket}
    )
    assert renewed.status_code == 200
    assert renewed.json()["data"]["ticket"].startswith("PVE:root@pam:")
    other = _call(
        sim_env, "POST", "/access/ticket", data={"username": "ghost@pam", "password": ticket}
    )
    assert other.status_code == 401


def test_tickets_expire_after_two_hours(sim_env: SimEnv) -> None:
    ticket = _login(sim_env)["ticket"]
    header = {"Cookie": f"PVEAuthCookie={ticket}"}
    assert _call(sim_env, "GET", "/version", header).status_code == 200
    creds = sim_env.server.credentials
    creds.clock = lambda: time.time() + TICKET_LIFETIME + 1
    resp = _call(sim_env, "GET", "/version", header)
    assert (resp.status_code, resp.reason) == (401, "permission denied - invalid PVE ticket")
    renew = _call(
        sim_env, "POST", "/access/ticket", data={"username": "root@pam", "password": ticket}
    )
    assert renew.status_code == 401


def test_tampered_tickets_are_refused(sim_env: SimEnv) -> None:
    ticket = _login(sim_env)["ticket"]
    forged = ticket.replace("root@pam", "admin@pve", 1)
    resp = _call(sim_env, "GET", "/version", {"Cookie": f"PVEAuthCookie={forged}"})
    assert resp.reason == "permission denied - invalid PVE ticket"


# -- permissions --------------------------------------------------------------------------------


def test_permissions_of_the_token(sim_env: SimEnv) -> None:
    prox = sim_env.proxmoxer()
    everything = prox.access.permissions.get()
    assert everything["/"]["VM.Allocate"] == 1
    assert everything["/"]["Sys.Modify"] == 1
    assert prox.access.permissions.get(path="/vms/100") == {"/vms/100": everything["/"]}


def test_permissions_of_others(sim_env: SimEnv) -> None:
    creds = sim_env.server.credentials
    creds.add_user("alice@pve", "alice-password")
    prox = sim_env.proxmoxer()
    assert prox.access.permissions.get(userid="alice@pve") == {}
    with pytest.raises(ResourceException) as err:
        prox.access.permissions.get(userid="ghost@pve")
    assert err.value.content == "no such user ('ghost@pve')"
    alice = _call(
        sim_env,
        "POST",
        "/access/ticket",
        data={"username": "alice@pve", "password": "alice-password"},
    ).json()["data"]
    cookie = {"Cookie": f"PVEAuthCookie={alice['ticket']}"}
    resp = _call(sim_env, "GET", "/access/permissions?userid=root@pam", cookie)
    assert (resp.status_code, resp.reason) == (403, "Permission check failed (/access, Sys.Audit)")
    assert _call(sim_env, "GET", "/access/permissions", cookie).json()["data"] == {}


# -- the credentials file -----------------------------------------------------------------------


def test_init_credentials_is_idempotent_and_password_resets(tmp_path: object) -> None:
    from pathlib import Path

    state = Path(str(tmp_path))
    first = init_credentials(state)
    assert first == init_credentials(state)
    assert first[0] == "root@pam!pxrun"
    assert not Credentials.load(state).check_password("root@pam", "new-pass")
    assert init_credentials(state, password="new-pass") == first
    assert Credentials.load(state).check_password("root@pam", "new-pass")
    stored = json.loads((state / AUTH_FILE).read_text())
    assert "new-pass" not in json.dumps(stored)
