"""Template shorthand (`debian-12`, `ubuntu-24.04`, `alpine`) -> a template on a node.

A shorthand names a distribution (and maybe its release); it is satisfied by any template
file of that distribution, and resolves to the newest one present on the chosen node, else
the newest in the node's download catalog (the create then downloads it first). A full
volid is used as given. Pure: works on what observe listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pxrun.observe.model import Observed, StorageInfo

_VOLID = re.compile(r"(?P<storage>[^:/]+):vztmpl/(?P<file>[^/]+)")
_ARCH = re.compile(r"_(?P<arch>amd64|i386|arm64|armhf|riscv32|riscv64)\.tar")


def is_volid(template: str) -> bool:
    return _VOLID.fullmatch(template) is not None


def template_file(template: str) -> str:
    """The file name of a volid (`local:vztmpl/x.tar.zst` -> `x.tar.zst`); a name as is."""
    match = _VOLID.fullmatch(template)
    return match["file"] if match else template


@lru_cache(maxsize=256)
def _shorthand_re(shorthand: str) -> re.Pattern[str]:
    # debian-12 -> debian-12-standard_12.7-1_amd64.tar.zst; alpine -> alpine-3.20-default_...
    # A flavour without '-' keeps turnkey appliances (debian-12-turnkey-x_...) out.
    return re.compile(re.escape(shorthand.lower()) + r"(?:[-.][0-9][0-9a-z.]*)?-[a-z]+_")


def matches_shorthand(shorthand: str, filename: str, arch: str | None = None) -> bool:
    """Whether a template file is one of those a shorthand names (for the given arch)."""
    if _shorthand_re(shorthand).match(filename.lower()) is None:
        return False
    found = _ARCH.search(filename)
    return found is None or found["arch"] == (arch or "amd64")


@lru_cache(maxsize=4096)  # memoised pure function: asked once per container per plan
def satisfies(desired: str, recorded: str, arch: str | None = None) -> bool:
    """Whether a container made from `recorded` (a volid or the spec's text) is what
    `desired` asks for. A shorthand is satisfied by any of its templates, so a newer
    debian-12 in the catalog never replaces a running debian-12 container."""
    if desired == recorded:
        return True
    if is_volid(desired):
        return template_file(desired) == template_file(recorded)
    if not is_volid(recorded):
        return False
    return matches_shorthand(desired, template_file(recorded), arch)


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders 12.10 after 12.9."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.findall(r"\d+|[^\d]+", text))


@dataclass(frozen=True)
class ResolvedTemplate:
    """Where a create's template comes from: present on the node, downloaded first, or an
    OCI image pulled first (`pull`: its reference) into `download_storage`."""

    volid: str
    download_storage: str | None = None  # set: download `filename` from the catalog first
    filename: str = ""
    pull: str | None = None

    @property
    def needs_download(self) -> bool:
        return self.download_storage is not None and self.pull is None


def image_filename(reference: str) -> str:
    """The archive an image is pulled to: `docker.io/library/nginx:1.27` ->
    `docker.io-library-nginx_1.27.tar` (the whole repository, so two registries' `nginx`
    never share a file)."""
    repository, _, tag = reference.rpartition(":")
    return f"{repository.replace('/', '-')}_{tag}.tar"


def resolve_image(reference: str, node: str, observed: Observed) -> ResolvedTemplate | None:
    """An application container's image on `node`: always pulled first (once per node in
    an apply), so the container gets what the tag means now and its digest is known;
    None when the node has no storage for templates."""
    storage = _download_storage(observed.storages_on(node), None)
    if storage is None:
        return None
    filename = image_filename(reference)
    return ResolvedTemplate(f"{storage}:vztmpl/{filename}", storage, filename, pull=reference)


def _download_storage(storages: Iterable[StorageInfo], preferred: str | None) -> str | None:
    """A storage of the node that takes templates: `preferred` if it does, else `local`,
    else the first by name."""
    names = sorted(s.storage for s in storages if "vztmpl" in s.content and s.enabled)
    for name in (preferred, "local"):
        if name in names:
            return name
    return names[0] if names else None


def resolve_template(template: str, node: str, observed: Observed,
                     arch: str | None = None) -> ResolvedTemplate | None:
    """The template a create on `node` uses, or None when neither the node nor its catalog
    has it."""
    present = [t.volid for t in observed.templates_on(node)]
    catalog = [c.template for c in observed.catalog if c.node == node]
    storages = observed.storages_on(node)
    if is_volid(template):
        if template in present:
            return ResolvedTemplate(template)
        match = _VOLID.fullmatch(template)
        assert match is not None
        storage = _download_storage(storages, match["storage"])
        if match["file"] in catalog and storage == match["storage"]:
            return ResolvedTemplate(template, storage, match["file"])
        return None
    local = [v for v in present if matches_shorthand(template, template_file(v), arch)]
    if local:
        return ResolvedTemplate(max(local, key=lambda v: _natural(template_file(v))))
    remote = [f for f in catalog if matches_shorthand(template, f, arch)]
    storage = _download_storage(storages, None)
    if remote and storage is not None:
        newest = max(remote, key=_natural)
        return ResolvedTemplate(f"{storage}:vztmpl/{newest}", storage, newest)
    return None
