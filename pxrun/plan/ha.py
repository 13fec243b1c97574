"""HA rules of the stack (`ha_rules:`), diffed like containers are. Pure.

A rule of the spec named `apart` is the cluster's rule `pxrun-<stack>-apart`: the prefix
is how pxrun knows the rules it owns (rule ids cannot be renamed, so the name is stable),
and rules without it are never touched. Each rule is a change of its own, addressed
`ha_rules.<name>`: created when missing, rewritten whole when it differs, deleted when it
left the spec (unless `--no-prune`); it depends on its containers, so it is written after
they exist, with their vmids (`HaRuleWrite.resources`: a vmid, or the address of a
container the same apply creates). A rule whose container is replaced is written again
after the replace: purging the old container took it out of the rule.

Managed only when the spec has `ha_rules:` at all (an empty mapping deletes the stack's
rules); without the key, the stack's rules are left as they are, like any unset field.
"""

from __future__ import annotations

from pxrun.observe.model import HaRuleInfo
from pxrun.plan.context import PlanContext
from pxrun.plan.diff import field_diffs
from pxrun.plan.model import Action, FieldDiff, HaRuleWrite, Json, ResourceChange
from pxrun.spec.model import HaRule

PREFIX = "ha_rules."


def rule_id(stack: str, name: str) -> str:
    return f"pxrun-{stack}-{name}"


def plan_ha_rules(ctx: PlanContext, changes: list[ResourceChange]) -> list[ResourceChange]:
    """The changes of the stack's HA rules, after the containers' `changes`."""
    rules = ctx.stack.ha_rules
    if rules is None or ctx.options.mode == "refresh-only":
        return []
    observed = ctx.observed.ha_rules
    if observed is None:
        ctx.error(None, "ha_rules: the cluster's HA rules cannot be read"
                  + (f" ({ctx.observed.ha_problem})" if ctx.observed.ha_problem else ""),
                  "HA rules need Proxmox VE 9 and Sys.Audit on / for the token")
        return []
    owned_prefix = rule_id(ctx.stack.stack, "")
    owned = {rid[len(owned_prefix):]: info for rid, info in observed.items()
             if rid.startswith(owned_prefix)}
    remade = {c.address for c in changes if c.action in (
        Action.CREATE, Action.DELETE_THEN_CREATE, Action.CREATE_THEN_DELETE)}
    destroying = ctx.options.mode == "destroy"
    out: list[ResourceChange] = []
    for name in sorted(set(rules) | set(owned)):
        want = None if destroying else rules.get(name)
        have = owned.get(name)
        if want is None and have is not None:
            if ctx.options.no_prune and not destroying:
                ctx.warn(PREFIX + name, f"HA rule {name} is no longer in the spec; kept "
                                        "because of --no-prune")
                continue
            out.append(_delete(ctx, name, have))
        elif want is not None:
            lost = _unknown_members(ctx, have)
            if lost:
                ctx.warn(PREFIX + name, f"HA rule {name} names container(s) on a node that did "
                                        f"not answer ({lost}); it is left as it is")
                continue
            change = _write(ctx, name, want, have, remade)
            if change is not None:
                out.append(change)
    return out


def _unknown_members(ctx: PlanContext, have: HaRuleInfo | None) -> str:
    """The rule's containers that observe could not see (their node did not answer)."""
    if have is None:
        return ""
    unknown = {g.vmid for g in ctx.observed.unknown}
    return ", ".join(str(v) for v in have.vmids if v in unknown)


def _want_view(rule: HaRule) -> dict[str, Json]:
    return {"type": rule.type, "resources": list(rule.resources),
            "nodes": dict(rule.nodes) if rule.nodes is not None else None,
            "strict": bool(rule.strict), "affinity": rule.affinity,
            "disable": bool(rule.disable), "comment": rule.comment}


def _have_view(ctx: PlanContext, info: HaRuleInfo) -> dict[str, Json]:
    names = {ct.vmid: name for name, ct in ctx.observed.containers.items()}
    return {"type": info.type,
            "resources": [names.get(v, f"ct:{v}") for v in info.vmids] + list(info.others),
            "nodes": dict(info.nodes) if info.nodes is not None else None,
            "strict": info.strict, "affinity": info.affinity, "disable": info.disable,
            "comment": info.comment}


def _write(ctx: PlanContext, name: str, want: HaRule, have: HaRuleInfo | None,
           remade: set[str]) -> ResourceChange | None:
    after = _want_view(want)
    before = _have_view(ctx, have) if have is not None else None
    diffs = field_diffs(before or {}, after) if before is not None else [
        FieldDiff(op="add", path=k, new=v) for k, v in after.items() if v not in (None, False)]
    again = sorted(remade & set(want.resources)) if have is not None else []
    if before is not None and not diffs and not again:
        return None
    ops = []
    action = Action.CREATE if have is None else Action.UPDATE
    if have is not None and have.type != want.type:  # a rule's type cannot change
        action = Action.DELETE_THEN_CREATE
        ops.append(HaRuleWrite(action="delete", rule=rule_id(ctx.stack.stack, name),
                               type=have.type))
    ops.append(HaRuleWrite(action="set", rule=rule_id(ctx.stack.stack, name), type=want.type,
                           set=_values(want), resources=_members(ctx, want, remade)))
    reason = ("not in the cluster: create" if have is None else
              "type changed: delete and create" if action is Action.DELETE_THEN_CREATE else
              "changed: " + ", ".join(d.path for d in diffs) if diffs else
              "written again after " + ", ".join(again) + " is re-created")
    return ResourceChange(address=PREFIX + name, action=action, before=before, after=after,
                          diffs=tuple(diffs), reason=reason, operations=tuple(ops),
                          replace_paths=("type",) if action.is_replace else (),
                          depends_on=tuple(want.resources))


def _delete(ctx: PlanContext, name: str, have: HaRuleInfo) -> ResourceChange:
    return ResourceChange(
        address=PREFIX + name, action=Action.DELETE, before=_have_view(ctx, have),
        reason="no longer in the spec: pruned" if ctx.options.mode != "destroy"
        else "destroy mode", prune=ctx.options.mode != "destroy",
        operations=(HaRuleWrite(action="delete", rule=rule_id(ctx.stack.stack, name),
                                type=have.type),))


def _members(ctx: PlanContext, rule: HaRule, remade: set[str]) -> tuple[int | str, ...]:
    """Each container by the vmid it has and keeps, else by address: one this apply
    creates or re-creates (a replace may give it a new vmid) is resolved by apply."""
    out: list[int | str] = []
    for member in rule.resources:
        have = ctx.observed.containers.get(member)
        out.append(have.vmid if have is not None and member not in remade else member)
    return tuple(out)


def _values(rule: HaRule) -> dict[str, str]:
    """The rule's settings as Proxmox writes them (resources apart: apply fills them in)."""
    values: dict[str, str] = {}
    if rule.nodes is not None:
        values["nodes"] = ",".join(f"{n}:{p}" if p else n for n, p in rule.nodes.items())
    if rule.strict is not None:
        values["strict"] = "1" if rule.strict else "0"
    if rule.affinity is not None:
        values["affinity"] = rule.affinity
    values["disable"] = "1" if rule.disable else "0"
    if rule.comment is not None:
        values["comment"] = rule.comment
    return values
