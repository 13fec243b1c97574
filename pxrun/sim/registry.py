"""The built-in catalog as an OCI registry (distribution API v2), so a client can ask what
a tag points to now the way it asks any registry.

Why: `query-oci-repo-tags` (the Proxmox API) lists a repository's tags but not their
digests, and a pulled archive does not say which digest it holds; tools that watch for
image updates ask the registry for the manifest's digest (`HEAD /v2/<name>/manifests/<tag>`,
header `Docker-Content-Digest`). The simulator serves its catalog that way on its HTTPS
port, as a pull-through mirror does: the registry host is the first part of the name
(`/v2/docker.io/library/nginx/manifests/1.27`). The digest is the one a pull reports
(`oci.digest`), so moving a tag in a test (`sim.extra["oci"]["digests"]`) is an image update
for both. No authentication (a mirror on a trusted network); errors in the registry's own
JSON shape (`NAME_UNKNOWN`, `MANIFEST_UNKNOWN`).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from pxrun.sim import oci

if TYPE_CHECKING:
    from pxrun.sim.dispatch import Reply
    from pxrun.sim.state import Simulator

PREFIX = "/v2/"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[\w][\w.-]{0,127})$")
_TAGS = re.compile(r"^/v2/(?P<name>.+)/tags/list$")


def handle(sim: Simulator, method: str, path: str) -> Reply:
    from pxrun.sim.dispatch import Reply

    if method not in ("GET", "HEAD"):
        return _error(405, "UNSUPPORTED", "the catalog is read-only")
    if path in ("/v2", "/v2/"):
        return Reply(200, "OK", b"{}", headers={"Content-Type": "application/json"})
    found = _MANIFEST.match(path)
    if found:
        image = oci.CATALOG.get(found["name"])
        if image is None:
            return _error(404, "NAME_UNKNOWN", f"repository {found['name']} not known")
        if found["ref"] not in image.tags:
            return _error(404, "MANIFEST_UNKNOWN", f"manifest {found['ref']} unknown")
        with sim.lock:
            digest = oci.digest(sim, found["name"], found["ref"])
        body = json.dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE,
                           "manifests": []}).encode()
        return Reply(200, "OK", b"" if method == "HEAD" else body, headers={
            "Content-Type": INDEX_TYPE, "Docker-Content-Digest": digest})
    found = _TAGS.match(path)
    if found and found["name"] in oci.CATALOG:
        body = json.dumps({"name": found["name"],
                           "tags": list(oci.CATALOG[found["name"]].tags)}).encode()
        return Reply(200, "OK", body, headers={"Content-Type": "application/json"})
    return _error(404, "NAME_UNKNOWN", "repository not known")


def _error(status: int, code: str, message: str) -> Reply:
    from pxrun.sim.dispatch import Reply

    body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
    return Reply(status, "Not Found" if status == 404 else "Error", body,
                 headers={"Content-Type": "application/json"})
