"""Apply's Proxmox VE 9 steps: image pulls, the config file's raw lines, HA resources and
rules, and waiting for what the HA manager does on a request.

- A pull (`oci-registry-pull`) runs once per node (or shared storage) and image in an
  apply; the others wait for it, as for templates. Its log names the digest it pulled,
  which the create writes into the container's marker (`image_digest`).
- Raw lines go into `/etc/pve/lxc/<vmid>.conf` through the root runner: read, the main
  section's raw lines replaced (`pve.rawlxc.set_raw_lines`), written back unless the file
  changed meanwhile. The idmap's `/etc/subuid`/`/etc/subgid` lines are added first.
- An HA rule names containers by vmid; one this apply creates is named by its address in
  the plan and resolved here, after it (the rule depends on it).
- For an HA-managed container a start, stop or migrate is only a request (`hastart`...):
  the HA manager carries it out after the task ends, so the step waits until it has.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import TYPE_CHECKING, Any

from pxrun.apply.context import Future
from pxrun.errors import ApiError, ApplyError, NotFoundError
from pxrun.pve.rawlxc import set_raw_lines

if TYPE_CHECKING:
    from pxrun.apply.context import Run
    from pxrun.apply.hooks import RootRunner
    from pxrun.connect.tasks import TaskResult
    from pxrun.plan.model import HaResource, HaRuleWrite, ImagePull, RawConfig

_DIGEST = re.compile(r"\bdigest:\s*(sha256:[0-9a-f]{64})\b", re.I)
HA_REQUESTS = frozenset({"hastart", "hastop", "hamigrate"})


def pull_image(run: Run, node: str, pull: ImagePull) -> str | None:
    """Pull the image to the node's storage, once per apply; the digest pulled (None when
    the task's log does not say)."""
    shared = run.shared
    where = "" if pull.storage in shared.shared_storages else node
    key = (where, pull.storage, "oci:" + pull.reference)
    with shared.downloads_lock:
        future = shared.downloads.get(key)
        first = future is None
        if future is None:
            future = shared.downloads[key] = Future(f"pulling {pull.reference}")
    if not first:
        with run.step("pull", detail=f"waiting for {pull.reference}"):
            digest: str | None = future.wait()
        return digest
    try:
        with run.step("pull", run.node_keys(pull.storage, node=node), detail=pull.reference):
            result = run.task("post", f"nodes/{node}/storage/{pull.storage}/oci-registry-pull",
                              kind="download", step="pull", reference=pull.reference,
                              filename=pull.filename)
        digest = _pulled_digest(run, node, result)
    except BaseException as exc:
        future.set(exc)
        raise
    future.set(value=digest)
    return digest


def _pulled_digest(run: Run, node: str, result: TaskResult | None) -> str | None:
    """The digest the pull's log reports (an OK task's log is not read otherwise)."""
    if result is None:
        return None
    try:
        entries = run.client.get(f"nodes/{node}/tasks/{result.upid}/log", start=0, limit=0)
    except ApiError:
        return None
    lines = tuple(str(e.get("t", "")) for e in entries if isinstance(e, dict)) if isinstance(
        entries, list) else ()
    return digest_in(lines)


def digest_in(lines: tuple[str, ...]) -> str | None:
    """The manifest digest a pull's log reports (`digest: sha256:...`)."""
    for line in reversed(lines):
        found = _DIGEST.search(line)
        if found:
            return found.group(1).lower()
    return None


def _runner(run: Run, what: str) -> RootRunner:
    runner = run.shared.options.root_runner
    if runner is None:
        raise ApplyError(f"the plan writes {what} into the config file on the node, but node "
                         "SSH is not configured for this apply",
                         hint="configure node SSH (cluster.ssh), or run `pxrun plan` again")
    return runner


def raw_lxc(run: Run, op: RawConfig) -> None:
    """Write the raw lines (and idmap) into the container's config file on its node."""
    runner = _runner(run, "raw lxc lines")
    node, vmid = run.where()
    with run.step("lxc-file", run.node_keys(), detail=f"/etc/pve/lxc/{vmid}.conf"):
        if op.subuid:
            runner.ensure_lines(node, "/etc/subuid", op.subuid)
        if op.subgid:
            runner.ensure_lines(node, "/etc/subgid", op.subgid)
        text = runner.read_config(node, vmid)
        new = set_raw_lines(text, op.lines)
        if new != text:
            runner.write_config(node, vmid, new, hashlib.sha1(text.encode("utf-8")).hexdigest())
    run.digest = None  # the config changed: a later write must not carry the old digest
    if op.pending and "lxc" not in run.pending:
        run.pending.append("lxc")
    run.warn(f"raw lxc lines written into /etc/pve/lxc/{vmid}.conf on {node} over SSH "
             "(no API call can set them)")


def ha_resource(run: Run, op: HaResource) -> None:
    """Add or change the container's HA resource."""
    _, vmid = run.where()
    sid = f"ct:{vmid}"
    with run.step("ha", detail=", ".join(f"{k}={v}" for k, v in sorted(op.set.items()))):
        if op.action == "add":
            params: dict[str, Any] = {"sid": sid, **op.set}
            run.call("post", "cluster/ha/resources",
                     maybe_done=lambda e: "already defined" in e.reason, **params)
        else:
            values: dict[str, Any] = dict(op.set)
            if op.delete:
                values["delete"] = ",".join(op.delete)
            run.call("put", f"cluster/ha/resources/{sid}", **values)


def ha_rule(run: Run, op: HaRuleWrite) -> None:
    """Write a rule whole (create it, or update it where it exists), or delete it."""
    with run.step("ha-rule", detail=f"{op.action} {op.rule}"):
        if op.action == "delete":  # purging its last container may have deleted it
            try:
                run.call("delete", f"cluster/ha/rules/{op.rule}",
                         maybe_done=lambda e: "no such ha rule" in e.reason)
            except ApiError as exc:
                if "no such ha rule" not in exc.reason:
                    raise
            return
        sids = ",".join(f"ct:{_vmid_of(run, member)}" for member in op.resources)
        existing = run.client.get("cluster/ha/rules")
        known = {str(item.get("rule")) for item in existing if isinstance(item, dict)} \
            if isinstance(existing, list) else set()
        params: dict[str, Any] = {"type": op.type, "resources": sids, **op.set}
        if op.rule in known:
            run.call("put", f"cluster/ha/rules/{op.rule}", **params)
        else:
            params["rule"] = op.rule
            run.call("post", "cluster/ha/rules",
                     maybe_done=lambda e: "already defined" in e.reason, **params)


def _vmid_of(run: Run, member: int | str) -> int:
    if isinstance(member, int):
        return member
    found = run.shared.vmids_made.get(member)
    if found is None:
        raise ApplyError(f"HA rule member {member} has no container: it was not created "
                         "by this apply")
    return found


# --- waiting for the HA manager ---------------------------------------------------------


def await_ha(run: Run, result: TaskResult | None, *, status: str | None = None,
             node: str | None = None) -> None:
    """After an HA request task (`hastart`, `hastop`, `hamigrate`): wait until the HA
    manager made the container `status`, or moved it to `node`."""
    if result is None or result.type not in HA_REQUESTS:
        return
    _, vmid = run.where()
    kind = "migrate" if node else "start"
    deadline = time.monotonic() + run.shared.options.timeout(kind)
    delay = run.shared.options.ip_poll
    while True:
        if _arrived(run, vmid, status, node):
            return
        if time.monotonic() + delay > deadline or run.shared.stop.is_set():
            raise ApplyError(f"the HA manager did not {'move' if node else 'start or stop'} "
                             f"container {vmid} in time ({result.type})")
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _arrived(run: Run, vmid: int, status: str | None, node: str | None) -> bool:
    try:
        if node is not None:
            config = run.client.get(f"nodes/{node}/lxc/{vmid}/status/current")
            return isinstance(config, dict) and not config.get("lock")
        current = run.client.get(run.path("status/current"))
    except (NotFoundError, ApiError):
        return False
    return isinstance(current, dict) and current.get("status") == status
