"""Create: template download (once per node), vmid reservation, the create task, and the
wait for the container's address; and `pct set` on the node for the writes the plan routed
there.

Every option the plan resolved goes into the create call explicitly — network, mounts,
features, `unprivileged`, tags — because PVE 8 and 9 differ in their defaults (PVE 9
creates unprivileged containers unless told otherwise). The ownership marker and the stack
tag go into the create itself, so there is no moment at which the container exists but is
not ours. Options only root@pam may set are not in the create's parameters: the plan puts
them in a node-routed config operation right after it.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pxrun.apply.context import Future
from pxrun.apply.ownership import marker_for, owned_tags, pct_set_args, with_marker
from pxrun.apply.secrets import resolve_all
from pxrun.apply.steps_pve9 import pull_image
from pxrun.errors import ApiError, ApplyError
from pxrun.plan.model import SecretText

if TYPE_CHECKING:
    from pxrun.apply.context import Run
    from pxrun.plan.model import ConfigValue, CreateContainer, TemplateDownload


def download_template(run: Run, node: str, download: TemplateDownload) -> None:
    """`POST nodes/{node}/aplinfo`, once per (node or shared storage, template): the first
    create that needs it downloads, the others wait for that download."""
    shared = run.shared
    where = "" if download.storage in shared.shared_storages else node
    key = (where, download.storage, download.template)
    with shared.downloads_lock:
        future = shared.downloads.get(key)
        first = future is None
        if future is None:
            future = shared.downloads[key] = Future()
    if not first:
        with run.step("download", detail=f"waiting for {download.template}"):
            future.wait()
        return
    try:
        with run.step("download", run.node_keys(download.storage, node=node),
                      detail=download.template):
            run.task("post", f"nodes/{node}/aplinfo", kind="download", step="download",
                     storage=download.storage, template=download.template)
    except BaseException as exc:
        future.set(exc)
        raise
    future.set()


def create(run: Run, op: CreateContainer) -> None:
    """Reserve a vmid and create the container; the run then points at it."""
    if op.download is not None:
        download_template(run, op.node, op.download)
    image: dict[str, str] = {}
    if op.pull is not None:  # an application container: the image, pulled now
        image["image"] = op.pull.reference
        digest = pull_image(run, op.node, op.pull)
        if digest is not None:
            image["image_digest"] = digest
    shared = run.shared
    marker = marker_for(shared.stack, run.address, template=op.marker_template,
                        recreates=op.recreates.model_dump() if op.recreates else None,
                        **image)
    storages = {op.storage, *_mount_storages(op.params)}
    run.node = op.node
    with run.step("create", run.node_keys(*sorted(storages), node=op.node),
                  detail=f"on {op.node}"):
        params = resolve_all(op.params, shared.options.secrets)
        params["tags"] = owned_tags(params.get("tags"), shared.stack)
        params["description"] = with_marker(params.get("description"), marker)
        params.setdefault("ostemplate", op.template)
        params.setdefault("storage", op.storage)
        vmid, upid = shared.vmids.create(run, op.node, op.vmid, params)
        run.vmid = vmid
        run.created = True
        run.running = False
        run.wait(upid, "create", "create")


def set_on_node(run: Run, params: Mapping[str, ConfigValue],
                delete: tuple[str, ...] = ()) -> None:
    """A write the plan routed through the node: `pct set` as root over SSH."""
    runner = run.shared.options.root_runner
    node, vmid = run.where()
    keys = ", ".join(sorted([*params, *delete]))
    if runner is None:
        raise ApplyError(f"the plan sets {keys} with `pct set` on the node, but node SSH is "
                         "not configured for this apply",
                         hint="configure node SSH (cluster.ssh), or run `pxrun plan` again")
    secret = sorted(k for k, v in params.items() if isinstance(v, SecretText))
    if secret:  # the planner never routes these here; a hand-edited plan might
        raise ApplyError(f"refusing to put the secret in {', '.join(secret)} on the node's "
                         "command line")
    texts = {k: v for k, v in params.items() if isinstance(v, str)}
    with run.step("pct-set", run.node_keys(), detail=keys):
        runner.pct(node, pct_set_args(vmid, texts, delete))
    what = " and ".join(part for part in (
        f"{', '.join(sorted(params))} set" if params else "",
        f"{', '.join(delete)} removed" if delete else "") if part)
    run.warn(f"{what} with `pct set` on {node} over SSH (root@pam-only: an API token may not "
             "change them)")


def _mount_storages(params: Mapping[str, ConfigValue]) -> set[str]:
    """Storages that new mount point volumes (`storage:GiB`) are allocated on."""
    out: set[str] = set()
    for key, value in params.items():
        if key.startswith("mp") and key[2:].isdigit():
            text = value if isinstance(value, str) else str(value.parts[0])
            volume = text.split(",", 1)[0]
            if ":" in volume and not volume.startswith("/"):
                out.add(volume.split(":", 1)[0])
    return out


def wait_for_address(run: Run, *, required: bool = False) -> None:
    """After a start: wait (bounded) until the container reports an IPv4 address on a
    non-loopback interface. DHCP takes a moment; a static address shows at once. The plan
    asks for this only where the spec gives an address. None in time is a warning (the
    container exists and runs), or, when `required` (a rolling replace), a failure."""
    options = run.shared.options
    timeout = options.timeout("ip")
    with run.step("wait-ip"):
        deadline = time.monotonic() + timeout
        delay = options.ip_poll
        while True:
            address = read_address(run)
            if address is not None:
                run.ip = address
                return
            if time.monotonic() + delay > deadline or run.shared.stop.is_set():
                break
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        if required:
            raise ApplyError(f"no IPv4 address after {timeout:g} s",
                             hint="the container did not come up; see its console (pct "
                                  "console) or raise --timeout ip=SECONDS")
    run.warn(f"no IPv4 address after {timeout:g} s")


def read_address(run: Run) -> str | None:
    """The first global IPv4 address the container reports, or None."""
    try:
        interfaces = run.client.get(run.path("interfaces"))
    except ApiError:
        return None
    for iface in interfaces if isinstance(interfaces, list) else []:
        if not isinstance(iface, dict) or iface.get("name") == "lo":
            continue
        for item in iface.get("ip-addresses") or []:
            if isinstance(item, dict) and item.get("ip-address-type") == "inet":
                text = str(item.get("ip-address", ""))
                if _usable(text):
                    return text
        inet = str(iface.get("inet") or "").split("/", 1)[0]
        if inet and _usable(inet):
            return inet
    return None


def _usable(text: str) -> bool:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (addr.is_loopback or addr.is_link_local)
