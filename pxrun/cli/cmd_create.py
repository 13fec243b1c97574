"""`pxrun create`: one container by hand, through the planner and the executor.

Three ways in, one way through: at most five questions (see `create_prompts`), flags
(`--hostname --template --node --cores --memory --disk --storage --bridge --ip --gateway
--ssh-key --start --provision`), or a file (`-c FILE`: a pxrun 0.1 container file or a
one-container spec; flags override it). The answers become a spec in memory, a stack of
its own (`adhoc` unless --stack), and the usual plan is shown and applied under the stack
lock, targeted at the new container, pruning nothing. The container is therefore managed:
`pxrun list` names its stack, `pxrun destroy VMID` removes it. `--dry-run` shows the plan.
At the end it prints how to reach the container, ready to copy.

pxrun 0.1's flags keep working: `-h/-t/-n` (hostname, template, node; so `--help` is the
only help flag here), `--config`, `--storage-pool`, `--network-bridge`, and `--storage N`,
which 0.1 read as a disk size in GB: a number there is taken as such, with a note.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pxrun.cli.cluster import connection_options
from pxrun.cli.context import Settings
from pxrun.cli.specload import var_options

if TYPE_CHECKING:
    from pxrun.apply.summary import ApplySummary
    from pxrun.cli.create_prompts import Answers
    from pxrun.connect.session import ConnectionInfo
    from pxrun.connect.settings import ConnectionFlags
    from pxrun.spec.load import LoadedStack

DEFAULT_STACK = "adhoc"
DEFAULT_BRIDGE = "vmbr0"
FLAG_OF: dict[tuple[str, ...], str] = {
    # where a value of the spec came from, to name it in a diagnostic
    ("hostname",): "--hostname", ("template",): "--template", ("node",): "--node",
    ("vmid",): "--vmid", ("storage",): "--storage", ("state",): "--start",
    ("resources", "cores"): "--cores", ("resources", "memory"): "--memory",
    ("resources", "disk"): "--disk", ("resources", "swap"): "resources",
    ("networks", "net0", "ip"): "--ip", ("networks", "net0", "gw"): "--gateway",
    ("networks", "net0", "bridge"): "--bridge", ("networks", "net0", "vlan"): "--vlan",
    ("ssh_keys",): "--ssh-key", ("provision",): "--provision",
}


@click.command("create", context_settings={"help_option_names": ["--help"]})
@click.option("-c", "--config", "-f", "--file", "config", metavar="FILE",
              type=click.Path(path_type=Path),
              help="Take the container from FILE: a pxrun 0.1 container file or a spec with "
                   "one container. Flags override it.")
@click.option("-h", "--hostname", help="Hostname (asked when missing, without -c).")
@click.option("--name", help="Name in the stack [default: the hostname's first label].")
@click.option("-t", "--template", help="Template shorthand (debian-12) or volid "
              "[default: the newest Debian the nodes have].")
@click.option("-n", "--node", help="Node, or auto [default: auto: most free memory].")
@click.option("--vmid", type=int, help="VMID [default: the next free one].")
@click.option("--cores", metavar="N", help="CPU cores [default: 2].")
@click.option("--memory", metavar="MIB", help="Memory in MiB [default: 1024].")
@click.option("--disk", metavar="GIB", help="Root disk in GiB [default: 10].")
@click.option("--storage", metavar="STORAGE",
              help="Storage of the root disk [default: local-lvm]. (A number is read as "
                   "pxrun 0.1's disk size in GB.)")
@click.option("--storage-pool", "storage_pool", metavar="STORAGE", hidden=True)
@click.option("--bridge", "--network-bridge", "bridge", metavar="BRIDGE",
              help=f"Bridge of net0 [default: {DEFAULT_BRIDGE}].")
@click.option("--ip", help="dhcp, or ADDRESS/PREFIX [default: dhcp].")
@click.option("--gateway", "--gw", "gateway", metavar="ADDRESS", help="Gateway of net0.")
@click.option("--vlan", metavar="TAG", help="VLAN tag of net0.")
@click.option("--ssh-key", "ssh_keys", multiple=True, metavar="KEY_OR_FILE",
              help="Public key for root, or a .pub file (repeatable).")
@click.option("--start/--no-start", default=None, help="Start it [default: start].")
@click.option("--provision", is_flag=False, flag_value="", default=None, metavar="FILE",
              help="Provisioning steps (a YAML file of the spec's provision: keys). Without "
                   "FILE (pxrun 0.1), the -c file's provisioning runs, as it does anyway.")
@click.option("--no-provision", is_flag=True, help="Drop the -c file's provisioning.")
@click.option("--stack", default=DEFAULT_STACK, show_default=True,
              help="Stack the container joins.")
@click.option("--dry-run", is_flag=True, help="Show the plan; change nothing.")
@click.option("--lock-timeout", type=float, default=0.0, metavar="SECONDS",
              help="Wait this long for another apply of the stack to finish.")
@connection_options
@var_options
@click.pass_obj
def create_cmd(settings: Settings | None, /, flags: ConnectionFlags, **opts: Any) -> int:
    """Create one container: answer up to five questions, or give flags, or -c FILE.

    The container is managed by pxrun (stack `adhoc` unless --stack): the plan is shown,
    carried out, and how to connect is printed at the end.
    """
    from pxrun.cli.applyflow import locked_apply
    from pxrun.cli.cmd_apply import apply_session, build_apply_options
    from pxrun.cli.create_prompts import Answers, ask_missing, default_template
    from pxrun.observe.fetch import observe_cluster

    settings = settings if settings is not None else Settings()
    notes: list[str] = []
    _storage_flags(opts, notes)
    base, name, file_stack = _from_file(settings, opts)
    answers = Answers(hostname=opts["hostname"], template=opts["template"], node=opts["node"],
                      resources={k: opts[k] for k in ("cores", "memory", "disk", "storage")
                                 if opts[k] is not None},
                      network={k: v for k, v in (("ip", opts["ip"]), ("gw", opts["gateway"]),
                                                 ("bridge", opts["bridge"]),
                                                 ("vlan", opts["vlan"])) if v is not None})
    for note in notes:
        click.echo(f"note: {note}", err=True)
    interactive = opts["config"] is None and opts["hostname"] is None
    options = build_apply_options()
    spec_cluster = file_stack.stack.cluster if file_stack is not None else None
    terminal = sys.stdin.isatty() and sys.stdout.isatty()  # a live progress table
    with apply_session(settings, options, flags=flags, interactive=terminal,
                       spec_cluster=spec_cluster) as (client, options, hook, info):
        observed = observe_cluster(client, opts["stack"])
        if interactive:
            ask_missing(answers, observed)
        elif answers.template is None and "template" not in base:
            answers.template = default_template(observed)
        loaded, name = _spec(opts, base, name, answers, file_stack)
        existing = observed.containers.get(name)
        if existing is not None:
            from pxrun.errors import UsageError

            raise UsageError(f"stack {opts['stack']} has a container {name} already (vmid "
                             f"{existing.vmid} on {existing.node})",
                             hint="choose another --hostname or --name, or remove it with "
                                  f"`pxrun destroy {existing.vmid}`")
        if opts["dry_run"]:
            return _dry_run(settings, loaded, observed, name, node_ssh=options.root_runner
                            is not None)
        return locked_apply(client, settings, loaded, None, hook, options, mode="normal",
                            targets=(name,), replace=(), no_prune=True, restart=None,
                            auto_approve=True, lock_timeout=opts["lock_timeout"],
                            spec_dir=_spec_dir(opts["config"]),
                            on_summary=lambda s: _connect_details(s, name, settings, info))


def _spec_dir(config: Path | None) -> Path:
    """Where the -c file's relative paths (provisioning files) are relative to."""
    if config is None:
        return Path.cwd()
    return config if config.is_dir() else config.parent


def _storage_flags(opts: dict[str, Any], notes: list[str]) -> None:
    """pxrun 0.1's --storage-pool, and its --storage N (a disk size in GB)."""
    from pxrun.errors import UsageError

    storage, pool = opts["storage"], opts.pop("storage_pool")
    if storage is not None and storage.isdigit():
        if opts["disk"] is not None:
            raise UsageError(f"--storage {storage} (pxrun 0.1's disk size) and --disk "
                             f"{opts['disk']} both set the disk size")
        notes.append(f"--storage {storage} is read as pxrun 0.1's disk size ({storage} GiB); "
                     f"write --disk {storage} (--storage now names the storage)")
        opts["disk"], storage = storage, None
    if pool is not None:
        if storage is not None and storage != pool:
            raise UsageError(f"--storage {storage} and --storage-pool {pool} disagree")
        storage = pool
    opts["storage"] = storage


def _from_file(settings: Settings, opts: dict[str, Any],
               ) -> tuple[dict[str, Any], str | None, LoadedStack | None]:
    """The -c file's one container as spec data (as written: no defaults spelled out)."""
    from pxrun.cli.specload import load_spec
    from pxrun.errors import UsageError

    if opts["config"] is None:
        return {}, None, None
    loaded = load_spec(settings, opts["config"])
    if len(loaded.stack.containers) != 1:
        raise UsageError(f"{opts['config']} has {len(loaded.stack.containers)} containers; "
                         "create takes one",
                         hint=f"apply a whole stack with `pxrun apply -f {opts['config']}`")
    ((name, container),) = loaded.stack.containers.items()
    data = container.model_dump(mode="python", exclude_unset=True, by_alias=True)
    data.pop("depends_on", None)
    return data, name, loaded


def _spec(opts: dict[str, Any], base: dict[str, Any], name: str | None, answers: Answers,
          file_stack: LoadedStack | None) -> tuple[LoadedStack, str]:
    """The answers over the file's container, validated as a one-container stack."""
    from pxrun.spec.legacy import name_from_hostname
    from pxrun.spec.load import LoadedStack

    data = _container_data(base, answers, opts)
    if opts["name"]:
        name = opts["name"]
    elif answers.hostname or name is None:
        name = name_from_hostname(str(data.get("hostname") or "")) or "container"
    data["name"] = name
    stack = _validate({"version": 1, "stack": opts["stack"], "containers": {name: data}})
    secrets = file_stack.secrets if file_stack is not None else {}
    files = file_stack.files if file_stack is not None else ()
    return LoadedStack(stack, files, secrets=secrets), name


def _container_data(base: dict[str, Any], answers: Answers,
                    opts: dict[str, Any]) -> dict[str, Any]:
    """Spec data for the container: the file's, then the answers and flags on top."""
    data = dict(base)
    for key in ("hostname", "template", "node"):
        if getattr(answers, key):
            data[key] = getattr(answers, key)
    data.setdefault("node", "auto")
    if opts["vmid"] is not None:
        data["vmid"] = opts["vmid"]
    resources = dict(data.get("resources") or {})
    resources.update({k: v for k, v in answers.resources.items() if k != "storage"})
    if resources:
        data["resources"] = resources
    if answers.resources.get("storage"):
        data["storage"] = answers.resources["storage"]
    networks = {k: dict(v) for k, v in (data.get("networks") or {}).items()}
    net0 = networks.setdefault("net0", {})
    net0.update(answers.network)
    net0.setdefault("bridge", DEFAULT_BRIDGE)
    net0.setdefault("ip", "dhcp")
    data["networks"] = networks
    if opts["start"] is not None:
        data["state"] = "running" if opts["start"] else "stopped"
    if opts["ssh_keys"]:
        data["ssh_keys"] = [*data.get("ssh_keys", []), *map(_public_key, opts["ssh_keys"])]
    if opts["no_provision"]:
        data.pop("provision", None)
    elif opts["provision"]:
        data["provision"] = _provision_file(Path(opts["provision"]))
    return data


def _public_key(value: str) -> str:
    """A key as given, or the content of a public key file."""
    from pxrun.errors import UsageError
    from pxrun.spec.paths import LocalFileError, read_bounded

    path = Path(value).expanduser()
    if not value.startswith(("ssh-", "ecdsa-", "sk-")) and path.is_file():
        try:
            return read_bounded(path, limit=64 << 10, fifo=False).decode("utf-8").strip()
        except (LocalFileError, UnicodeDecodeError) as exc:
            raise UsageError(f"--ssh-key {value}: {exc}") from None
    return value


def _provision_file(path: Path) -> Any:
    """The `provision:` block of a YAML file, read with the spec's own limits (`yamlsrc`)."""
    from pxrun.errors import UsageError
    from pxrun.spec.yamlsrc import read_yaml

    doc, problems = read_yaml(str(path), str(path))
    if problems:
        raise UsageError(f"--provision {problems[0]}")
    data = doc.data
    return data.get("provision", data) if isinstance(data, dict) else data


def _validate(data: dict[str, Any]) -> Any:
    """The stack model, or a SpecError whose diagnostics name the flag of each bad value."""
    from pydantic import ValidationError

    from pxrun.errors import SpecError
    from pxrun.spec.diagnose import Where, fold, validation_problems
    from pxrun.spec.model import Stack
    from pxrun.spec.yamlsrc import Mark

    def locate(path: tuple[str | int, ...]) -> Where:
        rel = path[2:] if path[:1] == ("containers",) else path
        label = next((flag for n in range(len(rel), 0, -1)
                      if (flag := FLAG_OF.get(tuple(str(p) for p in rel[:n])))), "create")
        mark = Mark(label, 0, 0)
        return Where(mark, mark, "", rel)

    try:
        return Stack.model_validate(data)
    except ValidationError as exc:
        raise SpecError(fold(validation_problems(exc, data, locate, Stack))) from None


def _dry_run(settings: Settings, loaded: LoadedStack, observed: Any, name: str, *,
             node_ssh: bool) -> int:
    from pxrun.cli.cmd_plan import plan_options, show_plan
    from pxrun.plan.planner import plan as make_plan
    from pxrun.render.jsonplan import plan_to_json

    options = plan_options(loaded, observed, Path.cwd(), targets=(name,), no_prune=True,
                           node_ssh_available=node_ssh)
    status = show_plan(plan_to_json(make_plan(loaded.stack, observed, options)), settings,
                       loaded=loaded)
    if not settings.json:
        click.echo("Dry run: nothing was created. Run the same command without --dry-run to "
                   "create it.", err=True)
    return status


def _connect_details(summary: ApplySummary, name: str, settings: Settings,
                     info: ConnectionInfo) -> None:
    """How to reach the new container, ready to copy (or one JSON object with --json)."""
    result = next((r for r in summary.results if r.address == name), None)
    if result is None or result.outcome != "done" or result.vmid is None:
        return
    node = result.node or "?"
    host, port, user = info.ssh.target(node)
    if info.simulated:  # the embedded simulator is gone when this command ends
        from pxrun.sim.runtime import preferred_ports

        port = preferred_ports(settings.sim_dir)["ssh_port"]
    route = NodeRoute(host, port, user, info.ssh.key_file, info.ssh.known_hosts,
                      info.simulated)
    lines = connect_lines(result.vmid, node, result.ip, route)
    if settings.json:
        click.echo(json.dumps({"event": "created", "name": name, "vmid": result.vmid,
                               "node": node, "ip": result.ip,
                               "connect": [{"command": c, "what": w} for w, c in lines]},
                              sort_keys=True))
        return
    where = f"address {result.ip}" if result.ip else "no address yet (`pxrun list --ips`)"
    click.echo(f"\nContainer {name} is ready: vmid {result.vmid} on {node}, {where}.")
    for what, command in lines:
        click.echo(f"  # {what}\n  {command}")
    sys.stdout.flush()


@dataclass(frozen=True)
class NodeRoute:
    """How this machine reaches a node over SSH (from the connection settings)."""

    host: str
    port: int
    user: str
    key_file: Path | None = None
    known_hosts: Path | None = None
    simulated: bool = False


def connect_lines(vmid: int, node: str, ip: str | None,
                  route: NodeRoute | None) -> list[tuple[str, str]]:
    """(what it is for, command): SSH into the container, a command or a shell through its
    node, destroy. Pure."""
    lines: list[tuple[str, str]] = []
    if ip and ip != "dhcp":
        lines.append(("once your key is in it (--ssh-key)", f"ssh root@{ip}"))
    if route is not None:
        opts = [f"-p {route.port}"] if route.port != 22 else []
        if route.key_file is not None:
            opts.insert(0, f"-i {route.key_file}")
        if route.known_hosts is not None:
            opts.append(f"-o UserKnownHostsFile={route.known_hosts}")
        target = " ".join([*opts, f"{route.user}@{route.host}"])
        if route.simulated:
            lines.append((f"a command inside it, through node {node} (start the simulator "
                          "first: pxrun sim serve)",
                          f"ssh {target} pct exec {vmid} -- cat /etc/os-release"))
        else:
            lines.append((f"a shell inside it, through node {node}",
                          f"ssh -t {target} pct enter {vmid}"))
    lines.append(("when you are done", f"pxrun destroy {vmid}"))
    return lines
