"""What the caller tells `plan()` besides desired and observed state (flags, environment).

Frozen and plain, so a plan is a function of (desired, observed, options) and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pxrun.plan.model import Mode, RestartPolicy


@dataclass(frozen=True)
class PlanOptions:
    """Options of one planning run.

    - `targets`: plan only these containers (and what they depend on); empty = all.
    - `replace`: containers to replace even though nothing forces it (`--replace`).
    - `mode`: normal, destroy (delete everything this stack owns), refresh-only (drift).
    - `no_prune`: keep managed containers that left the spec instead of deleting them.
    - `restart`: default restart policy for pending changes; `lifecycle.restart` wins.
    - `is_token` / `node_ssh_available`: root@pam-only options (reference A6) are a plan
      error through an API token unless pxrun can fall back to `pct set` over node SSH.
    - `file_digests`: sha256 of local files named by provisioning `files` (src/template),
      computed by the caller, so a changed file changes the fingerprint.
    - `sensitive_values`: decrypted secret strings; any view value containing one is shown
      as SENSITIVE (a secret rendered into a plain field such as `env`).
    """

    targets: frozenset[str] = frozenset()
    replace: frozenset[str] = frozenset()
    mode: Mode = "normal"
    no_prune: bool = False
    restart: RestartPolicy = "auto"
    is_token: bool = True
    node_ssh_available: bool = False
    file_digests: dict[str, str] = field(default_factory=dict, hash=False)
    sensitive_values: frozenset[str] = field(default=frozenset(), repr=False)
