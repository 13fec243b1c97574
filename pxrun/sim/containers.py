"""A container's configuration as Proxmox keeps it: the `.conf` file, its digest and pending.

Why everything is kept as file text: the digest is the SHA1 of the file, GET config returns
values parsed back from it, and the pending section stores values exactly as they were
written. Keeping `conf` and `pending` as `key -> text` makes the digest, the canonical
property strings and the pending/current split fall out of one rendering function.
"""

from __future__ import annotations

import copy
import hashlib
import re
import time
from typing import Any

from pxrun.sim import conffile, formats, propstr
from pxrun.sim.api import fail
from pxrun.sim.tracked import TrackedDict, TrackedList

MIB = 1024**2
GIB = 1024**3

INT_KEYS = frozenset({"cores", "cpuunits", "memory", "swap", "tty", "onboot", "protection",
                      "unprivileged", "console", "template", "debug"})
NUM_KEYS = frozenset({"cpulimit"})
OPTION_RE = re.compile(
    r"^(arch|cmode|console|cores|cpulimit|cpuunits|debug|description|entrypoint|env|features|"
    r"hookscript|hostname|lock|memory|nameserver|onboot|ostype|protection|rootfs|searchdomain|"
    r"startup|swap|tags|template|timezone|tty|unprivileged|net([0-9]|[12][0-9]|3[01])|"
    r"(mp|unused|dev)([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5]))$"
)
# Applied to the config at once on a running container (pve-container $LXC_FASTPLUG_OPTIONS).
FASTPLUG = frozenset({"description", "onboot", "startup", "protection", "hostname", "hookscript",
                      "cores", "tags", "lock"})
LIVE = FASTPLUG | {"memory", "swap", "cpulimit", "cpuunits"}
NEW_DISK_RE = re.compile(r"^([a-z][a-z0-9\-_.]*[a-z0-9]):(\d+(?:\.\d+)?)$", re.I)
VOLUME_KEY_RE = re.compile(r"^(mp|unused)\d+$")


def key_order(key: str) -> tuple[str, int]:
    """Natural order of config keys: rootfs, then mp0 < mp2 < mp10 (as foreach_volume)."""
    found = re.fullmatch(r"([a-z]+)(\d+)", key)
    if key == "rootfs":
        return ("", -1)
    return (found.group(1), int(found.group(2))) if found else (key, -1)


def is_option(key: str) -> bool:
    return bool(OPTION_RE.match(key))


def typed(key: str, value: str) -> Any:
    """A config value as the API returns it (numbers for integer and number options)."""
    if key in INT_KEYS:
        try:
            return int(value)
        except ValueError:
            return value
    if key in NUM_KEYS:
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def volume_of(value: str) -> str:
    """The volume (default key) of a rootfs/mp/unused value."""
    return value.split(",", 1)[0].removeprefix("volume=")


def is_managed(volume: str) -> bool:
    """A storage volume (`sid:name`), not a bind or device mount (`/path`)."""
    return not volume.startswith("/") and ":" in volume


# Container attributes that are state (persisted, so a change marks the container dirty).
_STATE_FIELDS = frozenset({"vmid", "node", "conf", "pending", "pending_delete", "status",
                           "started_at", "pid", "ostemplate", "ssh_public_keys", "raw_lxc",
                           "snapshots", "firewall", "leases"})


class Container:
    """One container: its config file's sections and its runtime state on the node.

    Every change to a state attribute, or inside `conf`, `pending`, `pending_delete`,
    `snapshots` and `raw_lxc` (tracked collections), marks the container dirty in its
    simulator's `dirty` set, so `Simulator.commit()` writes exactly the files that changed.
    """

    def __init__(self, vmid: int, node: str, conf: dict[str, str] | None = None,
                 pending: dict[str, str] | None = None,
                 pending_delete: list[str] | None = None, status: str = "stopped",
                 started_at: float | None = None, pid: int | None = None,
                 ostemplate: str | None = None, ssh_public_keys: str | None = None) -> None:
        object.__setattr__(self, "_sink", None)
        self.vmid = vmid
        self.node = node
        self.conf = conf or {}
        self.pending = pending or {}
        self.pending_delete = pending_delete or []
        self.raw_lxc: list[tuple[str, str]] = []
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.firewall: dict[str, Any] = {}
        self.status = status
        self.started_at = started_at
        self.pid = pid
        self.prev_status = status
        self.status_changed_at = 0.0
        self.ostemplate = ostemplate
        self.ssh_public_keys = ssh_public_keys

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("conf", "pending", "snapshots", "firewall"):
            if not (isinstance(value, TrackedDict) and value._owner is self):
                value = TrackedDict(self, value)
        elif name in ("pending_delete", "raw_lxc") and not (
                isinstance(value, TrackedList) and value._owner is self):
            value = TrackedList(self, value)
        object.__setattr__(self, name, value)
        if name in _STATE_FIELDS:
            self.touch()

    _sink: set[int] | None

    def touch(self) -> None:
        """Mark this container as changed since the last commit (and its digest as stale)."""
        object.__setattr__(self, "_digest", None)
        sink = self._sink
        if sink is not None:
            sink.add(self.vmid)

    def attach(self, sink: set[int] | None) -> None:
        object.__setattr__(self, "_sink", sink)
        self.touch()

    def __deepcopy__(self, memo: dict[int, Any]) -> Container:
        """A detached working copy (`handlers.config.Change`): changes mark nothing."""
        out = Container(self.vmid, self.node, dict(self.conf), dict(self.pending),
                        list(self.pending_delete), self.status, self.started_at, self.pid,
                        self.ostemplate, self.ssh_public_keys)
        out.raw_lxc = list(self.raw_lxc)
        out.snapshots = copy.deepcopy(dict(self.snapshots))
        out.firewall = copy.deepcopy(dict(self.firewall))
        return out

    # -- what pct and other components read ------------------------------------------------
    @property
    def config(self) -> dict[str, str]:
        return self.conf

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def ostype(self) -> str | None:
        return self.conf.get("ostype")

    @property
    def lock(self) -> str | None:
        return self.conf.get("lock")

    @property
    def is_template(self) -> bool:
        return self.conf.get("template") == "1"

    # -- the config file -------------------------------------------------------------------
    def render(self) -> str:
        return conffile.render(self.conf, self.raw_lxc, self.pending, self.pending_delete,
                               self.snapshots)

    @property
    def digest(self) -> str:
        """The config file's SHA-1, kept until the next change (every change calls touch)."""
        found: str | None = self.__dict__.get("_digest")
        if found is None:
            found = hashlib.sha1(self.render().encode("utf-8")).hexdigest()
            object.__setattr__(self, "_digest", found)
        return found

    def config_json(self, current: bool = False) -> dict[str, Any]:
        values = dict(self.conf)
        if not current:
            values.update(self.pending)
            for key in self.pending_delete:
                values.pop(key, None)
        data = {k: typed(k, v) for k, v in values.items()}
        if self.raw_lxc:
            data["lxc"] = [[k, v] for k, v in self.raw_lxc]
        data["digest"] = self.digest
        return data

    def pending_json(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key in sorted(set(self.conf) | set(self.pending) | set(self.pending_delete)):
            item: dict[str, Any] = {"key": key}
            if key in self.conf:
                item["value"] = typed(key, self.conf[key])
            if key in self.pending:
                item["pending"] = self.pending[key]
            if key in self.pending_delete:
                item["delete"] = 1
            if len(item) > 1:
                out.append(item)
        out.append({"key": "digest", "value": self.digest})
        return out

    # -- checks ----------------------------------------------------------------------------
    def check_lock(self) -> None:
        if self.conf.get("lock"):
            raise fail(f"CT is locked ({self.conf['lock']})")

    def check_digest(self, digest: str | None) -> None:
        if digest and digest != self.digest:
            raise fail("detected modified configuration - file changed by other user? Try again.")

    def check_protection(self, message: str) -> None:
        if self.conf.get("protection") == "1":
            raise fail(f"{message} - protection mode enabled")

    # -- helpers used by the workers ---------------------------------------------------------
    def set_status(self, status: str) -> None:
        self.prev_status = self.status
        self.status = status
        self.status_changed_at = time.time()
        self.started_at = time.time() if status == "running" else None

    def volumes(self, include_pending: bool = True) -> list[str]:
        """Every managed volume referenced by the config (and pending section)."""
        keys = [k for k in self.conf if k == "rootfs" or VOLUME_KEY_RE.match(k)]
        found = [volume_of(self.conf[k]) for k in keys]
        if include_pending:
            found += [volume_of(v) for k, v in self.pending.items()
                      if k == "rootfs" or VOLUME_KEY_RE.match(k)]
        return [v for v in dict.fromkeys(found) if is_managed(v) and not NEW_DISK_RE.match(v)]

    def snapshot_volumes(self) -> list[str]:
        """Managed volumes that only snapshots still reference (kept alive by them)."""
        found = []
        for snap in self.snapshots.values():
            found += [volume_of(str(v)) for k, v in snap.items()
                      if k == "rootfs" or VOLUME_KEY_RE.match(k)]
        return [v for v in dict.fromkeys(found) if is_managed(v)]

    def add_unused(self, volume: str) -> str:
        """Record a detached volume as the first free `unusedN` (unless already listed)."""
        for key, value in self.conf.items():
            if key.startswith("unused") and volume_of(value) == volume:
                return key
        n = 0
        while f"unused{n}" in self.conf:
            n += 1
        self.conf[f"unused{n}"] = volume
        return f"unused{n}"

    def disk_size(self, key: str = "rootfs") -> int:
        value = self.conf.get(key)
        if not value:
            return 4 * GIB
        try:
            size = propstr.parse("rootfs" if key == "rootfs" else "mp", value).get("size")
        except propstr.PropStrError:
            return 0
        return int(size) if size else 0

    def vmstatus(self, node_cpus: int, pve9: bool = True) -> dict[str, Any]:
        """PVE::LXC::vmstatus for one container."""
        conf = self.conf
        running = self.running
        maxmem = int(conf.get("memory", "512")) * MIB
        maxdisk = self.disk_size()
        cpus: float = node_cpus
        if conf.get("cores"):
            cpus = int(conf["cores"])
        elif conf.get("cpulimit") and float(conf["cpulimit"]) > 0:
            cpus = typed("cpulimit", conf["cpulimit"])
        uptime = int(time.time() - self.started_at) if running and self.started_at else 0
        seed = self.vmid % 97
        data: dict[str, Any] = {
            "vmid": self.vmid, "type": "lxc", "status": self.status,
            "name": conf.get("hostname", f"CT{self.vmid}"), "cpus": cpus,
            "maxmem": maxmem, "maxswap": int(conf.get("swap", "512")) * MIB, "maxdisk": maxdisk,
            "disk": maxdisk // 5 + seed * 4096 if running else 0,
            "mem": maxmem // 10 + seed * 65536 if running else 0, "swap": 0,
            "uptime": uptime, "cpu": round(0.001 * (seed % 10), 4) if running else 0,
            "netin": uptime * 1200 if running else 0, "netout": uptime * 600 if running else 0,
            "diskread": 4096000 if running else 0, "diskwrite": uptime * 2048 if running else 0,
        }
        if conf.get("tags"):
            data["tags"] = conf["tags"]
        if conf.get("lock"):
            data["lock"] = conf["lock"]
        if conf.get("template") == "1":
            data["template"] = 1
        if running:
            data["pid"] = self.pid or 1000 + self.vmid
            if pve9:
                data.update({"pressurecpusome": 0, "pressureiosome": 0, "pressureiofull": 0,
                             "pressurememorysome": 0, "pressurememoryfull": 0})
        return data

    # -- persistence -----------------------------------------------------------------------
    def run_json(self) -> dict[str, Any]:
        """The runtime state a node keeps outside the config file (spec 0025)."""
        data: dict[str, Any] = {"status": self.status, "started_at": self.started_at,
                                "pid": self.pid, "ostemplate": self.ostemplate,
                                "ssh_public_keys": self.ssh_public_keys}
        if self.firewall:
            data["firewall"] = dict(self.firewall)
        return data

    @classmethod
    def from_files(cls, vmid: int, node: str, text: str, run: dict[str, Any]) -> Container:
        parsed = conffile.parse(text)
        ct = cls(vmid=vmid, node=node, conf=parsed.conf, pending=parsed.pending,
                 pending_delete=parsed.pending_delete, status=run.get("status", "stopped"),
                 started_at=run.get("started_at"), pid=run.get("pid"),
                 ostemplate=run.get("ostemplate"), ssh_public_keys=run.get("ssh_public_keys"))
        ct.raw_lxc = parsed.raw_lxc
        ct.snapshots = {name: TrackedDict(ct, snap) for name, snap in parsed.snapshots.items()}
        ct.firewall = dict(run.get("firewall") or {})
        return ct

    def to_json(self) -> dict[str, Any]:
        return {"vmid": self.vmid, "node": self.node, "conf": dict(self.conf),
                "pending": dict(self.pending), "pending_delete": list(self.pending_delete),
                **self.run_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Container:
        """The layout-1 `state.json` record (read once to migrate old state directories)."""
        ct = cls(vmid=int(data["vmid"]), node=data["node"], conf=dict(data.get("conf", {})),
                 pending=dict(data.get("pending", {})),
                 pending_delete=list(data.get("pending_delete", [])),
                 status=data.get("status", "stopped"), started_at=data.get("started_at"),
                 pid=data.get("pid"), ostemplate=data.get("ostemplate"),
                 ssh_public_keys=data.get("ssh_public_keys"))
        ct.prev_status = ct.status
        return ct


def canonical_value(key: str, value: str) -> str:
    """What PVE writes for a value it accepted: canonical property strings, sorted tags."""
    if key == "tags":
        try:
            return formats.normalize_tags(value)
        except formats.FormatError as exc:
            raise fail(exc.text.strip()) from exc
    fmt = propstr.fmt_of(key)
    if fmt is None or fmt == "startup":
        return value
    try:
        return propstr.canonical(fmt, value)
    except propstr.PropStrError as exc:
        raise fail(f"unable to parse value of '{key}' - {exc.pve_text().strip()}") from exc


def new_mac(rng: Any) -> str:
    """A random MAC with Proxmox's default datacenter prefix BC:24:11."""
    tail = [rng.randint(0, 255) for _ in range(3)]
    return "BC:24:11:" + ":".join(f"{b:02X}" for b in tail)


def fill_net(value: str, rng: Any) -> str:
    """parse_lxc_network: a missing hwaddr is generated and `type=veth` added."""
    net = propstr.parse("net", value)
    if not net.get("hwaddr"):
        net["hwaddr"] = new_mac(rng)
    net["type"] = "veth"
    return propstr.print_("net", net)


def config_missing(node: str, vmid: int) -> Exception:
    return fail(f"Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist")
