"""Getting files onto a storage: `upload` (multipart) and `query-url-metadata`.

`POST .../storage/{storage}/upload` is pve-storage's upload: pveproxy spools the file (here:
memory) and names it `tmpfilename`; the call checks content type and file extension, and an
`imgcopy` task (empty id) copies it into place, verifying `checksum` if given. Templates land
as `<storage>:vztmpl/<name>`, ISO images as `<storage>:iso/<name>`, `import` files as
`<storage>:import/<name>`; an existing file of that name is replaced.

`query-url-metadata` answers what a HEAD request would (filename, size, mime type). The
simulator has no network: the template catalog's own URLs give their real sizes, any other
http(s) URL a stable made-up size.
"""

from __future__ import annotations

import hashlib
import mimetypes
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from pxrun.sim.api import Request, fail, param_error, route
from pxrun.sim.cluster import CATALOG
from pxrun.sim.handlers.storage import storage_on
from pxrun.sim.storages import template_size
from pxrun.sim.tasks import TaskContext, TaskError

if TYPE_CHECKING:
    from pxrun.sim.state import Simulator

VZTMPL_EXT = (".tar", ".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2", ".tgz")
ISO_EXT = (".iso", ".img")
FOLDERS = {"vztmpl": "/var/lib/vz/template/cache", "iso": "/var/lib/vz/template/iso",
           "import": "/var/lib/vz/import"}


def check_filename(content: str, filename: str) -> None:
    if "/" in filename or filename in (".", ".."):
        raise param_error({"filename": "invalid file name"})
    lower = filename.lower()
    if content == "vztmpl" and not lower.endswith(VZTMPL_EXT):
        raise param_error({"filename": "wrong file extension"})
    if content == "iso" and not lower.endswith(ISO_EXT):
        raise param_error({"filename": "wrong file extension"})
    if content == "import" and not lower.endswith((".ova", ".ovf", ".qcow2", ".raw",
                                                   ".vmdk", ".img")):
        raise param_error({"filename": "invalid filename or wrong extension"})


@route("POST", "/nodes/{node}/storage/{storage}/upload")
def upload(sim: Simulator, req: Request) -> Any:
    p = req.params
    node, content, filename = p["node"], str(p["content"]), str(p["filename"])
    data = req.upload
    if data is None or not p.get("tmpfilename"):
        raise param_error({"filename": "missing file upload (multipart/form-data)"})
    check_filename(content, filename)
    with sim.lock:
        sdef = storage_on(sim, node, p["storage"])
        if content not in sdef.content:
            raise fail(f"storage '{sdef.id}' does not support '{content}' content")
        tmp = str(p["tmpfilename"])
        algorithm, expected = p.get("checksum-algorithm"), p.get("checksum")

        def work(ctx: TaskContext) -> None:
            target = f"{FOLDERS[content]}/{filename}"
            ctx.log(f"starting file import from: {tmp}")
            if algorithm:
                ctx.log("calculating checksum...")
                got = hashlib.new(str(algorithm), data).hexdigest()
                if got != str(expected).lower():
                    raise TaskError(f"checksum mismatch: got '{got}' != expect '{expected}'")
                ctx.log("checksum verified")
            ctx.log(f"target node: {node}")
            ctx.log(f"target file: {target}")
            ctx.log(f"file size is: {len(data)}")
            ctx.log(f"command: cp -- {tmp} {target}")
            ctx.phase()
            with sim.lock:
                sim.storages.add_template(sdef.id, node, filename, size=len(data),
                                          content=content)
                sim.commit()
            ctx.log("finished file import successfully")

        return sim.tasks.start(node, "imgcopy", "", req.auth.authid, work)


@route("GET", "/nodes/{node}/query-url-metadata")
def url_metadata(sim: Simulator, req: Request) -> Any:
    url = str(req.params["url"])
    parsed = urlparse(url)
    if not parsed.hostname:
        raise fail(f"invalid server response: '500 Can't connect to {url}'")
    name = unquote(parsed.path.rsplit("/", 1)[-1]) or "index.html"
    known = {template for template, *_ in CATALOG}
    size = template_size(name) if name in known else \
        50_000_000 + int(hashlib.sha1(url.encode()).hexdigest()[:6], 16)
    kind = mimetypes.guess_type(name)[0]
    if name.endswith(".zst"):
        kind = "application/zstd"
    return {"filename": name, "size": size, "mimetype": kind or "application/octet-stream"}
