"""Error mapping: recorded Proxmox answers (table), then the simulator's real answers.

The table pins the contract of `classify` for every class; the integration tests check that
the answers the simulator really sends over HTTPS (shaped like Proxmox's) arrive at callers
as the same classes, through the real client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from pxrun import errors
from pxrun.connect.errormap import classify, from_transport_error
from tests.connect.conftest import Cluster

TABLE: list[list[Any]] = yaml.safe_load(
    (Path(__file__).parent / "cases" / "errors.yaml").read_text())


@pytest.mark.parametrize(("status", "reason", "errors_map", "cls", "transient"), TABLE,
                         ids=[f"{r[0]}-{r[1][:40]}" for r in TABLE])
def test_classify_table(status: int, reason: str, errors_map: dict[str, str] | None, cls: str,
                        transient: bool) -> None:
    exc = classify(status, reason, errors_map, method="PUT", path="nodes/pve/lxc/101/config")
    assert type(exc) is getattr(errors, cls)
    assert exc.transient is transient
    assert exc.status == status
    assert reason in exc.message  # Proxmox's own words reach the user
    assert exc.hint
    if errors_map:
        assert exc.errors == errors_map
        for key, text in errors_map.items():
            assert f"{key}: {text}" in exc.message


def test_every_api_error_class_is_covered() -> None:
    covered = {row[3] for row in TABLE}
    wanted = {"AuthenticationError", "PermissionDeniedError", "ParameterError", "NotFoundError",
              "LockedError", "DigestMismatchError", "AlreadyExistsError", "UnreachableError",
              "ApiError"}
    assert wanted <= covered


def test_locked_error_names_the_lock() -> None:
    exc = classify(500, "CT is locked (backup)")
    assert isinstance(exc, errors.LockedError)
    assert exc.lock == "backup"


def test_root_only_hint_explains_tokens() -> None:
    exc = classify(403, "configuring device passthrough is only allowed for root@pam")
    assert "API token never counts as root@pam" in exc.hint


def test_transport_errors() -> None:
    refused = from_transport_error(requests.exceptions.ConnectionError("refused"))
    assert isinstance(refused, errors.UnreachableError) and refused.transient
    slow = from_transport_error(requests.exceptions.ReadTimeout("slow"), method="GET", path="x")
    assert isinstance(slow, errors.UnreachableError) and slow.transient
    tls = from_transport_error(requests.exceptions.SSLError("certificate verify failed"))
    assert isinstance(tls, errors.TlsError) and not tls.transient
    assert from_transport_error(ValueError("no")) is None


# --- the simulator's real answers, through the real client ---------------------------------


def _create(cluster: Cluster, vmid: int = 101, **extra: Any) -> str:
    client = cluster.client()
    template = _template(client)
    upid = client.post("nodes/pve1/lxc", vmid=vmid, ostemplate=template, hostname=f"ct{vmid}",
                       storage="local-lvm", memory=512, unprivileged=True, **extra)
    client.wait_task(upid, timeout=30)
    return str(upid)


def _template(client: Any) -> str:
    content = client.get("nodes/pve1/storage/local/content", content="vztmpl")
    if not content:
        pytest.skip("the simulator has no templates on pve1:local yet")
    return str(content[0]["volid"])


@pytest.mark.integration
def test_sim_missing_container_is_not_found(cluster: Cluster) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        cluster.client().get("nodes/pve1/lxc/999/config")
    assert info.value.status == 500
    assert "does not exist" in info.value.message


@pytest.mark.integration
def test_sim_bad_parameter_carries_errors_map(cluster: Cluster) -> None:
    _create(cluster)
    with pytest.raises(errors.ParameterError) as info:
        cluster.client().put("nodes/pve1/lxc/101/config", memory=8)
    assert info.value.status == 400
    assert "memory" in info.value.errors
    assert "minimum value of 16" in info.value.errors["memory"]


@pytest.mark.integration
def test_sim_wrong_digest(cluster: Cluster) -> None:
    _create(cluster)
    with pytest.raises(errors.DigestMismatchError):
        cluster.client().put("nodes/pve1/lxc/101/config", memory=1024, digest="0" * 40)


@pytest.mark.integration
def test_sim_already_exists(cluster: Cluster) -> None:
    _create(cluster)
    with pytest.raises(errors.AlreadyExistsError):
        _create(cluster)


@pytest.mark.integration
def test_sim_bad_token_is_authentication_error(cluster: Cluster) -> None:
    client = cluster.client(cluster.settings(PROXMOX_TOKEN_SECRET="not-the-secret"))
    with pytest.raises(errors.AuthenticationError) as info:
        client.get("version")
    assert info.value.status == 401
    assert "not-the-secret" not in str(info.value)


@pytest.mark.integration
def test_sim_offline_node_is_unreachable(cluster: Cluster) -> None:
    cluster.sim.settings.faults.offline_nodes = ["pve2"]
    client = cluster.client()
    with pytest.raises(errors.UnreachableError) as info:
        client.get("nodes/pve2/lxc")
    assert info.value.status == 595
    assert info.value.transient
    assert client.request_count == 4  # a GET is retried, up to the policy's attempts
    assert client.get("nodes/pve1/lxc") == []  # the other nodes still answer


@pytest.mark.integration
def test_sim_lock_contention_is_transient_locked(cluster: Cluster) -> None:
    _create(cluster)
    cluster.sim.settings.faults.lock_contention = 1.0
    client = cluster.client()
    with pytest.raises(errors.LockedError) as info:
        client.put("nodes/pve1/lxc/101/config", memory=1024)
    assert info.value.transient
    assert "got timeout" in info.value.message
    assert client.request_count == 1  # a write not marked idempotent is never repeated


@pytest.mark.integration
def test_sim_unknown_node_is_not_found(cluster: Cluster) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        cluster.client().get("nodes/nodeX/lxc")
    assert "hostname lookup 'nodeX' failed" in info.value.message


@pytest.mark.integration
def test_sim_token_cannot_set_root_only_feature(cluster: Cluster) -> None:
    _create(cluster)
    with pytest.raises(errors.PermissionDeniedError) as info:
        cluster.client().put("nodes/pve1/lxc/101/config", features="keyctl=1,nesting=1")
    assert "root@pam" in info.value.message
