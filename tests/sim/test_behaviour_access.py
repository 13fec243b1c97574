"""Users, groups, roles, ACLs and privilege-separated tokens, through plain proxmoxer: who
gets Proxmox's 403 texts, and what the least-privilege token of `sim init` may do."""

from __future__ import annotations

from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from pxrun.sim.auth import init_operator
from tests.sim.test_behaviour_lifecycle import create, wait


def as_token(env: Any, tokenid: str, secret: str) -> Any:
    user, name = tokenid.split("!")
    return ProxmoxAPI(env.host, user=user, token_name=name, token_value=secret,
                      verify_ssl=str(env.ca_file))


def forbidden(call: Any, message: str) -> None:
    with pytest.raises(ResourceException) as caught:
        call()
    assert caught.value.status_code == 403, caught.value
    assert message in str(caught.value)


def test_users_groups_roles_and_acls(sim_env: Any) -> None:
    root = sim_env.proxmoxer()
    create(root, 101)
    create(root, 102)
    root.access.groups.post(groupid="ops", comment="operators")
    root.access.users.post(userid="alice@pve", password="alice-secret-1", groups="ops",
                           email="alice@example.com")
    root.access.roles.post(roleid="Looker", privs="VM.Audit,Sys.Audit,VM.Config.CPU")
    root.access.acl.put(path="/vms/101", roles="Looker", groups="ops")
    alice = sim_env.proxmoxer(user="alice@pve", password="alice-secret-1")
    assert [c["vmid"] for c in alice.nodes("pve1").lxc.get()] == [101]  # 102 is invisible
    assert alice.nodes("pve1").lxc(101).config.get()["hostname"] == "ct101"
    forbidden(alice.nodes("pve1").lxc(102).config.get,
              "Permission check failed (/vms/102, VM.Audit)")
    alice.nodes("pve1").lxc(101).config.put(cores=2)
    forbidden(lambda: alice.nodes("pve1").lxc(102).config.put(cores=2),
              "Permission check failed (/vms/102, VM.Config.Disk|VM.Config.CPU|"
              "VM.Config.Memory|VM.Config.Network|VM.Config.Options)")  # the schema's check
    forbidden(lambda: alice.nodes("pve1").lxc(101).config.put(memory=1024),
              "Permission check failed (/vms/101, VM.Config.Memory)")  # the handler's
    forbidden(alice.nodes("pve1").lxc(101).status.start.post,
              "Permission check failed (/vms/101, VM.PowerMgmt)")
    root.access.acl.put(path="/vms/101", roles="PVEVMAdmin", users="alice@pve")
    alice.nodes("pve1").lxc(101).config.put(memory=1024)  # user entries win over groups
    assert {r["roleid"]: r.get("special") for r in root.access.roles.get()}["Looker"] is None
    assert root.access.roles("PVEAuditor").get()["VM.Audit"] == 1
    with pytest.raises(ResourceException, match="cannot modify special role 'PVEAuditor'"):
        root.access.roles("PVEAuditor").put(privs="VM.Allocate")
    assert root.access.groups("ops").get()["members"] == ["alice@pve"]
    entries = {(e["path"], e["ugid"], e["roleid"]) for e in root.access.acl.get()}
    assert entries == {("/vms/101", "ops", "Looker"), ("/vms/101", "alice@pve", "PVEVMAdmin")}
    perms = alice.access.permissions.get(path="/vms/101")
    assert perms["/vms/101"]["VM.Config.Memory"] == 1
    root.access.acl.put(path="/vms/101", roles="NoAccess", users="alice@pve")
    forbidden(alice.nodes("pve1").lxc(101).config.get,
              "Permission check failed (/vms/101, VM.Audit)")


def test_privilege_separated_tokens_and_pools(sim_env: Any) -> None:
    root = sim_env.proxmoxer()
    create(root, 103)
    root.pools.post(poolid="web")
    root.pools.put(poolid="web", vms="103")
    root.access.users.post(userid="bob@pve")
    root.access.acl.put(path="/pool/web", roles="PVEVMAdmin", users="bob@pve")
    made = root.access.users("bob@pve").token("ci").post(comment="ci")
    assert made["full-tokenid"] == "bob@pve!ci" and made["info"]["privsep"] == 1
    separated = as_token(sim_env, "bob@pve!ci", made["value"])
    forbidden(separated.nodes("pve1").lxc(103).config.get,
              "Permission check failed (/vms/103, VM.Audit)")  # token ACLs: none yet
    root.access.acl.put(path="/vms", roles="PVEAuditor", tokens="bob@pve!ci")
    assert separated.nodes("pve1").lxc(103).config.get()["hostname"] == "ct103"
    forbidden(separated.nodes("pve1").lxc(103).status.start.post,
              "Permission check failed (/vms/103, VM.PowerMgmt)")  # user ∩ token
    full = root.access.users("bob@pve").token("full").post(privsep=0)
    inherits = as_token(sim_env, "bob@pve!full", full["value"])
    upid = inherits.nodes("pve1").lxc(103).status.start.post()  # the pool grants it
    assert wait(inherits, "pve1", upid)["exitstatus"] == "OK"
    mine = inherits.nodes("pve1").tasks.get(source="all")
    assert [t["upid"] for t in mine] == [upid]  # only its own tasks without Sys.Audit
    others = [t["upid"] for t in root.nodes("pve1").tasks.get() if t["upid"] != upid]
    forbidden(inherits.nodes("pve1").tasks(others[0]).status.get,
              "Permission check failed (/nodes/pve1, Sys.Audit)")
    root.access.users("bob@pve").token("ci").delete()
    with pytest.raises(ResourceException) as gone:
        separated.version.get()
    assert gone.value.status_code == 401


def test_sim_init_operator_token_is_least_privilege(sim_env: Any) -> None:
    root = sim_env.proxmoxer()
    tokenid, secret = init_operator(sim_env.state_dir)
    sim_env.server.credentials.__init__(  # the running server rereads auth.json
        sim_env.server.credentials.path,
        __import__("json").loads(sim_env.server.credentials.path.read_text()))
    operator = as_token(sim_env, tokenid, secret)
    assert create(operator, 110)["exitstatus"] == "OK"
    ct = operator.nodes("pve1").lxc(110)
    ct.config.put(memory=1024, cores=2, hostname="op")
    assert wait(operator, "pve1", ct.snapshot.post(snapname="s1"))["exitstatus"] == "OK"
    operator.pools.post(poolid="pxrun-lock-demo")
    perms = operator.access.permissions.get()
    assert "/" not in perms and perms["/vms"]["VM.Allocate"] == 1
    forbidden(lambda: ct.config.put(dev0="/dev/fuse"),
              "configuring device passthrough is only allowed for root@pam")
    forbidden(lambda: operator.access.users.post(userid="eve@pve"),
              "Permission check failed")
    forbidden(operator.cluster.status.get, "Permission check failed (/, Sys.Audit)")
    assert root.cluster.status.get()
