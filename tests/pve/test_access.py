"""Who may write an option (reference A6), table-driven: (key, want, have) -> the paths
that need root@pam. The planner routes by these answers; doctor lists them."""

from __future__ import annotations

from typing import Any

import pytest

from pxrun.pve.config import root_needs
from pxrun.spec.model import Container


def _ct(**fields: Any) -> Container:
    return Container.model_validate({"name": "web", **fields})


CASES: list[tuple[str, str, Container | None, Container | None, list[str]]] = [
    ("unprivileged nesting at create", "features", _ct(features={"nesting": True}), None, []),
    ("unprivileged keyctl at create", "features",
     _ct(features={"nesting": True, "keyctl": True}), None,
     ["features.keyctl: features other than nesting"]),
    ("privileged nesting at create", "features",
     _ct(unprivileged=False, features={"nesting": True}), None,
     ["features.nesting: features of a privileged container"]),
    ("privileged nesting, keyctl, fuse, mknod", "features",
     _ct(unprivileged=False, features={"nesting": True, "keyctl": True, "fuse": True,
                                       "mknod": True}), None,
     [f"features.{f}: features of a privileged container"
      for f in ("fuse", "keyctl", "mknod", "nesting")]),
    ("privileged: even writing flags off", "features",
     _ct(unprivileged=False, features={"nesting": False}), _ct(unprivileged=False),
     ["features: features of a privileged container"]),
    ("unprivileged: keyctl turned off", "features", _ct(features={"keyctl": False}),
     _ct(features={"keyctl": True}), ["features.keyctl: features other than nesting"]),
    ("unprivileged: nesting turned off", "features", _ct(features={"nesting": False}),
     _ct(features={"nesting": True, "fuse": True}),
     ["features.fuse: features other than nesting"]),
    ("unprivileged: nesting only", "features", _ct(features={"nesting": False}),
     _ct(features={"nesting": True}), []),
    ("device set", "dev0", _ct(devices={"dev0": {"path": "/dev/fuse"}}), None,
     ["devices.dev0: device passthrough"]),
    ("device removed", "dev0", _ct(), _ct(devices={"dev0": {"path": "/dev/fuse"}}),
     ["devices.dev0: device passthrough"]),
    ("bind mount set", "mp1", _ct(mounts={"mp1": {"host_path": "/mnt/a", "path": "/a"}}),
     None, ["mounts.mp1: bind mounts"]),
    ("bind mount removed", "mp1", _ct(), _ct(mounts={"mp1": {"host_path": "/mnt/a",
                                                             "path": "/a"}}), []),
    ("volume mount", "mp0", _ct(mounts={"mp0": {"volume": "local-lvm:8", "path": "/a"}}),
     None, []),
    ("hookscript", "hookscript", _ct(hookscript="local:snippets/h.pl"), None,
     ["hookscript: hookscript"]),
    ("memory", "memory", _ct(), None, []),
]


@pytest.mark.parametrize(("key", "want", "have", "expected"),
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_root_needs(key: str, want: Container | None, have: Container | None,
                    expected: list[str]) -> None:
    assert [f"{n.path}: {n.what}" for n in root_needs(key, want, have)] == expected
