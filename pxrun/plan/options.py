"""What the caller tells `plan()` besides desired and observed state (flags, environment).

Frozen and plain, so a plan is a function of (desired, observed, options) and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pxrun.plan.model import Mode, RestartPolicy


@dataclass(frozen=True)
class PlanOptions:
    """Options of one planning run.

    - `targets`: plan only these containers (and what they depend on); empty = all.
    - `replace`: containers to replace even though nothing forces it (`--replace`).
    - `mode`: normal, destroy (delete everything this stack owns), refresh-only (drift).
    - `no_prune`: keep managed containers that left the spec instead of deleting them.
    - `restart`: default restart policy for pending changes; `lifecycle.restart` wins.
    - `is_token` / `node_ssh_available`: root@pam-only options (reference A6) are routed
      through `pct set` over node SSH when pxrun talks through an API token; without node
      SSH they are a plan error (apply never finds out on its own).
    - `file_sources`: the bytes of the local files provisioning `files` name (src and
      template, by their path relative to the spec), read by the caller, so a changed file
      (or a template that renders differently) changes that step's fingerprint;
      `file_errors`: path -> why it could not be read (a plan error for the steps using it).
    - `reprovision`: run every provisioning step again (`--reprovision`), not only the
      changed ones (`when: create` steps still only when a container is created).
    - `keep_tailnet`: leave the tailnet nodes of deleted containers alone
      (`--keep-tailscale`); `tailnet_api`: a Tailscale API key is available to remove them.
    - `discard_data`: a replace or prune may destroy data volumes (`--discard-data`);
      without it they are handed to the new container, and a prune that would destroy
      them is a plan error.
    - `snapshot`: a snapshot before every risky change (`--snapshot`), as if each container
      had `lifecycle.snapshot: before_change`; `rollback_on_failure`: roll back to it when
      the change fails (`--rollback-on-failure`).
    - `secrets`: every secret the spec may use, by name (`secrets.<path>` of the sops
      file, `env.<NAME>` of the environment variables the spec reads) -> its value. A value
      to write that contains one carries a reference to it instead (`SecretText`); a view
      value containing one is shown as SENSITIVE; the spec hash covers a MAC of them all.
    - `adopt`: vmid -> spec name of containers `pxrun import` adopts (observed as strays):
      their marker and tag are written by an in-place update (specs/0081).
    - `rebalance`: migrate containers HA moved back to the node their spec names
      (`--rebalance`); without it they stay where HA put them (specs/0100).
    - `image_digests`: image reference -> the digest its tag points to now, asked by
      the caller (`--check-images`); a container made from another digest is replaced.
    """

    targets: frozenset[str] = frozenset()
    replace: frozenset[str] = frozenset()
    mode: Mode = "normal"
    no_prune: bool = False
    restart: RestartPolicy = "auto"
    is_token: bool = True
    node_ssh_available: bool = False
    file_sources: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}),
                                              repr=False, hash=False)
    file_errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}),
                                           hash=False)
    reprovision: bool = False
    keep_tailnet: bool = False
    tailnet_api: bool = False
    discard_data: bool = False
    snapshot: bool = False
    rollback_on_failure: bool = False
    secrets: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}),
                                       repr=False, hash=False)
    adopt: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}),
                                     hash=False)
    rebalance: bool = False
    image_digests: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}),
                                             hash=False)
