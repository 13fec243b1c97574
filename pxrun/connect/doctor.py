"""Gather what `pxrun doctor` reports: settings and their sources, TLS, version, nodes, rights.

Why apart from the command: the facts are data (a `DoctorReport`) that the CLI renders as
text or JSON; gathering is read-only (GET requests only) and stops at the first failure that
makes the rest meaningless (unreachable, TLS, authentication).
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from typing import Any

from pxrun.connect.client import ProxmoxClient
from pxrun.connect.rights import (
    COMMANDS,
    Mode,
    PrivilegeCheck,
    check_requirements,
    requirements,
    spec_facts,
)
from pxrun.connect.session import ConnectionInfo
from pxrun.connect.tls import server_fingerprint
from pxrun.errors import ApiError, AuthenticationError, TlsError, UnreachableError
from pxrun.pve.config import root_only_options


@dataclass(frozen=True)
class NodeInfo:
    name: str
    status: str
    cpus: int
    cpu_used: float  # share 0..1
    mem_used: int
    mem_total: int


@dataclass
class DoctorReport:
    """Everything doctor found. `ok` is False when the cluster cannot be used at all."""

    endpoint: str
    simulated: bool
    settings: list[tuple[str, str, str]]
    tls: str
    warnings: list[str] = field(default_factory=list)
    reachable: bool = False
    authenticated: bool = False
    error: str = ""
    hint: str = ""
    server_fingerprint: str = ""
    version: str = ""
    nodes: list[NodeInfo] = field(default_factory=list)
    privileges: list[PrivilegeCheck] = field(default_factory=list)
    root_only: list[str] = field(default_factory=list)
    spec_checked: bool = False

    @property
    def ok(self) -> bool:
        return self.reachable and self.authenticated and not self.error

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["settings"] = [{"setting": k, "value": v, "source": s} for k, v, s in self.settings]
        data["ok"] = self.ok
        return data


def diagnose(client: ProxmoxClient, info: ConnectionInfo, *, stack: Any = None) -> DoctorReport:
    """Ask the cluster, read-only; never raises an `ApiError`, records it instead."""
    report = DoctorReport(endpoint=info.endpoint.url, simulated=info.simulated,
                          settings=info.settings.describe(), tls=info.tls,
                          warnings=list(info.warnings))
    try:
        version = client.get("version")
    except ApiError as exc:
        _record_failure(report, exc, info)
        return report
    report.reachable = report.authenticated = True
    if isinstance(version, dict):
        report.version = f"{version.get('version', '?')} (release {version.get('release', '?')})"
    try:
        report.nodes = [_node(item) for item in client.get("nodes") or []
                        if isinstance(item, dict)]
        needed = requirements(spec_facts(stack) if stack is not None else None)
        report.privileges = check_requirements(
            needed, lambda path: client.get("access/permissions", path=path) or {})
    except ApiError as exc:
        report.error, report.hint = exc.message, exc.hint
        return report
    offline = [n.name for n in report.nodes if n.status != "online"]
    if offline:
        report.warnings.append(f"node(s) not online: {', '.join(offline)}")
    report.warnings += _missing(report.privileges, spec=stack is not None)
    if stack is not None:
        report.spec_checked = True
        report.root_only = root_only_options(stack)
        if report.root_only:
            report.warnings.append(f"{len(report.root_only)} option(s) in the spec need root@pam;"
                                   " no API token can set them")
    return report


def _missing(checks: list[PrivilegeCheck], *, spec: bool) -> list[str]:
    """One warning per mode the token falls short for, naming each privilege and path."""
    out = []
    for mode in Mode:
        lacking = [c for c in checks if c.status == "no" and c.mode == mode.label]
        if lacking:
            what = "; ".join(f"{c.privilege} on {c.path}" for c in lacking)
            scope = "this spec" if spec else "pxrun"
            out.append(f"for {COMMANDS[mode.label]} ({mode.label}), the token lacks what {scope} "
                       f"needs: {what}")
    return out


def _record_failure(report: DoctorReport, exc: ApiError, info: ConnectionInfo) -> None:
    report.error, report.hint = exc.message, exc.hint
    if isinstance(exc, AuthenticationError):
        report.reachable = True
    elif isinstance(exc, TlsError):
        report.reachable = True
        with contextlib.suppress(OSError):
            report.server_fingerprint = server_fingerprint(info.endpoint,
                                                           timeout=info.settings.timeout)
    elif not isinstance(exc, UnreachableError):
        report.reachable = True


def _node(item: dict[str, Any]) -> NodeInfo:
    def num(key: str) -> float:
        value = item.get(key, 0)
        return float(value) if isinstance(value, int | float) else 0.0

    return NodeInfo(name=str(item.get("node", "?")), status=str(item.get("status", "unknown")),
                    cpus=int(num("maxcpu")), cpu_used=num("cpu"), mem_used=int(num("mem")),
                    mem_total=int(num("maxmem")))
