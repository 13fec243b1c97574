"""Provisioning in the plan: which steps a change runs, and what the spec still lacks.

Pure. The steps, their readable labels and fingerprints are `spec.steps`' (the provision
layer runs exactly those); here the planner compares the fingerprints a container
recorded with the ones the spec gives now and names the steps to run:

    ~ provision: files[/etc/motd], run[enable nginx]

A created container runs every step. An existing one runs the steps whose fingerprint
changed (and `when: always` ones), or every step with `--reprovision`; a tainted one
finishes what failed: from the failing step on, or everything when the record does not
say. The plan also says what a step needs that the spec does not give (Docker's `nesting`
and `keyctl`, Tailscale's `/dev/net/tun`), and, for a deleted container that joined a
tailnet, that its node leaves the tailnet. See specs/0062.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pxrun.plan.createonly import create_only_kinds, held_steps
from pxrun.plan.model import FieldDiff, LeaveTailnet, Operation, Reprovision
from pxrun.spec.steps import (
    PRECONDITIONS,
    Step,
    decode_fingerprints,
    fingerprint_key,
    label_id,
    provision_steps,
    secret_tree,
    stack_secrets,
    step_contents,
    step_fingerprints,
    steps_to_run,
)

if TYPE_CHECKING:
    from pxrun.observe.model import ObservedContainer
    from pxrun.plan.context import PlanContext
    from pxrun.plan.options import PlanOptions
    from pxrun.spec.model import Container, Stack

TUN = "/dev/net/tun"
OUT_OF_DATE = "(out of date)"
"""The cluster's side of a provisioning drift: the steps did not run as the spec says."""


@dataclass(frozen=True)
class Wanted:
    """A container's steps as the spec gives them now, with their fingerprints (label ->
    fingerprint, preconditions left out), or why they cannot be made."""

    steps: tuple[Step, ...] = ()
    fingerprints: dict[str, str] = field(default_factory=dict)
    problem: str = ""


class Provisioning:
    """One planning run's view of provisioning: the template context, the fingerprint key
    (derived once, and only when a step holds a secret), each container's wanted steps."""

    def __init__(self, stack: Stack, options: PlanOptions,
                 shape: Callable[[Container], Hashable] | None = None) -> None:
        self.stack = stack.stack
        self.secrets = stack_secrets(stack, options.secrets)
        self.sources = options.file_sources
        self.errors = options.file_errors
        self.base: dict[str, Any] = {"vars": dict(stack.vars),
                                     "secrets": secret_tree(options.secrets)}
        self._key: bytes | None = None
        self._wanted: dict[str, Wanted] = {}
        self._by_content: dict[tuple[Any, ...], Wanted] = {}
        self._shape = shape  # `Replicas.key`: alike containers have alike steps
        self._by_shape: dict[Hashable, Wanted] = {}
        self._created: dict[int, Reprovision | None] = {}  # id(Wanted) -> a create's steps
        self._decoded: dict[str | None, dict[str, str] | None] = {}
        self.existing: dict[tuple[Any, ...], Reprovision | None] = {}  # provision_operation

    def key(self) -> bytes:
        if self._key is None:
            self._key = fingerprint_key(self.stack, self.secrets)
        return self._key

    def wanted(self, container: Container) -> Wanted:
        """The steps of `container`, made once per distinct content: looked up first by
        its shape (its JSON without identity: the spec hash makes that text anyway, the
        replicas of a group share it), then by what its steps are made of."""
        found = self._wanted.get(container.name)
        if found is None:
            shape = None
            if self._shape is not None and not names_matter(container):
                shape = self._shape(container)
                found = self._by_shape.get(shape)
            if found is None:
                key = _content_key(container)
                found = self._by_content.get(key)
                if found is None:
                    found = self._by_content[key] = self._make(container)
                if shape is not None:
                    self._by_shape[shape] = found
            self._wanted[container.name] = found
        return found

    def recorded(self, text: str | None) -> dict[str, str] | None:
        """`decode_fingerprints(text)`, decoded once per distinct record (the replicas of
        a group carry the same one); a copy, the caller's to change."""
        if text not in self._decoded:
            self._decoded[text] = decode_fingerprints(text)
        found = self._decoded[text]
        return None if found is None else dict(found)

    def created(self, wanted: Wanted) -> Reprovision | None:
        """The steps a new container with `wanted` runs (every one), made once per
        distinct `wanted` (the Wanted values live as long as this Provisioning)."""
        key = id(wanted)
        if key not in self._created:
            chosen = steps_to_run(list(wanted.steps), dict(wanted.fingerprints), None,
                                  first=True)
            self._created[key] = Reprovision(steps=tuple(s.label for s in chosen),
                                             fingerprints=dict(wanted.fingerprints)) \
                if chosen else None
        return self._created[key]

    def _make(self, container: Container) -> Wanted:
        steps = tuple(provision_steps(container))
        if not steps:
            return Wanted()
        for step in steps:
            path = getattr(step.item, "src", None) or getattr(step.item, "template", None)
            if step.kind == "files" and isinstance(path, str) and path in self.errors:
                return Wanted(steps, problem=f"{step.label}: {path}: {self.errors[path]}")
        try:
            contents = step_contents(container, steps, self.sources, self.base)
        except ValueError as exc:
            return Wanted(steps, problem=str(exc))
        return Wanted(steps, step_fingerprints(steps, self.key, self.secrets, contents))


def _content_key(container: Container) -> tuple[Any, ...]:
    """Everything a container's steps are made of: equal keys, equal steps and fingerprints
    (replicas of a `count`, containers sharing `defaults`: computed once per plan). The JSON
    dump masks secrets, so their values are added; a template also sees the container."""
    prov = container.provision
    secret = (container.password.get_secret_value() if container.password else None,
              prov.tailscale.auth_key.get_secret_value()
              if prov is not None and prov.tailscale is not None else None)
    who = ((container.name, container.hostname, container.vmid, str(container.node))
           if names_matter(container) else ())
    return (prov.model_dump_json() if prov is not None else "", tuple(container.ssh_keys),
            secret, who)


def names_matter(container: Container) -> bool:
    """Whether the container's steps depend on who it is: its files are templates, which
    see the container's name, hostname, vmid and node."""
    prov = container.provision
    return prov is not None and any(f.template for f in prov.files)


def shown(labels: Sequence[str]) -> list[str]:
    """The labels a person reads: the steps that change something (no network wait)."""
    return [label for label in labels if label not in PRECONDITIONS]


def held(ctx: PlanContext, desired: Container, observed: ObservedContainer | None,
         ) -> tuple[list[Step], dict[str, str]]:
    """The steps (and label -> fingerprint) `desired` is held to: all of them for a new
    container; for an existing one, create-only steps only as recorded (`createonly`)."""
    wanted = ctx.provisioning.wanted(desired)
    if observed is None:
        return list(wanted.steps), dict(wanted.fingerprints)
    recorded = ctx.provisioning.recorded(observed.fingerprint) if observed.marked else None
    return held_steps(desired, wanted.steps, wanted.fingerprints, recorded)


def provision_operation(ctx: PlanContext, desired: Container,
                        observed: ObservedContainer | None, *,
                        check: bool = True) -> Reprovision | None:
    """The steps `desired` runs in this change (None: none). `observed` None: the
    container is created (again) by this change, so every step runs. A container without
    a marker (a stray, one to adopt) runs none: its record went with the marker, and the
    marker restored with the spec's fingerprints says what it is (specs/0081). `check`:
    also say what the steps need that the spec lacks (`check_needs`)."""
    wanted = ctx.provisioning.wanted(desired)
    if wanted.problem:
        ctx.error(desired.name, wanted.problem,
                  "files are read from the spec's folder; fix the file or the step")
        return None
    if not wanted.steps or (observed is not None and not observed.marked):
        return None
    if observed is None:  # every step runs: the same operation for every alike container
        made = ctx.provisioning.created(wanted)
        if made is not None and check:
            check_needs(ctx, desired, made)
        return made
    # The same for every container with these steps, record and create-only kinds (the
    # converged replicas of a group): worked out once per distinct combination.
    key = (id(wanted), observed.fingerprint, observed.tainted, observed.taint_step,
           create_only_kinds(desired))
    if key not in ctx.provisioning.existing:
        ctx.provisioning.existing[key] = _existing_steps(ctx, desired, observed)
    op = ctx.provisioning.existing[key]
    if op is None:
        return None
    if check:
        check_needs(ctx, desired, op)
    return op


def _existing_steps(ctx: PlanContext, desired: Container,
                    observed: ObservedContainer) -> Reprovision | None:
    """The steps a marked, existing container runs (None: none)."""
    steps, fingerprints = held(ctx, desired, observed)
    first = False
    recorded = None
    if not ctx.options.reprovision:
        recorded = ctx.provisioning.recorded(observed.fingerprint)
    if observed.tainted:
        first = True  # not finished: `when: create` steps that never ran still run
        if observed.taint_step and recorded is not None:
            failed = label_id(observed.taint_step)
            recorded = {k: v for k, v in recorded.items() if k != failed}
        else:
            recorded = None
    fixed = create_only_kinds(desired)  # create-only steps stay as they ran, whatever runs
    recorded = {**(recorded or {}), **{label_id(s.label): fingerprints[s.label]
                                       for s in steps if s.kind in fixed
                                       and s.label in fingerprints}} if fixed else recorded
    chosen = steps_to_run(steps, fingerprints, recorded, first=first)
    if not chosen:
        return None
    return Reprovision(steps=tuple(s.label for s in chosen), fingerprints=fingerprints)

def restored_fingerprints(ctx: PlanContext, desired: Container,
                          observed: ObservedContainer) -> dict[str, str]:
    """What a restored marker records (`identity.restoration`): the steps the container
    is held to, as the spec gives them now."""
    if ctx.provisioning.wanted(desired).problem:
        return {}
    return held(ctx, desired, observed)[1]


def provision_diff(op: Reprovision) -> FieldDiff:
    """The field diff that shows an update's provisioning: the steps that run, by name."""
    return FieldDiff(op="change", path="provision", new=shown(op.steps))


def check_needs(ctx: PlanContext, want: Container, op: Reprovision) -> None:
    """Diagnostics for what the steps of `op` need that the spec does not give: SSH to
    the node (an error), Docker's features and Tailscale's tun device (warnings, with the
    spec lines to add)."""
    labels = set(op.steps)
    chosen = [s for s in ctx.provisioning.wanted(want).steps if s.label in labels]
    prov = want.provision
    if (prov.via if prov is not None else "pct") == "pct" and not ctx.options.node_ssh_available:
        ctx.error(want.name, "provisioning runs `pct exec` on the container's node over SSH, "
                  "and no SSH to the nodes is configured",
                  "add an `ssh:` block (user, key) to the cluster profile or the spec's "
                  "cluster, or set provision.via: ssh to reach the container directly")
    kinds = {step.kind for step in chosen}
    if "docker" in kinds:
        features = want.features
        unprivileged = want.unprivileged is not False
        missing = [name for name, on, needed in (
            ("nesting", features is not None and features.nesting, True),
            ("keyctl", features is not None and features.keyctl, unprivileged))
            if needed and not on]
        if missing:
            wanted = "nesting: true, keyctl: true" if unprivileged else "nesting: true"
            plural = len(missing) > 1
            ctx.warn(want.name, f"docker needs the container feature{'s' if plural else ''} "
                     f"{' and '.join(missing)}, which the spec does not turn on; the "
                     f"Docker daemon will not start without {'them' if plural else 'it'}",
                     f"add to {want.name} in the spec: features: {{{wanted}}}")
    if "tailscale" in kinds and not any(d.path == TUN for d in want.devices.values()):
        slot = _free_slot(want.devices)
        ctx.warn(want.name, f"tailscale needs {TUN} inside the container, which the spec "
                 "does not pass through; tailscaled will not start without it",
                 f"add to {want.name} in the spec: devices: {{{slot}: {{path: {TUN}}}}}")


def _free_slot(devices: Mapping[str, Any]) -> str:
    index = 0
    while f"dev{index}" in devices:
        index += 1
    return f"dev{index}"


def leave_tailnet(ctx: PlanContext, observed: ObservedContainer) -> list[Operation]:
    """After a delete: remove the container's node from its tailnet, when it joined one
    (unless `--keep-tailscale`). Without a Tailscale API key that is a plan error."""
    if observed.tailnet is None or ctx.options.keep_tailnet:
        return []
    if not ctx.options.tailnet_api:
        ctx.error(observed.name, f"{observed.name} joined a tailnet as {observed.tailnet}; "
                  "removing its node needs a Tailscale API key",
                  "set TAILSCALE_API_KEY (or tailscale_api_key in the stack's sops secrets), "
                  "or pass --keep-tailscale to leave the node on the tailnet")
        return []
    return [LeaveTailnet(hostname=observed.tailnet)]
