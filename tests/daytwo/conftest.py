"""Day-two tests: the real client against the simulator over HTTPS, as in tests/apply.

`cli_env` points the process environment at the running simulator, so `main(["drift",
...])` connects exactly as a cron job configured by environment variables would.
`parse_metrics` reads Prometheus text with prometheus_client's own parser: what it cannot
parse, node_exporter would reject.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.apply.conftest import Stage, sim_settings, stage  # noqa: F401  (fixtures)
from tests.sim.conftest import SimEnv, sim_env  # noqa: F401  (fixture)


@pytest.fixture
def cli_env(sim_env: SimEnv, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
            tmp_path: Path) -> SimEnv:
    for var in [v for v in __import__("os").environ if v.startswith("PROXMOX_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("PROXMOX_HOST", sim_env.endpoint)
    monkeypatch.setenv("PROXMOX_TOKEN_ID", sim_env.token_id)
    monkeypatch.setenv("PROXMOX_TOKEN_SECRET", sim_env.token_secret)
    monkeypatch.setenv("PROXMOX_CA_FILE", str(sim_env.ca_file))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    return sim_env


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value}; raises on anything that is not valid text
    exposition."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def metric(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]
