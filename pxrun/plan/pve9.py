"""The planner's Proxmox VE 9 rules: application containers, HA resources, raw lines.

Pure, like the rest of the planner. What each rule decides (specs/0100):
- An image is pulled on the node before the create (`ImagePull`), every time a container
  is made from it, so the container gets what the tag means now and the pull tells the
  digest apply records in the marker. With `--check-images` the caller asks the registry
  what each tag means now (`PlanOptions.image_digests`); a container made from another
  digest is replaced (`# image updated: 1.27 -> sha256:...`), its data volumes kept.
- Where Proxmox documents limits of application containers, the plan warns and names the
  spec field to change: a technology preview, privileged ones fail, `env` not applied by
  some images.
- `ha:` is the container's HA resource: added by the create itself where the API has
  `ha-managed` (9.1), else by `POST /cluster/ha/resources`; a change is a `PUT`.
- A container on another node than its spec names while HA manages it was moved by HA: it
  stays there (never migrated back, never re-created) unless `--rebalance` asks.
- Raw `lxc.*` lines and the idmap are written into the config file over node SSH as root
  (`RawConfig`); without node SSH that is a plan error with guidance.
"""

from __future__ import annotations

from pxrun.observe.model import ObservedContainer
from pxrun.plan.context import PlanContext
from pxrun.plan.model import FieldDiff, HaResource, ImagePull, Operation, RawConfig
from pxrun.plan.templates import ResolvedTemplate
from pxrun.pve.config import raw_lines
from pxrun.pve.options import Site
from pxrun.pve.rawlxc import subid_entries
from pxrun.spec.model import Container, HaSettings

PREVIEW = ("application containers from OCI images are a technology preview in Proxmox VE "
           "9.1: image updates are replaces, and not every image runs")
PRIVILEGED = ("Proxmox documents that privileged application containers fail to start")
ENV = ("Proxmox notes that some images do not apply env set on the container (their own "
       "entrypoint resets it); check the running process's environment")
RAW_HINT = ("configure node SSH (cluster.ssh): raw lxc lines and idmaps live only in the "
            "config file under /etc/pve/lxc/, which no API call can write")


def version_at_least(version: str | None, want: tuple[int, int]) -> bool | None:
    """Whether a `GET /version` answer is at least `want` (None: not known)."""
    if not version:
        return None
    parts = [int(p) for p in version.split("-", 1)[0].split(".")[:2] if p.isdigit()]
    return tuple(parts + [0] * (2 - len(parts))) >= want


# --- application containers -------------------------------------------------------------


def image_pull(template: ResolvedTemplate) -> ImagePull | None:
    if template.pull is None or template.download_storage is None:
        return None
    return ImagePull(storage=template.download_storage, reference=template.pull,
                     filename=template.filename)


def version_checks(ctx: PlanContext, want: Container, keys: set[str] | None = None) -> None:
    """What Proxmox VE 9.1 added (`entrypoint`, `env`, host-managed networks) is a plan
    error on an older cluster, before anything is tried; `keys`: the config keys written
    (None: a create writes them all)."""
    if version_at_least(ctx.observed.pve_version, (9, 1)) is not False:
        return
    found = []
    if want.entrypoint is not None and (keys is None or "entrypoint" in keys):
        found.append(("entrypoint", "entrypoint"))
    if want.env and (keys is None or "env" in keys):
        found.append(("env", "env"))
    for slot, net in want.networks.items():
        if net.host_managed and (keys is None or slot in keys):
            found.append((f"networks.{slot}", f"{slot} host_managed"))
    for path, what in found:
        ctx.error(want.name, f"{what} needs Proxmox VE 9.1 or newer; the cluster runs "
                             f"{ctx.observed.pve_version}", path=path)


def image_checks(ctx: PlanContext, want: Container, *, made: bool, env_changed: bool) -> None:
    """Version and Proxmox's documented limits, when a container is made from an image
    (`made`) or its env changes."""
    if want.image is None:
        return
    if made:
        if version_at_least(ctx.observed.pve_version, (9, 1)) is False:
            ctx.error(want.name, f"image needs Proxmox VE 9.1 or newer; the cluster runs "
                                 f"{ctx.observed.pve_version}", "use a template", path="image")
        ctx.warn(want.name, PREVIEW, path="image")
        if not want.unprivileged:
            ctx.warn(want.name, PRIVILEGED, "set unprivileged: true", path="unprivileged")
    if want.env and (made or env_changed):
        ctx.warn(want.name, ENV, "pass settings through a mounted file if the image "
                                 "ignores env", path="env")


def image_update(ctx: PlanContext, want: Container,
                 observed: ObservedContainer) -> FieldDiff | None:
    """The diff that replaces a container whose image's tag points elsewhere now (asked
    with --check-images), or None."""
    reference = want.image
    if reference is None or observed.current.image != reference:
        return None
    now = ctx.options.image_digests.get(reference)
    if now is None:
        return None
    if observed.image_digest is None:
        ctx.warn(want.name, f"the digest {want.name} was made from is not recorded; "
                            "--check-images cannot tell whether its image changed",
                 path="image")
        return None
    if now == observed.image_digest:
        return None
    return FieldDiff(op="change", path="image", old=f"{reference}@{observed.image_digest}",
                     new=f"{reference}@{now}")


def update_words(diff: FieldDiff) -> str:
    """`1.27 -> sha256:4b1d...` for an image update's diff (the tag, the new digest)."""
    tag = str(diff.new).split("@", 1)[0].rpartition(":")[2]
    digest = str(diff.new).split("@", 1)[1]
    return f"{tag} → {digest[:19]}…"


# --- HA ---------------------------------------------------------------------------------

_HA_KEYS = ("state", "max_restart", "max_relocate", "failback", "comment")


def _ha_text(value: object) -> str:
    return ("1" if value else "0") if isinstance(value, bool) else str(value)


def ha_managed_on_create(ctx: PlanContext, want: Container) -> bool:
    """Whether the create call itself adds the HA resource (`ha-managed`, Proxmox VE 9.1)."""
    return want.ha is not None and bool(version_at_least(ctx.observed.pve_version, (9, 1)))


def ha_on_create(ctx: PlanContext, want: Container) -> list[Operation]:
    """The HA resource of a new container: what the create's `ha-managed` does not set
    (it adds the resource stopped; the start that follows asks HA to start it), or the
    whole resource where the API has no `ha-managed`."""
    if want.ha is None:
        return []
    if not ha_managed_on_create(ctx, want):
        values = _ha_values(want.ha, None)
        return [HaResource(action="add", set=values)]
    created = HaSettings(state="stopped")  # what ha-managed makes of a create without start
    values = _ha_values(want.ha, created)
    if want.ha.state in ("started", "stopped"):  # the power operations take care of it
        values.pop("state", None)
    return [HaResource(action="update", set=values)] if values else []


def ha_update(want: Container, have: HaSettings | None) -> HaResource | None:
    """Add the resource, or change what differs."""
    if want.ha is None:
        return None
    values = _ha_values(want.ha, have)
    if not values:
        return None
    return HaResource(action="add" if have is None else "update", set=values)


def _ha_values(want: HaSettings, have: HaSettings | None) -> dict[str, str]:
    out = {}
    for key in _HA_KEYS:
        value = getattr(want, key)
        if value is None:
            continue
        if have is None or getattr(have, key) != value:
            out[key] = _ha_text(value)
    if have is None and "state" not in out:
        out["state"] = want.state
    return out


def ha_readable(ctx: PlanContext) -> None:
    """A spec that manages HA needs the cluster's HA resources read: else a plan error
    (pxrun would add resources that exist, or miss a container HA moved)."""
    users = [name for name, ct in sorted(ctx.stack.containers.items()) if ct.ha is not None]
    if users and ctx.observed.ha_resources is None:
        problem = f" ({ctx.observed.ha_problem})" if ctx.observed.ha_problem else ""
        ctx.error(users[0], f"the cluster's HA resources cannot be read{problem}",
                  "the token needs Sys.Audit on / to read them (and Sys.Console on / to "
                  "change them)", path="ha")


def moved_by_ha(ctx: PlanContext, want: Container, observed: ObservedContainer) -> bool:
    """A container HA manages, found on a node its spec does not allow: HA moved it (a
    failover or a relocation). It stays; the plan says so. `--rebalance` lets the normal
    migration move it back."""
    ha = observed.current.ha
    if ha is None or ha.state == "ignored" or ctx.options.rebalance:
        return False
    spec = want.node if isinstance(want.node, str) else ", ".join(want.node)
    ctx.warn(want.name, f"moved by HA: it runs on {observed.node}, the spec says {spec}; "
                        "pxrun leaves it there", "pxrun plan --rebalance (and apply "
                        "--rebalance) moves it back", path="node")
    return True


# --- raw lines ------------------------------------------------------------------------


def raw_operation(ctx: PlanContext, want: Container, site: Site, *,
                  running: bool) -> RawConfig | None:
    """The file write that gives the container its raw lines and idmap; a plan error
    without node SSH (no API call can write them, not even as root@pam)."""
    lines = raw_lines(want, site)
    if lines is None:
        return None
    if not ctx.options.node_ssh_available:
        what = " and ".join(part for part in ("raw lxc lines" if want.lxc is not None else "",
                                              "idmap" if want.idmap is not None else "")
                            if part)
        ctx.error(want.name, f"{what} can only be written into the config file on the "
                             "node, and node SSH is not configured", RAW_HINT,
                  path="lxc" if want.lxc is not None else "idmap")
    subuid, subgid = subid_entries(want.idmap)
    return RawConfig(lines=tuple(lines), subuid=subuid, subgid=subgid, pending=running)
