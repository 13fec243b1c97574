"""OCI images (PVE 9.1) from the built-in catalog: tags, pulls, and application containers
created from a pulled image, through plain proxmoxer."""

from __future__ import annotations

from typing import Any

import pytest
from proxmoxer.core import ResourceException

from tests.sim.test_behaviour_lifecycle import create, wait


def pull(prox: Any, reference: str, **extra: Any) -> dict[str, Any]:
    upid = prox.nodes("pve1").storage("local")("oci-registry-pull").post(reference=reference,
                                                                          **extra)
    return wait(prox, "pve1", upid)


def test_tags_and_pulls(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    tags = prox.nodes("pve1")("query-oci-repo-tags").get(reference="docker.io/library/nginx")
    assert "1.27" in tags and "latest" in tags
    with pytest.raises(ResourceException, match="repository name not known to registry"):
        prox.nodes("pve1")("query-oci-repo-tags").get(reference="example.com/nobody/nothing")
    status = pull(prox, "docker.io/library/nginx:1.27")
    assert status["exitstatus"] == "OK" and status["type"] == "download"
    log = [line["t"] for line in prox.nodes("pve1").tasks(status["upid"]).log.get()]
    assert any(line.startswith("digest: sha256:") for line in log)
    items = {v["volid"]: v for v in prox.nodes("pve1").storage("local").content.get(
        content="vztmpl")}
    assert items["local:vztmpl/nginx_1.27.tar"]["format"] == "tar"
    assert pull(prox, "docker.io/library/nginx:9.99")["exitstatus"].endswith(
        "manifest unknown")
    assert pull(prox, "docker.io/library/redis:7", filename="cache")["exitstatus"] == "OK"
    assert "local:vztmpl/cache.tar" in [v["volid"] for v in prox.nodes("pve1").storage(
        "local").content.get()]


def test_a_moved_tag_pulls_a_new_digest(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    first = pull(prox, "docker.io/library/postgres:17")
    sim_env.sim.extra.setdefault("oci", {}).setdefault("digests", {})[
        "docker.io/library/postgres:17"] = "sha256:" + "1" * 64
    second = pull(prox, "docker.io/library/postgres:17")

    def digest(status: dict[str, Any]) -> str:
        log = prox.nodes("pve1").tasks(status["upid"]).log.get()
        return next(line["t"] for line in log if line["t"].startswith("digest: "))

    assert digest(first) != digest(second) == "digest: sha256:" + "1" * 64


def test_an_application_container_from_a_pulled_image(sim_env: Any) -> None:
    prox = sim_env.proxmoxer()
    assert pull(prox, "docker.io/library/postgres:17")["exitstatus"] == "OK"
    status = create(prox, 140, ostemplate="local:vztmpl/postgres_17.tar",
                    env="POSTGRES_PASSWORD=secret\0PGDATA=/var/lib/postgresql/data")
    assert status["exitstatus"] == "OK"
    log = [line["t"] for line in prox.nodes("pve1").tasks(status["upid"]).log.get()]
    assert "Detected OCI archive" in log
    assert "creating base directory for volume at /var/lib/postgresql/data" in log
    config = prox.nodes("pve1").lxc(140).config.get()
    assert config["entrypoint"] == "docker-entrypoint.sh postgres"
    assert config["env"].split("\0") == ["POSTGRES_PASSWORD=secret",
                                         "PGDATA=/var/lib/postgresql/data"]
    assert (config["ostype"], config["cmode"]) == ("debian", "console")
    assert "host-managed=1" in config["net0"]
    assert ["lxc.signal.halt", "SIGINT"] in config["lxc"]
    assert wait(prox, "pve1", prox.nodes("pve1").lxc(140).status.start.post())[
        "exitstatus"] == "OK"


def test_pve84_has_no_oci(sim_env: Any) -> None:
    sim_env.sim.settings.pve_version = "8.4"
    prox = sim_env.proxmoxer()
    with pytest.raises(ResourceException) as caught:
        prox.nodes("pve1")("query-oci-repo-tags").get(reference="nginx")
    assert caught.value.status_code == 501
