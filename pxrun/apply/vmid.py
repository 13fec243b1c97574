"""Safe vmid allocation: one create POST at a time per process, probing candidates.

Parallel creates with auto-assigned vmids collide in every peer (peers.md #2): two workers
(or two machines) ask `/cluster/nextid`, get the same answer, and one create fails — or a
retried create makes a second container. pxrun relies on what Proxmox guarantees instead:
the create call itself writes a config holding only `lock: create` before it answers, so a
vmid is reserved cluster-wide the moment the POST returns. Within one process the
candidate pick and the POST are serialised (one lock), so our own workers never race; across
processes a lost race shows as `CT N already exists`, and we probe the next candidate with
`/cluster/nextid?vmid=N` (which fails for a taken id) and try again.

After a transport error the create may have happened anyway. Retrying the same vmid then
fails with "already exists"; if that container carries our marker (stack and name), it is
ours and counts as created.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from pxrun.apply.context import MAYBE_SENT
from pxrun.errors import AlreadyExistsError, ApplyError, NotFoundError, ParameterError
from pxrun.pve.marker import split_description

if TYPE_CHECKING:
    from pxrun.apply.context import Run
    from pxrun.connect.client import ProxmoxClient

MAX_PROBES = 200


class VmidAllocator:
    """Picks vmids and sends the create POST while holding the process-wide create lock."""

    def __init__(self, client: ProxmoxClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._floor = 0  # ids below this were taken when we last looked

    def create(self, run: Run, node: str, fixed: int | None, params: dict[str, Any],
               ) -> tuple[int, Any]:
        """POST the create; return (vmid, upid). `upid` is MAYBE_SENT when the container
        turned out to exist already and to be ours (a create retried after a lost answer)."""
        with self._lock:
            vmid = fixed if fixed is not None else self._first_candidate()
            for _ in range(MAX_PROBES):
                try:
                    upid = run.call("post", f"nodes/{node}/lxc", vmid=vmid,
                                    maybe_done=lambda e: isinstance(e, AlreadyExistsError),
                                    **params)
                except AlreadyExistsError:
                    if fixed is not None:
                        raise
                    vmid = self._probe(vmid + 1)
                    continue
                found = self._whose(run, node, vmid) if upid == MAYBE_SENT else "ours"
                if found == "gone":  # our lost create's task failed: the vmid is free again
                    continue
                if found == "foreign":
                    if fixed is not None:
                        raise ApplyError(f"vmid {vmid} was taken by someone else while "
                                         "creating", hint="choose another vmid")
                    vmid = self._probe(vmid + 1)
                    continue
                self._floor = vmid + 1
                return vmid, upid
        raise ApplyError(f"no free vmid found after {MAX_PROBES} candidates")

    def _first_candidate(self) -> int:
        answer = int(str(self._client.get("cluster/nextid")))
        return answer if answer >= self._floor else self._probe(self._floor)

    def _probe(self, candidate: int) -> int:
        """The first id from `candidate` on that `/cluster/nextid?vmid=` says is free."""
        for _ in range(MAX_PROBES):
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
