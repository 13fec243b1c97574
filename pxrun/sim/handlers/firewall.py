"""A container's firewall: options, rules, IP sets, aliases, references and the log.

As pve-firewall's guest API (`/etc/pve/firewall/<vmid>.fw`, kept with the container's runtime
record, so a clone copies it and a destroy drops it): rules are an ordered list addressed by
position (`moveto` reorders), IP sets hold CIDR entries (`nomatch`), aliases name a CIDR, every
write may carry the file's `digest`, and a rule naming an unknown IP set or alias, or deleting
an IP set that still has entries (without `force`) or is used, fails as pve-firewall fails.
The simulator does not filter traffic: the log stays empty.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from pxrun.sim.api import Request, WithTotal, fail, param_error, route
from pxrun.sim.formats import split_list

if TYPE_CHECKING:
    from pxrun.sim.containers import Container
    from pxrun.sim.state import Simulator

FW = "/nodes/{node}/lxc/{vmid}/firewall"
_ALIAS = re.compile(r"^(?:(?:dc|guest)/)?[A-Za-z][A-Za-z0-9\-_]+$")
RULE_KEYS = ("action", "comment", "dest", "dport", "enable", "icmp-type", "iface", "log",
             "macro", "proto", "source", "sport", "type")
OPTION_KEYS = ("dhcp", "enable", "ipfilter", "log_level_in", "log_level_out", "macfilter",
               "ndp", "policy_in", "policy_out", "radv")


def _ct(sim: Simulator, req: Request) -> Container:
    return sim.ct_on(req.params["node"], int(req.params["vmid"]))


def _fw(ct: Container) -> dict[str, Any]:
    fw = ct.firewall
    for key, empty in (("options", {}), ("rules", []), ("ipset", {}), ("aliases", {})):
        if key not in fw:
            dict.__setitem__(fw, key, empty)
    return fw


def _digest(ct: Container) -> str:
    return hashlib.sha1(json.dumps(_fw(ct), sort_keys=True).encode()).hexdigest()


def _check_digest(ct: Container, digest: Any) -> None:
    if digest and digest != _digest(ct):
        raise fail("detected modified configuration - file changed by other user? Try again.")


def _changed(sim: Simulator, ct: Container) -> None:
    ct.touch()
    sim.commit()


@route("GET", FW)
def index(sim: Simulator, req: Request) -> Any:
    return [{"name": n} for n in ("rules", "aliases", "ipset", "refs", "options", "log")]


@route("GET", f"{FW}/options")
def get_options(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        return {**_fw(ct)["options"], "digest": _digest(ct)}


@route("PUT", f"{FW}/options")
def set_options(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        _check_digest(ct, req.params.get("digest"))
        options = _fw(ct)["options"]
        for key in split_list(str(req.params.get("delete") or "")):
            options.pop(key, None)
        options.update({k: req.params[k] for k in OPTION_KEYS if k in req.params})
        _changed(sim, ct)
    return None


def _known_refs(ct: Container, rule: dict[str, Any]) -> None:
    fw = _fw(ct)
    for key in ("source", "dest"):
        value = str(rule.get(key) or "")
        if value.startswith("+"):
            name = value[1:].rsplit("/", maxsplit=1)[-1]
            if name not in fw["ipset"]:
                raise param_error({key: f"no such ipset '{name}'"})
        elif _ALIAS.match(value) and not value.startswith("dc/"):
            name = value.rsplit("/", maxsplit=1)[-1]
            if name not in fw["aliases"]:
                raise param_error({key: f"no such alias '{name}'"})


def _rule_json(rule: dict[str, Any], pos: int) -> dict[str, Any]:
    return {"pos": pos, **rule, "ipversion": 4 if "." in str(rule.get("source", "") or
                                                              rule.get("dest", "")) else None}


@route("GET", f"{FW}/rules")
def list_rules(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        out = []
        for pos, rule in enumerate(_fw(ct)["rules"]):
            item = _rule_json(rule, pos)
            if item["ipversion"] is None:
                del item["ipversion"]
            out.append(item)
        return out


@route("POST", f"{FW}/rules")
def add_rule(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        _check_digest(ct, req.params.get("digest"))
        rule = {k: req.params[k] for k in RULE_KEYS if k in req.params}
        rule.setdefault("enable", 0)
        _known_refs(ct, rule)
        rules = _fw(ct)["rules"]
        pos = int(req.params.get("pos", 0))
        rules.insert(min(pos, len(rules)), rule)
        _changed(sim, ct)
    return None


def _pos(ct: Container, req: Request) -> int:
    pos = req.params.get("pos")
    if pos is None or int(pos) >= len(_fw(ct)["rules"]):
        raise fail("no rule at position {}".format(pos if pos is not None else ""))
    return int(pos)


@route("GET", f"{FW}/rules/{{pos}}")
def get_rule(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        pos = _pos(ct, req)
        item = _rule_json(_fw(ct)["rules"][pos], pos)
        if item["ipversion"] is None:
            del item["ipversion"]
        return item


@route("PUT", f"{FW}/rules/{{pos}}")
def update_rule(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        _check_digest(ct, req.params.get("digest"))
        rules = _fw(ct)["rules"]
        pos = _pos(ct, req)
        rule = dict(rules[pos])
        for key in split_list(str(req.params.get("delete") or "")):
            rule.pop(key, None)
        rule.update({k: req.params[k] for k in RULE_KEYS if k in req.params})
        _known_refs(ct, rule)
        rules[pos] = rule
        if req.params.get("moveto") is not None:
            moved = rules.pop(pos)
            rules.insert(min(int(req.params["moveto"]), len(rules)), moved)
        _changed(sim, ct)
    return None


@route("DELETE", f"{FW}/rules/{{pos}}")
def delete_rule(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        _check_digest(ct, req.params.get("digest"))
        del _fw(ct)["rules"][_pos(ct, req)]
        _changed(sim, ct)
    return None


# -- IP sets ----------------------------------------------------------------------------------


def _ipset(ct: Container, name: str) -> dict[str, Any]:
    found: dict[str, Any] | None = _fw(ct)["ipset"].get(name)
    if found is None:
        raise fail(f"no such IPSet '{name}'")
    return found


@route("GET", f"{FW}/ipset")
def list_ipsets(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        digest = _digest(ct)
        return [{"name": n, "comment": s.get("comment", ""), "digest": digest}
                for n, s in sorted(_fw(ct)["ipset"].items())]


@route("POST", f"{FW}/ipset")
def create_ipset(sim: Simulator, req: Request) -> Any:
    p = req.params
    with sim.lock:
        ct = _ct(sim, req)
        _check_digest(ct, p.get("digest"))
        sets = _fw(ct)["ipset"]
        if p.get("rename"):
            old = _ipset(ct, str(p["rename"]))
            if p["name"] in sets:
                raise fail(f"IPSet '{p['name']}' already exists")
            sets[str(p["name"])] = sets.pop(str(p["rename"]))
            if p.get("comment") is not None:
                old["comment"] = p["comment"]
        else:
            if p["name"] in sets:
                raise fail(f"IPSet '{p['name']}' already exists")
            sets[str(p["name"])] = {"comment": p.get("comment") or "", "entries": []}
        _changed(sim, ct)
    return None


@route("GET", f"{FW}/ipset/{{name}}")
def ipset_entries(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        digest = _digest(ct)
        return [{**e, "digest": digest} for e in _ipset(ct, str(req.params["name"]))["entries"]]


@route("POST", f"{FW}/ipset/{{name}}")
def add_ipset_entry(sim: Simulator, req: Request) -> Any:
    p = req.params
    with sim.lock:
        ct = _ct(sim, req)
        entries = _ipset(ct, str(p["name"]))["entries"]
        cidr = str(p["cidr"])
        if any(e["cidr"] == cidr for e in entries):
            raise fail(f"entry '{cidr}' already exists")
        entry: dict[str, Any] = {"cidr": cidr}
        if p.get("comment"):
            entry["comment"] = p["comment"]
        if p.get("nomatch"):
            entry["nomatch"] = 1
        entries.append(entry)
        _changed(sim, ct)
    return None


@route("DELETE", f"{FW}/ipset/{{name}}")
def delete_ipset(sim: Simulator, req: Request) -> Any:
    name = str(req.params["name"])
    with sim.lock:
        ct = _ct(sim, req)
        ipset = _ipset(ct, name)
        if ipset["entries"] and not req.params.get("force"):
            raise fail(f"IPSet '{name}' is not empty")
        if any(r.get(k) == f"+{name}" for r in _fw(ct)["rules"] for k in ("source", "dest")):
            raise fail(f"IPSet '{name}' is used by a rule")
        del _fw(ct)["ipset"][name]
        _changed(sim, ct)
    return None


def _entry(ct: Container, req: Request) -> dict[str, Any]:
    cidr = str(req.params["cidr"])
    for entry in _ipset(ct, str(req.params["name"]))["entries"]:
        if entry["cidr"] == cidr:
            found: dict[str, Any] = entry
            return found
    raise fail("no such IP/Network")


@route("GET", f"{FW}/ipset/{{name}}/{{cidr}}")
def get_ipset_entry(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        return {**_entry(ct, req), "digest": _digest(ct)}


@route("PUT", f"{FW}/ipset/{{name}}/{{cidr}}")
def update_ipset_entry(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        _check_digest(ct, req.params.get("digest"))
        entry = _entry(ct, req)
        if req.params.get("comment") is not None:
            entry["comment"] = req.params["comment"]
        if req.params.get("nomatch") is not None:
            entry["nomatch"] = int(req.params["nomatch"])
        _changed(sim, ct)
    return None


@route("DELETE", f"{FW}/ipset/{{name}}/{{cidr}}")
def delete_ipset_entry(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        _check_digest(ct, req.params.get("digest"))
        entry = _entry(ct, req)
        _ipset(ct, str(req.params["name"]))["entries"].remove(entry)
        _changed(sim, ct)
    return None


# -- aliases ----------------------------------------------------------------------------------


@route("GET", f"{FW}/aliases")
def list_aliases(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        digest = _digest(ct)
        return [{"name": n, **a, "digest": digest}
                for n, a in sorted(_fw(ct)["aliases"].items())]


@route("POST", f"{FW}/aliases")
def create_alias(sim: Simulator, req: Request) -> Any:
    p = req.params
    with sim.lock:
        ct = _ct(sim, req)
        aliases = _fw(ct)["aliases"]
        if p["name"] in aliases:
            raise fail(f"alias '{p['name']}' already exists")
        aliases[str(p["name"])] = {"cidr": p["cidr"], "comment": p.get("comment") or ""}
        _changed(sim, ct)
    return None


def _alias(ct: Container, name: str) -> dict[str, Any]:
    found: dict[str, Any] | None = _fw(ct)["aliases"].get(name)
    if found is None:
        raise fail(f"no such alias '{name}'")
    return found


@route("GET", f"{FW}/aliases/{{name}}")
def get_alias(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        return {"name": req.params["name"], **_alias(ct, str(req.params["name"])),
                "digest": _digest(ct)}


@route("PUT", f"{FW}/aliases/{{name}}")
def update_alias(sim: Simulator, req: Request) -> Any:
    p = req.params
    with sim.lock:
        ct = _ct(sim, req)
        _check_digest(ct, p.get("digest"))
        alias = _alias(ct, str(p["name"]))
        alias["cidr"] = p["cidr"]
        if p.get("comment") is not None:
            alias["comment"] = p["comment"]
        if p.get("rename"):
            aliases = _fw(ct)["aliases"]
            if p["rename"] in aliases:
                raise fail(f"alias '{p['rename']}' already exists")
            aliases[str(p["rename"])] = aliases.pop(str(p["name"]))
        _changed(sim, ct)
    return None


@route("DELETE", f"{FW}/aliases/{{name}}")
def delete_alias(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        ct = _ct(sim, req)
        _check_digest(ct, req.params.get("digest"))
        _alias(ct, str(req.params["name"]))
        del _fw(ct)["aliases"][str(req.params["name"])]
        _changed(sim, ct)
    return None


@route("GET", f"{FW}/refs")
def refs(sim: Simulator, req: Request) -> Any:
    kind = req.params.get("type")
    with sim.lock:
        fw = _fw(_ct(sim, req))
        out: list[dict[str, Any]] = []
        if kind in (None, "alias"):
            out += [{"type": "alias", "name": n, "ref": n, "scope": "guest",
                     "comment": a.get("comment", "")} for n, a in sorted(fw["aliases"].items())]
        if kind in (None, "ipset"):
            out += [{"type": "ipset", "name": n, "ref": f"+{n}", "scope": "guest",
                     "comment": s.get("comment", "")} for n, s in sorted(fw["ipset"].items())]
        return out


@route("GET", f"{FW}/log")
def log(sim: Simulator, req: Request) -> Any:
    with sim.lock:
        _ct(sim, req)
    return WithTotal([], 0)
