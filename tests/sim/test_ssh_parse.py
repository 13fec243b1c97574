"""`pct` command lines as the node endpoint reads them: table-driven, no server."""

from __future__ import annotations

import pytest

from pxrun.sim import pct
from pxrun.sim.rootfs import distro_for

PARSED = [
    ("pct exec 101 -- sh -c 'cat > /etc/x'", pct.Exec(101, ("sh", "-c", "cat > /etc/x"))),
    ("pct exec 101 ls -l", pct.Exec(101, ("ls", "-l"))),
    ("/usr/sbin/pct exec 101 --keep-env 0 -- env", pct.Exec(101, ("env",), keep_env=False)),
    ("export A=1 B=x && pct exec 101 -- env", pct.Exec(101, ("env",), env={"A": "1", "B": "x"})),
    ("pct push 101 /tmp/a /etc/a --perms 0600 --user app",
     pct.Transfer("push", 101, "/tmp/a", "/etc/a", "0600", "app", None)),
    ("pct pull 101 /etc/a /tmp/a -group=adm",
     pct.Transfer("pull", 101, "/etc/a", "/tmp/a", group="adm")),
    ("pct status 101", pct.Status(101)),
    ("pct status 101 --verbose", pct.Status(101, verbose=True)),
    ("mkdir -p /tmp/x && cat > /tmp/x/y", pct.Shell("mkdir -p /tmp/x && cat > /tmp/x/y")),
    ("echo 'unbalanced", pct.Shell("echo 'unbalanced")),
    # A non-root node login becomes root with sudo (Ansible's proxmox_pct_remote does).
    ("sudo -H -S -n /usr/sbin/pct exec 101 -- id", pct.Exec(101, ("id",))),
    ("sudo -u root -- pct status 101", pct.Status(101)),
    ("sudo -u alice pct status 101", pct.Shell("sudo -u alice pct status 101")),
    ("sudo ls /", pct.Shell("sudo ls /")),
    # lists and pipes run in the node's shell, where /usr/sbin/pct is a command
    ("pct push 101 /a /b && rm /a", pct.Shell("pct push 101 /a /b && rm /a")),
    ("export A=1 && pct status 101 | cat", pct.Shell("export A=1 && pct status 101 | cat")),
    # pct set: every option takes a value; validation is the server's (handlers.config)
    ("pct set 101 --features keyctl=1,nesting=1 --mp1 /mnt/media,mp=/media",
     pct.Set(101, (("features", "keyctl=1,nesting=1"), ("mp1", "/mnt/media,mp=/media")))),
    ("pct set 101 -dev0=/dev/fuse --delete hookscript,dev1",
     pct.Set(101, (("dev0", "/dev/fuse"), ("delete", "hookscript,dev1")))),
    ("sudo -n pct set 101 --hookscript 'local:snippets/hook.sh'",
     pct.Set(101, (("hookscript", "local:snippets/hook.sh"),))),
    ("pct set 101 --cpulimit -1", pct.Set(101, (("cpulimit", "-1"),))),
    ("pct set 101", pct.Set(101, ())),  # the handler answers "no options specified"
]


@pytest.mark.parametrize(("line", "expected"), PARSED)
def test_parse(line: str, expected: pct.Command) -> None:
    assert pct.parse(line) == expected


ERRORS = [
    ("pct exec 101", "missing command\n"),
    ("pct exec abc -- true", "400 Parameter verification failed.\nvmid: invalid format"),
    ("pct push 101 /a", "400 not enough arguments\npct push <vmid> <file> <destination>"),
    ("pct start 101", "ERROR: unknown command 'pct start'"),
    ("pct push 101 /a /b --mode 1", "400 Parameter verification failed.\nmode: property is"),
    ("pct set", "400 not enough arguments\npct set <vmid> [OPTIONS]"),
    ("pct set 101 102 --cores 2", "400 too many arguments\npct set <vmid>"),
    ("pct set 101 --cores", "400 missing value for option 'cores'\npct set <vmid>"),
    ("pct set 101 --cores 1 --cores 2", "400 Parameter verification failed.\ncores: duplicate"),
    ("pct set x1 --cores 2", "400 Parameter verification failed.\nvmid: invalid format"),
]


@pytest.mark.parametrize(("line", "message"), ERRORS)
def test_parse_errors_speak_like_pct(line: str, message: str) -> None:
    with pytest.raises(pct.PctError) as caught:
        pct.parse(line)
    assert caught.value.message.startswith(message)
    assert caught.value.status == 255


@pytest.mark.parametrize(("ostype", "template", "expected"), [
    ("debian", "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst", ("debian", "13", "apt")),
    ("ubuntu", "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
     ("ubuntu", "24.04", "apt")),
    ("alpine", "local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz",
     ("alpine", "3.22", "apk")),
    ("centos", "local:vztmpl/rockylinux-9-default_20240912_amd64.tar.xz",
     ("rockylinux", "9", "dnf")),
    ("alpine", None, ("alpine", "3.20", "apk")),
    (None, None, ("debian", "12", "apt")),
])
def test_distribution_comes_from_the_template(ostype: str | None, template: str | None,
                                              expected: tuple[str, str, str]) -> None:
    distro = distro_for(ostype, template)
    assert (distro.id, distro.version, distro.family) == expected
    assert f"ID={expected[0]}\n" in distro.os_release()


def test_resolve_inside_never_leaves_the_root(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "link").symlink_to("/../../outside")
    assert pct.resolve_inside(root, "/etc/link") == root / "outside"
    assert pct.resolve_inside(root, "../../etc/passwd") == root / "etc" / "passwd"
