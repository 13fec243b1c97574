"""`oci-registry-pull` and `query-oci-repo-tags` (Proxmox VE 9.1), from the built-in catalog.

The pull is a `download` task that lands `<storage>:vztmpl/<filename>` (an OCI archive,
format `tar`) on that node's storage, with the image's configuration kept for container
creation (oci.py). An unknown repository or tag fails the task as skopeo would fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pxrun.sim import oci
from pxrun.sim.api import ApiError, Request, fail, route
from pxrun.sim.handlers.storage import storage_on
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator


def _pve91(sim: Simulator, req: Request) -> None:
    if not sim.pve9:
        raise ApiError(501, f"Method '{req.method} {req.path}' not implemented")


@route("GET", "/nodes/{node}/query-oci-repo-tags")
def repo_tags(sim: Simulator, req: Request) -> Any:
    _pve91(sim, req)
    reference = str(req.params["reference"])
    image = oci.lookup(reference)
    if image is None:
        raise fail(f"failed to query tags of '{oci.normalize(reference)}': repository name "
                   "not known to registry")
    return list(image.tags)


@route("POST", "/nodes/{node}/storage/{storage}/oci-registry-pull")
def registry_pull(sim: Simulator, req: Request) -> Any:
    _pve91(sim, req)
    node = req.params["node"]
    repository, tag = oci.split(str(req.params["reference"]))
    filename = str(req.params.get("filename") or oci.default_filename(repository, tag))
    if not filename.endswith(".tar"):
        filename += ".tar"
    with sim.lock:
        sdef = storage_on(sim, node, req.params["storage"])
        if "vztmpl" not in sdef.content:
            raise fail(f"storage '{sdef.id}' does not support 'vztmpl' content")

        def work(ctx: TaskContext) -> None:
            ctx.log(f"Pulling image '{repository}:{tag}' to "
                    f"'/var/lib/vz/template/cache/{filename}'")
            image = oci.lookup(repository)
            if image is None:
                raise TaskError(f"initializing source docker://{repository}:{tag}: reading "
                                "manifest: requested access to the resource is denied")
            if tag not in image.tags:
                raise TaskError(f"initializing source docker://{repository}:{tag}: reading "
                                f"manifest {tag} in {repository}: manifest unknown")
            ctx.log("Getting image source signatures")
            ctx.phase(0.8)
            if ctx.fault():
                raise TaskError(f"copying system image from manifest list: writing blob: "
                                f"reading blob from docker://{repository}: connection reset "
                                "by peer")
            with sim.lock:
                digest = oci.digest(sim, repository, tag)
                vol = sim.storages.add_template(sdef.id, node, filename, size=image.size)
                vol.fmt = "tar"
                sim.storages.update_extra(vol, oci={
                    "reference": f"{repository}:{tag}", "digest": digest,
                    **oci.image_config(image)})
                ctx.log("Writing manifest to image destination")
                ctx.log(f"digest: {digest}")
                sim.commit()

        return sim.tasks.start(node, "download", filename, req.auth.authid, work)
