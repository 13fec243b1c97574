"""The Tailscale API, for one job: removing a destroyed container's node from its tailnet.

A container that ran a Tailscale step is a device on the tailnet until someone removes it
(an ephemeral node goes by itself once offline; a normal one stays, and a re-created
container of the same name would join as `vpn-1`). The marker records the hostname it
joined under; the device is found by it among the tailnet's devices — its hostname, its
MagicDNS name (`vpn.tail1234.ts.net`) or that name's first label, with an FQDN hostname
(`vpn.home.lan`) matched by its first label too; exact matches win — and deleted by id.
Several matches are refused rather than guessed at.

The key (`tskey-api-…`) comes from TAILSCALE_API_KEY or the stack's sops secrets
(`tailscale_api_key`); it travels only in the Authorization header and appears in no
message. `TAILSCALE_BASE_URL` points elsewhere (a test's loopback fake): plain http is
accepted for loopback addresses only, TLS is verified for everything else.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from pxrun.errors import TailnetError

DEFAULT_BASE_URL = "https://api.tailscale.com"
KEY_ENV = "TAILSCALE_API_KEY"
KEY_SECRET = "secrets.tailscale_api_key"
TIMEOUT = 15.0


def tailnet_key(environ: Mapping[str, str], secrets: Mapping[str, str]) -> str | None:
    """The API key: the environment first, then the stack's sops secrets."""
    return environ.get(KEY_ENV) or secrets.get(KEY_SECRET) or None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def names_of(hostname: str) -> set[str]:
    """The names a device of `hostname` may carry: as given, and its first label."""
    lowered = hostname.lower().rstrip(".")
    return {lowered, lowered.split(".", 1)[0]}


def matches(device: Mapping[str, Any], hostname: str, *, exact: bool = False) -> bool:
    """Whether `device` (from the devices list) is the node that joined as `hostname`:
    `exact`, by its hostname or MagicDNS name as given; else by first labels too."""
    own = str(device.get("hostname") or "").lower()
    fqdn = str(device.get("name") or "").lower().rstrip(".")
    if exact:
        return hostname.lower().rstrip(".") in {own, fqdn}
    return bool({own, fqdn, fqdn.split(".", 1)[0]} & (names_of(hostname) - {""}))


class TailscaleApi:
    """A minimal client: list the tailnet's devices, delete one. `TailnetRemover` for apply."""

    def __init__(self, key: str, *, base_url: str = DEFAULT_BASE_URL, tailnet: str = "-",
                 timeout: float = TIMEOUT) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "https" and not (parts.scheme == "http"
                                            and _loopback(parts.hostname or "")):
            raise TailnetError(f"the Tailscale API address {base_url} must use https",
                               hint="plain http is accepted for loopback addresses only")
        self._key = key
        self.base = base_url.rstrip("/")
        self.tailnet = tailnet or "-"
        self.timeout = timeout

    def __repr__(self) -> str:  # never the key
        return f"TailscaleApi({self.base!r}, tailnet={self.tailnet!r})"

    def _request(self, method: str, path: str) -> Any:
        import requests

        url = f"{self.base}/api/v2/{path}"
        try:
            response = requests.request(method, url, timeout=self.timeout,
                                        headers={"Authorization": f"Bearer {self._key}",
                                                 "Accept": "application/json"})
        except requests.RequestException as exc:
            raise TailnetError(f"the Tailscale API at {self.base} did not answer "
                               f"({type(exc).__name__})") from None
        if response.status_code >= 400:
            try:
                message = str(response.json().get("message") or "")
            except ValueError:
                message = ""
            hint = ("check the API key (TAILSCALE_API_KEY) and its permissions"
                    if response.status_code in (401, 403) else "")
            raise TailnetError(f"the Tailscale API refused {method} {path}: "
                               f"{response.status_code} {message or response.reason}".rstrip(),
                               hint=hint)
        return response.json() if response.content else None

    def devices(self) -> list[dict[str, Any]]:
        found = self._request("GET", f"tailnet/{quote(self.tailnet, safe='')}/devices")
        items = found.get("devices") if isinstance(found, dict) else None
        return [d for d in items if isinstance(d, dict)] if isinstance(items, list) else []

    def remove(self, hostname: str) -> str | None:
        """Delete the device that joined as `hostname`; its name, or None when none did."""
        devices = self.devices()
        found = ([d for d in devices if matches(d, hostname, exact=True)]
                 or [d for d in devices if matches(d, hostname)])
        if not found:
            return None
        if len(found) > 1:
            names = ", ".join(sorted(str(d.get("name") or d.get("id")) for d in found))
            raise TailnetError(f"{len(found)} devices on the tailnet match {hostname} "
                               f"({names}); pxrun removes none of them",
                               hint="remove the right one in the Tailscale admin console")
        device = found[0]
        device_id = str(device.get("id") or device.get("nodeId") or "")
        if not device_id:
            raise TailnetError(f"the tailnet device {hostname} has no id")
        self._request("DELETE", f"device/{quote(device_id, safe='')}")
        return str(device.get("name") or device.get("hostname") or hostname)
