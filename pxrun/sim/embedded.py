"""The embedded simulator behind `pxrun --sim <command>`.

Why in-process and per command: the README quick start must work with nothing running and
nothing configured. Each command brings the state directory (`./.pxrun/sim/` by default) to
life on free loopback ports, runs, and saves, so `pxrun --sim plan` and a later
`pxrun --sim apply` see the same cluster. Starting an existing state takes well under 0.3 s
(no key or certificate generation, two listening sockets).

One process owns a state directory at a time (statelock.py). When `pxrun sim serve` already
serves it, the command talks to that server (same cluster, same results) instead of failing;
when another `pxrun --sim` command holds it, the command fails with a clear error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pxrun.sim.runtime import KNOWN_HOSTS, SimFacts, SimRuntime, init_state, is_initialised
from pxrun.sim.statelock import StateBusy, read_owner


@contextmanager
def running_simulator(state_dir: Path, *, request_log: Path | None = None,
                      request_scrub: Callable[[str], str] | None = None) -> Iterator[SimFacts]:
    """Initialise `state_dir` on first use, serve it for the duration of the block, save it;
    or yield the facts of the `pxrun sim serve` that already serves it. `request_scrub`
    rewrites each `request_log` line before it is written (the client's own redaction)."""
    state_dir = Path(state_dir).absolute()
    if not is_initialised(state_dir):
        init_state(state_dir)
    runtime = SimRuntime(state_dir, request_log=request_log, request_scrub=request_scrub)
    try:
        runtime.start()
    except StateBusy as busy:
        facts = served_facts(state_dir, busy.owner)
        if facts is None:
            raise
        yield facts
        return
    try:
        yield runtime.facts
    finally:
        runtime.stop()


def served_facts(state_dir: Path, owner: dict[str, Any] | None = None) -> SimFacts | None:
    """How to reach the `pxrun sim serve` that owns `state_dir` (None if it is not one)."""
    from pxrun.sim import auth, tls
    from pxrun.sim.ssh import ensure_ssh_keys

    owner = read_owner(state_dir) if owner is None else owner
    if owner.get("kind") != "serve" or not owner.get("endpoint"):
        return None
    known = (state_dir / KNOWN_HOSTS).read_text(encoding="utf-8")
    found = re.search(r"^\[[^\]]+\]:(\d+) ", known, re.M)
    if found is None:
        return None
    token_id, token_secret = auth.init_credentials(state_dir)
    tls_files = tls.ensure_tls(state_dir)
    keys = ensure_ssh_keys(state_dir)
    cluster = json.loads((state_dir / "state.json").read_text(encoding="utf-8")).get("cluster", {})
    return SimFacts(state_dir=state_dir, endpoint=str(owner["endpoint"]), token_id=token_id,
                    token_secret=token_secret, ca_file=tls_files.ca_file,
                    fingerprint=tls_files.fingerprint, ssh_port=int(found.group(1)),
                    ssh_key=keys.client_key, ssh_host_key=keys.host_public,
                    known_hosts=state_dir / KNOWN_HOSTS,
                    nodes=tuple(n["name"] for n in cluster.get("nodes", [])))
