"""What an image tag points to now: the manifest digest, from the registry itself.

Why pxrun asks the registry: Proxmox's `query-oci-repo-tags` lists a repository's tags but
not their digests, and nothing in the API says which digest a pulled archive holds. An
update check therefore does what image-watching tools do: `HEAD /v2/<name>/manifests/<tag>`
and read `Docker-Content-Digest` (OCI distribution spec), with the anonymous bearer token
a public registry hands out after a 401. `docker.io` is served by `registry-1.docker.io`.

A mirror (`PXRUN_REGISTRY_MIRROR`, or the simulator with `--sim`) serves every registry
under one URL, the registry host first in the name: `<mirror>/v2/docker.io/library/nginx/
manifests/1.27`. TLS is verified (a CA file for a private mirror). Standard library only.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from pxrun.errors import PxrunError

ACCEPT = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
DOCKER_HUB = "registry-1.docker.io"
_BEARER = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(PxrunError):
    """The registry could not say what a tag points to."""


def split_reference(reference: str) -> tuple[str, str, str]:
    """`docker.io/library/nginx:1.27` -> (docker.io, library/nginx, 1.27)."""
    repository, _, tag = reference.rpartition(":")
    host, _, path = repository.partition("/")
    return host, path, tag


def manifest_url(reference: str, mirror: str | None = None) -> str:
    host, path, tag = split_reference(reference)
    if mirror:
        return f"{mirror.rstrip('/')}/v2/{host}/{path}/manifests/{tag}"
    base = DOCKER_HUB if host == "docker.io" else host
    return f"https://{base}/v2/{path}/manifests/{tag}"


def manifest_digest(reference: str, *, mirror: str | None = None,
                    ca_file: Path | None = None, timeout: float = 15.0) -> str:
    """The digest `reference`'s tag points to now; RegistryError with the reason when the
    registry does not answer it."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    url = manifest_url(reference, mirror)
    token: str | None = None
    for _ in range(2):
        request = urllib.request.Request(url, method="HEAD", headers={"Accept": ACCEPT})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
                digest = str(answer.headers.get("Docker-Content-Digest") or "")
        except urllib.error.HTTPError as exc:
            challenge = exc.headers.get("WWW-Authenticate", "") if exc.headers else ""
            if exc.code == 401 and token is None and challenge.lower().startswith("bearer"):
                token = _token(challenge, context, timeout)
                continue
            raise RegistryError(f"{reference}: the registry answered {exc.code} "
                                f"{exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryError(f"{reference}: the registry cannot be reached ({reason})"
                                ) from None
        if not digest:
            raise RegistryError(f"{reference}: the registry sent no Docker-Content-Digest")
        return digest
    raise RegistryError(f"{reference}: the registry refused the anonymous token")


def _token(challenge: str, context: ssl.SSLContext, timeout: float) -> str:
    """An anonymous pull token from the realm a 401 names."""
    fields = dict(_BEARER.findall(challenge))
    realm = fields.pop("realm", "")
    if not realm.startswith("https://"):
        raise RegistryError(f"the registry's token service {realm!r} is not https")
    url = f"{realm}?{urllib.parse.urlencode(fields)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as answer:
            data = json.loads(answer.read(1 << 20))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RegistryError(f"no token from {realm}: {exc}") from None
    token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str):
        raise RegistryError(f"no token from {realm}")
    return token
