"""Safe vmid allocation: distinct candidates per worker, Proxmox's create lock across runs.

Parallel creates with auto-assigned vmids collide in every peer (peers.md #2): two workers
(or two machines) ask `/cluster/nextid`, get the same answer, and one create fails — or a
retried create makes a second container. pxrun relies on what Proxmox guarantees instead:
the create call itself writes a config holding only `lock: create` before it answers, so a
vmid is reserved cluster-wide the moment the POST returns.

Within one process, candidates are handed out under a lock, each id once: the first from
`/cluster/nextid`, the next ones counting up from the last handed out (skipping the fixed
vmids of this apply's creates). So our own workers never race, and their POSTs run in
parallel (as the per-node and per-storage limits allow) instead of one at a time. An id
another process took meanwhile shows as `CT N already exists`: the worker then probes
`/cluster/nextid?vmid=N` (which fails for a taken id) from the next id no worker of ours
holds, and tries again.

After a transport error the create may have happened anyway. Retrying the same vmid then
fails with "already exists"; if that container carries our marker (stack and name), it is
ours and counts as created.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pxrun.apply.context import MAYBE_SENT
from pxrun.errors import AlreadyExistsError, ApplyError, NotFoundError, ParameterError
from pxrun.pve.marker import split_description

if TYPE_CHECKING:
    from pxrun.apply.context import Run
    from pxrun.connect.client import ProxmoxClient

MAX_PROBES = 200


class VmidAllocator:
    """Hands out vmid candidates (each once) and sends the create POST."""

    def __init__(self, client: ProxmoxClient, reserved: Iterable[int] = ()) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._next = 0  # the next candidate to hand out; 0 until /cluster/nextid answered
        self._reserved = frozenset(reserved)  # fixed vmids of this apply's creates

    def create(self, run: Run, node: str, fixed: int | None, params: dict[str, Any],
               ) -> tuple[int, Any]:
        """POST the create; return (vmid, upid). `upid` is MAYBE_SENT when the container
        turned out to exist already and to be ours (a create retried after a lost answer)."""
        vmid = fixed if fixed is not None else self._candidate()
        for _ in range(MAX_PROBES):
            try:
                upid = run.call("post", f"nodes/{node}/lxc", vmid=vmid,
                                maybe_done=lambda e: isinstance(e, AlreadyExistsError),
                                **params)
            except AlreadyExistsError:
                if fixed is not None:
                    raise
                vmid = self._candidate(taken=vmid)
                continue
            found = self._whose(run, node, vmid) if upid == MAYBE_SENT else "ours"
            if found == "gone":  # our lost create's task failed: the vmid is free again
                continue
            if found == "foreign":
                if fixed is not None:
                    raise ApplyError(f"vmid {vmid} was taken by someone else while "
                                     "creating", hint="choose another vmid")
                vmid = self._candidate(taken=vmid)
                continue
            return vmid, upid
        raise ApplyError(f"no free vmid found after {MAX_PROBES} candidates")

    def _candidate(self, taken: int | None = None) -> int:
        """An id no other worker of ours holds: the next one counting up, or after `taken`
        (found taken by another process) the first the cluster says is free."""
        with self._lock:
            if self._next == 0:
                self._next = int(str(self._client.get("cluster/nextid")))
            elif taken is not None:
                self._next = self._probe(max(self._next, taken + 1))
            while self._next in self._reserved:
                self._next += 1
            vmid, self._next = self._next, self._next + 1
            return vmid

    def _probe(self, candidate: int) -> int:
        """The first id from `candidate` on that `/cluster/nextid?vmid=` says is free."""
        for _ in range(MAX_PROBES):
            if candidate in self._reserved:
                candidate += 1
                continue
            try:
                return int(str(self._client.get("cluster/nextid", vmid=candidate)))
            except ParameterError:
                candidate += 1
        raise ApplyError(f"no free vmid found after {MAX_PROBES} candidates")

    def _whose(self, run: Run, node: str, vmid: int) -> str:
        """Whether the existing container `vmid` is the one our lost create made ("ours"),
        someone else's ("foreign"), or no longer there ("gone": its create task failed and
        Proxmox removed it). Waits for its create lock to clear first."""
        timeout = run.shared.options.timeout("create")
        deadline = time.monotonic() + timeout
        delay = 0.1
        while True:
            try:
                config = self._client.get(f"nodes/{node}/lxc/{vmid}/config")
            except NotFoundError:
                return "foreign" if self._exists_elsewhere(vmid) else "gone"
            if not isinstance(config, dict) or config.get("lock") != "create":
                break
            if time.monotonic() > deadline:
                return "foreign"
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        marker = split_description(str(config.get("description") or ""))[1]
        mine = marker is not None and marker.stack == run.shared.stack and (
            marker.name == run.address)
        return "ours" if mine else "foreign"

    def _exists_elsewhere(self, vmid: int) -> bool:
        """Whether a guest `vmid` exists on any node (a create on another node took it)."""
        try:
            self._client.get("cluster/nextid", vmid=vmid)
        except ParameterError:
            return True
        return False
