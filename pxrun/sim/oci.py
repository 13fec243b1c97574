"""OCI images without a network: a small built-in registry for `oci-registry-pull`,
`query-oci-repo-tags` and containers created from a pulled image (Proxmox VE 9.1).

PVE 9.1 pulls an image with skopeo into a template storage as an OCI archive
(`<storage>:vztmpl/<name>.tar`) and, when a container is created from such an archive
("Detected OCI archive"), takes the image's configuration into the container's: `entrypoint`,
`env` (NUL-separated, as the option's pattern says), `lxc.init.cwd` and `lxc.signal.halt` as raw
keys, console mode, and a base directory for each declared volume. Application images (no init
system) get host-managed networking. The catalog below stands in for the registries; each tag
has a stable digest, which a test may move (`sim.extra["oci"]["digests"][reference]`) to play
an image update. Simulator choices where PVE's behaviour is not documented: the default
file name `<repository>_<tag>.tar`, the `download` task type, the pull log's `digest:` line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

DEFAULT_REGISTRY = "docker.io"
BASE_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Image:
    """One repository of the built-in registry: its tags and the image configuration."""

    tags: tuple[str, ...]
    entrypoint: str
    env: tuple[str, ...] = (BASE_PATH,)
    cwd: str = "/"
    volumes: tuple[str, ...] = ()
    ostype: str = "unmanaged"
    application: bool = True  # no init system: host-managed networking
    size: int = 50_000_000
    stop_signal: str = "SIGTERM"
    extra: dict[str, Any] = field(default_factory=dict)


CATALOG: dict[str, Image] = {
    "docker.io/library/nginx": Image(
        tags=("1.26", "1.26.3", "1.27", "1.27.3", "1.28", "1.28.0", "alpine", "latest"),
        entrypoint="/docker-entrypoint.sh nginx -g 'daemon off;'",
        env=(BASE_PATH, "NGINX_VERSION=1.27.3", "NJS_VERSION=0.8.9"), ostype="debian",
        stop_signal="SIGQUIT", size=72_000_000),
    "docker.io/library/postgres": Image(
        tags=("15", "16", "16.6", "17", "17.2", "latest"),
        entrypoint="docker-entrypoint.sh postgres",
        env=(BASE_PATH, "PG_MAJOR=17", "PG_VERSION=17.2-1.pgdg120+1",
             "PGDATA=/var/lib/postgresql/data"),
        volumes=("/var/lib/postgresql/data",), ostype="debian", stop_signal="SIGINT",
        size=150_000_000),
    "docker.io/library/redis": Image(
        tags=("7", "7.4", "7.4.2", "latest"), entrypoint="docker-entrypoint.sh redis-server",
        env=(BASE_PATH, "REDIS_VERSION=7.4.2"), volumes=("/data",), cwd="/data",
        ostype="debian", size=45_000_000),
    "docker.io/library/alpine": Image(
        tags=("3.20", "3.21", "3.22", "latest"), entrypoint="/bin/sh", ostype="alpine",
        application=False, size=3_700_000),
    "docker.io/jellyfin/jellyfin": Image(
        tags=("10.10.3", "latest"), entrypoint="/jellyfin/jellyfin",
        env=(BASE_PATH, "JELLYFIN_DATA_DIR=/config", "JELLYFIN_CACHE_DIR=/cache"),
        volumes=("/config", "/cache"), ostype="debian", size=480_000_000),
    "ghcr.io/home-assistant/home-assistant": Image(
        tags=("2025.1", "stable", "latest"), entrypoint="/init", volumes=("/config",),
        ostype="alpine", size=600_000_000),
}


def normalize(reference: str) -> str:
    """`nginx` → `docker.io/library/nginx` (with any `:tag` kept), as container tools do."""
    name, tag = reference, ""
    if ":" in reference.rsplit("/", 1)[-1]:
        name, tag = reference.rsplit(":", 1)
    parts = name.split("/")
    if len(parts) == 1:
        name = f"{DEFAULT_REGISTRY}/library/{name}"
    elif not ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        name = f"{DEFAULT_REGISTRY}/{name}"
    return f"{name}:{tag}" if tag else name


def split(reference: str) -> tuple[str, str]:
    """(repository, tag) of a normalized `repo:tag` reference."""
    repo, _, tag = normalize(reference).rpartition(":")
    return repo, tag


def lookup(repository: str) -> Image | None:
    return CATALOG.get(normalize(repository))


def digest(sim: Simulator, repository: str, tag: str) -> str:
    """The manifest digest a tag points to now (stable unless a test moved it)."""
    moved = sim.extra.get("oci", {}).get("digests", {})
    key = f"{repository}:{tag}"
    if key in moved:
        return str(moved[key])
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def default_filename(repository: str, tag: str) -> str:
    return f"{repository.rsplit('/', 1)[-1]}_{tag}.tar"


def image_config(image: Image) -> dict[str, Any]:
    """What a container created from the image takes over (stored with the archive)."""
    return {"entrypoint": image.entrypoint, "env": list(image.env), "cwd": image.cwd,
            "volumes": list(image.volumes), "ostype": image.ostype,
            "application": image.application, "stop_signal": image.stop_signal}
