"""Parameter table: version, access, cluster, nodes, network, storage, tasks and pools."""

from __future__ import annotations

from pxrun.sim.table_param import (
    NODE,
    POOLID,
    STORAGE,
    STORAGE_OPT,
    UPID,
    VMID_OPT,
    B,
    Endpoint,
    I,
    Param,
    S,
)

_USERID = (
    r"(?:^(?:[^\s:/]+)\@(?:[A-Za-z][A-Za-z0-9\.\-_]+)"
    r"(?:!(?:[A-Za-z][A-Za-z0-9\.\-_]+))?$)"
)
NETWORK_TYPES = (
    "bridge", "bond", "eth", "alias", "vlan", "fabric", "OVSBridge", "OVSBond", "OVSPort",
    "OVSIntPort", "vnet", "any_bridge", "any_local_bridge", "include_sdn",
)  # fmt: skip
NS = {"node": NODE, "storage": STORAGE}
# An OCI repository reference (registry host, optional port, path), as PVE 9.1 checks it.
OCI_REPO = (
    r"^(?:(?:[a-zA-Z\d]|[a-zA-Z\d][a-zA-Z\d-]*[a-zA-Z\d])(?:\.(?:[a-zA-Z\d]|[a-zA-Z\d]"
    r"[a-zA-Z\d-]*[a-zA-Z\d]))*(?::\d+)?/)?[a-z\d]+(?:(?:[._]|__|[-]*)[a-z\d]+)*(?:/[a-z\d]+"
    r"(?:(?:[._]|__|[-]*)[a-z\d]+)*)*$"
)
POOL_UPDATE = {
    "allow-move": B(default=0),
    "comment": S(),
    "delete": B(default=0),
    "poolid": POOLID,
    "storage": S(format="pve-storage-id-list"),
    "vms": S(format="pve-vmid-list"),
}
POOL_TYPES = ("qemu", "lxc", "storage")
STORAGE_TYPES = (
    "btrfs", "cephfs", "cifs", "dir", "esxi", "iscsi", "iscsidirect", "lvm", "lvmthin", "nfs",
    "pbs", "rbd", "zfs", "zfspool",
)  # fmt: skip


def _ep(method: str, template: str, params: dict[str, Param], returns: str = "") -> Endpoint:
    return Endpoint(method, template, dict(params), returns)


ENDPOINTS: list[Endpoint] = [
    _ep("GET", "/version", {}, "object"),
    _ep("GET", "/access/ticket", {}, "null"),
    _ep(
        "POST",
        "/access/ticket",
        {
            "new-format": B(default=1),
            "otp": S(),
            "password": S(optional=False),
            "path": S(max_length=64, requires="privs"),
            "privs": S(format="pve-priv-list", max_length=64, requires="path"),
            "realm": S(format="pve-realm", max_length=32),
            "tfa-challenge": S(),
            "username": S(optional=False, max_length=64),
        },
        "object",
    ),
    _ep("GET", "/access/permissions", {"path": S(), "userid": S(pattern=_USERID)}, "object"),
    _ep("GET", "/cluster/resources", {"type": S(enum=("vm", "storage", "node", "sdn"))}, "array"),
    _ep("GET", "/cluster/nextid", {"vmid": VMID_OPT}, "integer"),
    _ep("GET", "/cluster/status", {}, "array"),
    _ep("GET", "/nodes", {}, "array"),
    _ep("GET", "/nodes/{node}", {"node": NODE}, "array"),
    _ep("GET", "/nodes/{node}/status", {"node": NODE}, "object"),
    _ep("GET", "/nodes/{node}/network", {"node": NODE, "type": S(enum=NETWORK_TYPES)}, "array"),
    _ep(
        "GET",
        "/nodes/{node}/network/{iface}",
        {"node": NODE, "iface": S(optional=False, format="pve-iface", min_length=2, max_length=20)},
        "object",
    ),
    _ep(
        "GET",
        "/nodes/{node}/storage",
        {
            "node": NODE,
            "content": S(format="pve-storage-content-list"),
            "enabled": B(default=0),
            "format": B(default=0),
            "storage": STORAGE_OPT,
            "target": S(format="pve-node"),
        },
        "array",
    ),
    _ep("GET", "/nodes/{node}/storage/{storage}", NS, "array"),
    _ep("GET", "/nodes/{node}/storage/{storage}/status", NS, "object"),
    _ep(
        "GET",
        "/nodes/{node}/storage/{storage}/content",
        {**NS, "content": S(format="pve-storage-content"), "vmid": VMID_OPT},
        "array",
    ),
    _ep(
        "GET",
        "/nodes/{node}/storage/{storage}/content/{volume}",
        {"node": NODE, "storage": STORAGE_OPT, "volume": S(optional=False)},
        "object",
    ),
    _ep(
        "PUT",
        "/nodes/{node}/storage/{storage}/content/{volume}",
        {"node": NODE, "storage": STORAGE_OPT, "volume": S(optional=False), "notes": S(),
         "protected": B()},
        "null",
    ),
    _ep(
        "DELETE",
        "/nodes/{node}/storage/{storage}/content/{volume}",
        {
            "node": NODE,
            "storage": STORAGE_OPT,
            "volume": S(optional=False),
            "delay": I(minimum=1, maximum=30),
        },
        "string",
    ),
    _ep(
        "POST",
        "/nodes/{node}/storage/{storage}/download-url",
        {
            **NS,
            "checksum": S(requires="checksum-algorithm"),
            "checksum-algorithm": S(
                enum=("md5", "sha1", "sha224", "sha256", "sha384", "sha512"), requires="checksum"
            ),
            "compression": S(),
            "content": S(
                optional=False, format="pve-storage-content", enum=("iso", "vztmpl", "import")
            ),
            "filename": S(optional=False, max_length=255),
            "url": S(optional=False, pattern=r"https?://.*"),
            "verify-certificates": B(default=1),
        },
        "string",
    ),
    _ep(
        "POST",
        "/nodes/{node}/storage/{storage}/upload",
        {
            **NS,
            "checksum": S(requires="checksum-algorithm"),
            "checksum-algorithm": S(
                enum=("md5", "sha1", "sha224", "sha256", "sha384", "sha512"), requires="checksum"
            ),
            "content": S(
                optional=False, format="pve-storage-content", enum=("iso", "vztmpl", "import")
            ),
            "filename": S(optional=False, max_length=255),
            "tmpfilename": S(pattern=r"/var/tmp/pveupload-[0-9a-f]+"),
        },
        "string",
    ),
    _ep(
        "GET",
        "/nodes/{node}/query-url-metadata",
        {"node": NODE, "url": S(optional=False, pattern=r"https?://.*"),
         "verify-certificates": B(default=1)},
        "object",
    ),
    _ep("GET", "/nodes/{node}/qemu", {"node": NODE, "full": B()}, "array"),
    _ep("GET", "/nodes/{node}/query-oci-repo-tags",
        {"node": NODE, "reference": S(optional=False, pattern=OCI_REPO)}, "array"),
    _ep("POST", "/nodes/{node}/storage/{storage}/oci-registry-pull",
        {**NS, "filename": S(min_length=1, max_length=255),
         "reference": S(optional=False, pattern=OCI_REPO[:-1] + r":\w[\w.-]{0,127}$")},
        "string"),
    _ep("GET", "/cluster/tasks", {}, "array"),
    _ep("GET", "/nodes/{node}/aplinfo", {"node": NODE}, "array"),
    _ep(
        "POST",
        "/nodes/{node}/aplinfo",
        {"node": NODE, "storage": STORAGE, "template": S(optional=False, max_length=255)},
        "string",
    ),
    _ep(
        "GET",
        "/nodes/{node}/tasks",
        {
            "node": NODE,
            "errors": B(default=0),
            "limit": I(minimum=0, default=50),
            "since": I(),
            "source": S(enum=("archive", "active", "all"), default="archive"),
            "start": I(minimum=0, default=0),
            "statusfilter": S(format="pve-task-status-type-list"),
            "typefilter": S(),
            "until": I(),
            "userfilter": S(),
            "vmid": VMID_OPT,
        },
        "array",
    ),
    _ep("GET", "/nodes/{node}/tasks/{upid}", {"node": NODE, "upid": UPID}, "array"),
    _ep("DELETE", "/nodes/{node}/tasks/{upid}", {"node": NODE, "upid": UPID}, "null"),
    _ep("GET", "/nodes/{node}/tasks/{upid}/status", {"node": NODE, "upid": UPID}, "object"),
    _ep(
        "GET",
        "/nodes/{node}/tasks/{upid}/log",
        {
            "node": NODE,
            "upid": UPID,
            "download": B(),
            "limit": I(minimum=0, default=50),
            "start": I(minimum=0, default=0),
        },
        "array",
    ),
    _ep("GET", "/storage", {"type": S(enum=STORAGE_TYPES)}, "array"),
    _ep("GET", "/storage/{storage}", {"storage": STORAGE}, "object"),
    _ep(
        "GET",
        "/pools",
        {"poolid": S(format="pve-poolid"), "type": S(enum=POOL_TYPES, requires="poolid")},
        "array",
    ),
    _ep("POST", "/pools", {"comment": S(), "poolid": POOLID}, "null"),
    _ep("PUT", "/pools", POOL_UPDATE, "null"),
    _ep("DELETE", "/pools", {"poolid": POOLID}, "null"),
    _ep("GET", "/pools/{poolid}", {"poolid": POOLID, "type": S(enum=POOL_TYPES)}, "object"),
    _ep("PUT", "/pools/{poolid}", POOL_UPDATE, "null"),
    _ep("DELETE", "/pools/{poolid}", {"poolid": POOLID}, "null"),
]
