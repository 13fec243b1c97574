"""What a tag points to now, from a registry: URLs per registry and mirror, and the digest
from the simulator's catalog served as a mirror (the same digest its pulls report)."""

from __future__ import annotations

import pytest

from pxrun.connect.registry import RegistryError, manifest_digest, manifest_url
from pxrun.sim import oci
from tests.sim.conftest import SimEnv, sim_env  # noqa: F401  (re-exported fixture)


@pytest.mark.parametrize(("reference", "mirror", "url"), [
    ("docker.io/library/nginx:1.27", None,
     "https://registry-1.docker.io/v2/library/nginx/manifests/1.27"),
    ("ghcr.io/home-assistant/home-assistant:stable", None,
     "https://ghcr.io/v2/home-assistant/home-assistant/manifests/stable"),
    ("registry.lan:5000/team/app:2", None, "https://registry.lan:5000/v2/team/app/manifests/2"),
    ("docker.io/library/nginx:1.27", "https://mirror.lan/",
     "https://mirror.lan/v2/docker.io/library/nginx/manifests/1.27"),
])
def test_manifest_urls(reference: str, mirror: str | None, url: str) -> None:
    assert manifest_url(reference, mirror) == url


@pytest.mark.integration
def test_the_simulators_mirror_answers_what_a_pull_would_report(
        sim_env: SimEnv) -> None:  # noqa: F811
    reference = "docker.io/library/nginx:1.27"
    digest = manifest_digest(reference, mirror=sim_env.endpoint, ca_file=sim_env.ca_file)
    assert digest == oci.digest(sim_env.sim, "docker.io/library/nginx", "1.27")
    sim_env.sim.extra.setdefault("oci", {}).setdefault("digests", {})[reference] = (
        "sha256:" + "d" * 64)
    assert manifest_digest(reference, mirror=sim_env.endpoint,
                           ca_file=sim_env.ca_file) == "sha256:" + "d" * 64
    with pytest.raises(RegistryError, match="the registry answered 404"):
        manifest_digest("docker.io/library/nginx:9.99", mirror=sim_env.endpoint,
                        ca_file=sim_env.ca_file)
    with pytest.raises(RegistryError, match="cannot be reached"):
        manifest_digest(reference, mirror="https://127.0.0.1:9", timeout=2)
