"""Provisioning and tailnet operations: run the steps the plan names, record what ran.

`provision` hands the plan's step labels to the injected `Provisioner` (it knows the spec
and holds the SSH connections), streams each step and output line to the hooks, and then
writes the outcome into the container's marker, also after a failure:

- every step that ran and succeeded is recorded with the fingerprint it ran with; a step
  the plan did not choose is recorded as the plan says (unchanged, or skipped by `when`);
  a failed step, and the ones that never got their turn, keep their old record, so the
  next plan runs them again (`spec.steps.merged_record`);
- a failure also taints the container with the failing step and its log: the next plan
  shows it and finishes from there;
- the hostname it joined a tailnet under is recorded, so a destroy can take its node off
  the tailnet.

`leave_tailnet` removes a deleted container's node through the injected `TailnetRemover`,
after asking on a terminal (`Hook.confirm_tailnet`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from pxrun.apply.hooks import Provisioned
from pxrun.apply.ownership import marker_for, own_params
from pxrun.apply.steps_create import read_address
from pxrun.errors import ApplyError, PxrunError
from pxrun.pve.marker import split_description
from pxrun.spec.steps import PRECONDITIONS, decode_fingerprints, encode_record, merged_record

if TYPE_CHECKING:
    from pxrun.apply.context import Run
    from pxrun.plan.model import LeaveTailnet, Reprovision


def provision(run: Run, op: Reprovision) -> None:
    """Run the plan's steps in the container, then record the outcome in its marker."""
    provisioner = run.shared.options.provisioner
    labels = [label for label in op.steps if label not in PRECONDITIONS]
    if provisioner is None:
        raise ApplyError(f"the plan provisions {', '.join(labels)}, but this apply cannot "
                         "reach the containers (no SSH session was set up)",
                         hint="configure SSH to the nodes (cluster.ssh) and run `pxrun "
                              "plan` again")
    node, vmid = run.where()
    hook, address = run.shared.hook, run.address

    def on_step(label: str, event: str, seconds: float) -> None:
        if event == "started":
            hook.step_started(address, f"provision {label}")
        elif event == "ok":
            hook.step_finished(address, f"provision {label}", seconds)

    def on_output(label: str, line: str) -> None:
        hook.output(address, label, line)

    ip = run.ip or read_address(run)  # `provision.via: ssh` dials it
    with run.step("provision", detail=", ".join(labels)):
        outcome = provisioner.provision(address, node=node, vmid=vmid, steps=op.steps,
                                        ip=ip, on_output=on_output, on_step=on_step)
    with run.step("record", detail="what ran, in the marker"):
        record(run, op, outcome)
    for label in outcome.failed:
        run.warn(f"{label} failed (continue_on_error); it runs again at the next apply "
                 f"(log: {outcome.log})")
    if outcome.error is not None:
        run.current = "provision"
        raise outcome.error


def record(run: Run, op: Reprovision, outcome: Provisioned) -> None:
    """Write what ran into the marker: fingerprints, taint, tailnet (see the module)."""
    config = run.client.get(run.path("config"))
    if not isinstance(config, dict):
        raise ApplyError(f"cannot read the config of {run.address} to record provisioning")
    notes, found = split_description(str(config.get("description") or ""))
    marker = found or marker_for(run.shared.stack, run.address)
    fingerprints = merged_record(op.fingerprints, op.steps, outcome.ran,
                                 decode_fingerprints(marker.fingerprint))
    error = outcome.error
    updated = dataclasses.replace(
        marker, fingerprint=encode_record(fingerprints), tainted=error is not None,
        taint_step=error.step if error is not None else "",
        taint_log=(error.log or outcome.log) if error is not None else "",
        tailnet=outcome.tailnet or marker.tailnet)
    params, _ = own_params({"description": notes}, (), stack=run.shared.stack, marker=updated)
    # The digest of the config just read: the notes written back are the ones it holds,
    # so a concurrent edit makes Proxmox refuse instead of being overwritten.
    body: dict[str, Any] = dict(params)
    if config.get("digest"):
        body["digest"] = str(config["digest"])
    run.call("put", run.path("config"), **body)
    run.digest = None
    run.tainted = error is not None


def leave_tailnet(run: Run, op: LeaveTailnet) -> None:
    """Remove the deleted container's node from its tailnet (asked first on a terminal)."""
    remover = run.shared.options.tailnet
    if remover is None:
        raise ApplyError(f"the plan removes {op.hostname} from the tailnet, but no Tailscale "
                         "API key is available to this apply",
                         hint="set TAILSCALE_API_KEY (or tailscale_api_key in the stack's "
                              "sops secrets), or plan with --keep-tailscale")
    with run.shared.ask_lock:
        allowed = run.shared.hook.confirm_tailnet(run.address, op.hostname)
    if not allowed:
        run.warn(f"{op.hostname} stays on the tailnet (answered no); remove it in the "
                 "Tailscale admin console")
        return
    with run.step("tailnet", detail=f"remove {op.hostname}"):
        try:
            removed = remover.remove(op.hostname)
        except PxrunError as exc:
            raise ApplyError(f"the container is deleted, but its node {op.hostname} could "
                             f"not be removed from the tailnet: {exc.message}",
                             hint=exc.hint or "remove it in the Tailscale admin console"
                             ) from None
    if removed is None:
        run.warn(f"no device named {op.hostname} on the tailnet (already removed?)")
