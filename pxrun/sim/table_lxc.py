"""Parameter table: the LXC endpoints under /nodes/{node}/lxc.

The container options are shared by create (`POST /nodes/{node}/lxc`) and update
(`PUT .../config`), as in pve-container's `$confdesc`; each endpoint then adds its own.
"""

from __future__ import annotations

from pxrun.sim.table_param import (
    DIGEST,
    NODE,
    ROOT_OR_MP,
    STORAGE_OPT,
    VMID,
    VMID_OPT,
    VOLUME_KEYS,
    B,
    Endpoint,
    I,
    N,
    Param,
    S,
)

ARCHES = ("amd64", "i386", "arm64", "armhf", "riscv32", "riscv64")
OSTYPES = (
    "debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine",
    "gentoo", "nixos", "unmanaged",
)  # fmt: skip
LOCKS = (
    "backup", "create", "destroyed", "disk", "fstrim", "migrate", "mounted", "rollback",
    "snapshot", "snapshot-delete",
)  # fmt: skip
_NO_CONTROL = r"[^\x00-\x08\x10-\x1F\x7F]"

# pve-container $confdesc as far as the API exposes it.
CONFIG: dict[str, Param] = {
    "arch": S(enum=ARCHES, default="amd64"),
    "cmode": S(enum=("shell", "console", "tty"), default="tty"),
    "console": B(default=1),
    "cores": I(minimum=1, maximum=8192),
    "cpulimit": N(minimum=0, maximum=8192, default=0),
    "cpuunits": I(minimum=0, maximum=500000),
    "debug": B(default=0),
    "description": S(max_length=8192),
    "dev[n]": S(propstr="dev"),
    "entrypoint": S(pattern=f"(?:{_NO_CONTROL}+)", default="/sbin/init"),
    "env": S(pattern=rf"(?:(?:\w+={_NO_CONTROL}*)(?:\0\w+={_NO_CONTROL}*)*)"),
    "features": S(propstr="features"),
    "hookscript": S(format="pve-volume-id"),
    "hostname": S(format="dns-name", max_length=255),
    "lock": S(enum=LOCKS),
    "memory": I(minimum=16, default=512),
    "mp[n]": S(propstr="mp"),
    "nameserver": S(format="lxc-ip-with-ll-iface-list"),
    "net[n]": S(propstr="net"),
    "onboot": B(default=0),
    "ostype": S(enum=OSTYPES),
    "protection": B(default=0),
    "rootfs": S(propstr="rootfs"),
    "searchdomain": S(format="dns-name-list"),
    "startup": S(format="pve-startup-order"),
    "swap": I(minimum=0, default=512),
    "tags": S(format="pve-tag-list"),
    "template": B(default=0),
    "timezone": S(format="pve-ct-timezone"),
    "tty": I(minimum=0, maximum=6, default=2),
    "unprivileged": B(default=0),
    "unused[n]": S(propstr="unused"),
}

NV = {"node": NODE, "vmid": VMID}
SNAPNAME = S(optional=False, format="pve-configid", max_length=40)
BASE = "/nodes/{node}/lxc/{vmid}"


def _ep(method: str, template: str, params: dict[str, Param], returns: str = "") -> Endpoint:
    return Endpoint(method, template, params, returns)


ENDPOINTS: list[Endpoint] = [
    _ep("GET", "/nodes/{node}/lxc", {"node": NODE}, "array"),
    _ep(
        "POST",
        "/nodes/{node}/lxc",
        {
            "node": NODE,
            "vmid": VMID,
            **CONFIG,
            "bwlimit": N(minimum=0),
            "force": B(),
            "ha-managed": B(default=0),
            "ignore-unpack-errors": B(),
            "ostemplate": S(optional=False, max_length=255),
            "password": S(min_length=5),
            "pool": S(format="pve-poolid"),
            "restore": B(),
            "ssh-public-keys": S(),
            "start": B(default=0),
            "storage": STORAGE_OPT.but(default="local"),
            "unique": B(requires="restore"),
        },
        "string",
    ),
    _ep("GET", BASE, NV, "array"),
    _ep(
        "DELETE",
        BASE,
        {**NV, "destroy-unreferenced-disks": B(), "force": B(default=0), "purge": B(default=0)},
        "string",
    ),
    _ep(
        "GET",
        f"{BASE}/config",
        {**NV, "current": B(default=0), "snapshot": S(format="pve-configid", max_length=40)},
        "object",
    ),
    _ep(
        "PUT",
        f"{BASE}/config",
        {
            **NV,
            **CONFIG,
            "delete": S(format="pve-configid-list"),
            "digest": DIGEST,
            "revert": S(format="pve-configid-list"),
        },
        "null",
    ),
    _ep("GET", f"{BASE}/pending", NV, "array"),
    _ep("GET", f"{BASE}/status", NV, "array"),
    _ep("GET", f"{BASE}/status/current", NV, "object"),
    _ep("POST", f"{BASE}/status/start", {**NV, "debug": B(default=0), "skiplock": B()}, "string"),
    _ep(
        "POST",
        f"{BASE}/status/stop",
        {**NV, "overrule-shutdown": B(default=0), "skiplock": B()},
        "string",
    ),
    _ep(
        "POST",
        f"{BASE}/status/shutdown",
        {**NV, "forceStop": B(default=0), "timeout": I(minimum=0, default=60)},
        "string",
    ),
    _ep("POST", f"{BASE}/status/reboot", {**NV, "timeout": I(minimum=0)}, "string"),
    _ep("POST", f"{BASE}/status/suspend", NV, "string"),
    _ep("POST", f"{BASE}/status/resume", NV, "string"),
    _ep(
        "PUT",
        f"{BASE}/resize",
        {
            **NV,
            "digest": DIGEST,
            "disk": S(optional=False, enum=ROOT_OR_MP),
            "size": S(optional=False, pattern=r"\+?\d+(\.\d+)?[KMGT]?"),
        },
        "string",
    ),
    _ep(
        "POST",
        f"{BASE}/move_volume",
        {
            **NV,
            "bwlimit": N(minimum=0),
            "delete": B(default=0),
            "digest": DIGEST,
            "storage": STORAGE_OPT,
            "target-digest": DIGEST,
            "target-vmid": VMID_OPT,
            "target-volume": S(enum=VOLUME_KEYS),
            "volume": S(optional=False, enum=VOLUME_KEYS),
        },
        "string",
    ),
    _ep("GET", f"{BASE}/migrate", {**NV, "target": S(format="pve-node")}, "object"),
    _ep(
        "POST",
        f"{BASE}/migrate",
        {
            **NV,
            "bwlimit": N(minimum=0),
            "online": B(),
            "restart": B(),
            "target": NODE,
            "target-storage": S(format="storage-pair-list"),
            "timeout": I(default=180),
        },
        "string",
    ),
    _ep("GET", f"{BASE}/interfaces", NV, "array"),
    _ep(
        "POST",
        f"{BASE}/clone",
        {
            **NV,
            "bwlimit": N(minimum=0),
            "description": S(),
            "full": B(),
            "hostname": S(format="dns-name"),
            "newid": VMID,
            "pool": S(format="pve-poolid"),
            "snapname": SNAPNAME.but(optional=True),
            "storage": STORAGE_OPT,
            "target": S(format="pve-node"),
        },
        "string",
    ),
    _ep("POST", f"{BASE}/template", NV, "null"),
    _ep("GET", f"{BASE}/snapshot", NV, "array"),
    _ep("POST", f"{BASE}/snapshot", {**NV, "description": S(), "snapname": SNAPNAME}, "string"),
    _ep("GET", f"{BASE}/snapshot/{{snapname}}", {**NV, "snapname": SNAPNAME}, "array"),
    _ep("DELETE", f"{BASE}/snapshot/{{snapname}}", {**NV, "force": B(), "snapname": SNAPNAME},
        "string"),
    _ep("GET", f"{BASE}/snapshot/{{snapname}}/config", {**NV, "snapname": SNAPNAME}, "object"),
    _ep("PUT", f"{BASE}/snapshot/{{snapname}}/config",
        {**NV, "description": S(), "snapname": SNAPNAME}, "null"),
    _ep("POST", f"{BASE}/snapshot/{{snapname}}/rollback",
        {**NV, "snapname": SNAPNAME, "start": B(default=0)}, "string"),
    _ep(
        "GET",
        f"{BASE}/feature",
        {
            **NV,
            "feature": S(optional=False, enum=("snapshot", "clone", "copy")),
            "snapname": S(format="pve-configid", max_length=40),
        },
        "object",
    ),
]
