"""`--check-images`: what each image tag of the spec points to now (plan, apply, drift).

For every image an existing container of the stack was made from: the cluster is asked
whether the tag still exists (`query-oci-repo-tags`, from a node, through its network and
proxy), the registry what digest it points to (`connect.registry`; with `--sim`, the
simulator serves its catalog as a registry mirror). The planner compares those digests
with the ones recorded in the containers' markers (specs/0100). Nothing here changes the
cluster; a registry that does not answer is a warning, not a failure.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pxrun.cli.context import Settings

if TYPE_CHECKING:
    from pxrun.connect.client import ProxmoxClient
    from pxrun.observe.model import Observed
    from pxrun.spec.model import Stack

F = TypeVar("F", bound=Callable[..., Any])

MIRROR_ENV = "PXRUN_REGISTRY_MIRROR"


def pve9_flags(func: F) -> F:
    """`--rebalance` and `--check-images` for plan, apply and drift, kept on the run's
    Settings (`Settings.rebalance`, `Settings.check_images`)."""

    @functools.wraps(func)
    def wrapper(settings: Settings | None, /, *args: Any, **kwargs: Any) -> Any:
        settings = settings if settings is not None else Settings()
        settings.rebalance = settings.rebalance or bool(kwargs.pop("rebalance", False))
        settings.check_images = settings.check_images or bool(kwargs.pop("check_images"))
        return func(settings, *args, **kwargs)

    options = [click.option("--check-images", is_flag=True,
                            help="Ask the registry what each image tag points to now; a "
                                 "container made from another digest is replaced (its "
                                 "data volumes kept).")]
    if func.__name__ != "drift_cmd":
        options.append(click.option(
            "--rebalance", is_flag=True,
            help="Migrate containers HA moved back to the node their spec names."))
    for option in options:
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def image_digests(client: ProxmoxClient, settings: Settings, stack: Stack,
                  observed: Observed) -> dict[str, str]:
    """`check_images` when `--check-images` was given, else nothing."""
    if not settings.check_images:
        return {}
    connection = getattr(client, "settings", None)
    endpoint = getattr(connection, "endpoint", None)
    mirror = endpoint.url if settings.sim and endpoint is not None else None
    ca_file = getattr(connection, "ca_file", None) if settings.sim else None
    return check_images(client, stack, observed, settings, mirror=mirror, ca_file=ca_file)


def check_images(client: ProxmoxClient, stack: Stack, observed: Observed,
                 settings: Settings, *, mirror: str | None = None,
                 ca_file: Path | None = None) -> dict[str, str]:
    """image reference -> the digest its tag points to now, for the images of the stack's
    existing containers. `mirror`: the registry mirror (the simulator's with --sim), else
    $PXRUN_REGISTRY_MIRROR, else each image's own registry."""
    from pxrun.cli.output import warn
    from pxrun.connect.registry import RegistryError, manifest_digest
    from pxrun.errors import ApiError
    from pxrun.spec.model_pve9 import split_image

    nodes: dict[str, str] = {}
    for name, ct in sorted(stack.containers.items()):
        have = observed.containers.get(name)
        if ct.image is not None and have is not None:
            nodes.setdefault(ct.image, have.node)
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    digests: dict[str, str] = {}
    for reference, node in sorted(nodes.items()):
        repository, tag = split_image(reference)
        try:
            tags = client.get(f"nodes/{node}/query-oci-repo-tags", reference=repository)
        except ApiError as exc:
            warn(settings, f"cannot check image {reference}: {exc.message}")
            continue
        if isinstance(tags, list) and tag not in tags:
            warn(settings, f"image {reference}: the registry no longer has tag {tag}")
            continue
        try:
            digests[reference] = manifest_digest(reference, mirror=mirror, ca_file=ca_file)
        except RegistryError as exc:
            warn(settings, f"cannot check image {exc.message}")
    return digests
