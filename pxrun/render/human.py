"""The human plan: a JSON plan document -> Terraform-like text, plain or with rich markup.

Why from the JSON document and not from the model: the JSON plan is the public format, so
what a person reads and what a tool reads cannot disagree, and a saved plan renders exactly
as it did when it was made. Words and symbols come from `wording`; this module only lays
them out. Colour is the caller's decision: `markup=True` returns rich markup (values
escaped), `markup=False` plain text for logs, files and golden tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pxrun.render import wording as w
from pxrun.render.values import Line, leaf_lines

JsonDoc = dict[str, Any]


class _Ink:
    """Applies styles as rich markup, or not at all."""

    def __init__(self, markup: bool) -> None:
        self.markup = markup
        if markup:
            from rich.markup import escape

            self._escape = escape

    def text(self, text: str) -> str:
        return self._escape(text) if self.markup else text

    def style(self, text: str, style: str) -> str:
        if not self.markup or not style:
            return self.text(text)
        return f"[{style}]{self._escape(text)}[/]"


def render_plan(doc: JsonDoc, *, markup: bool = False) -> str:
    """The whole plan as a person reads it: actions, prunes, drift, unknowns, summary."""
    ink = _Ink(markup)
    out: list[str] = []
    changes = [c for c in doc.get("resource_changes", []) if _key(c) != "no-op"]
    main = [c for c in changes if not c.get("prune")]
    prunes = [c for c in changes if c.get("prune")]
    if main:
        intro = w.INTRO_DESTROY if doc.get("mode") == "destroy" else w.INTRO
        out += [ink.text(intro.format(stack=doc.get("stack", ""))), ""]
        for change in main:
            out += [*_block(change, ink), ""]
    if prunes:
        out += [ink.style(w.PRUNE_HEADING, "bold red"), ""]
        for change in prunes:
            out += [*_block(change, ink), ""]
        out += [ink.style(w.PRUNE_HINT, "red"), ""]
    drift = doc.get("drift", [])
    if drift:
        out += [ink.style(w.DRIFT_HEADING, "bold yellow"), ""]
        for change in drift:
            out += [*_block(change, ink, drift=True), ""]
        out += [ink.text(w.DRIFT_NOTE), ""]
    unknown = doc.get("unknown", [])
    if unknown:
        out += [ink.style(w.UNKNOWN_HEADING, "bold yellow")]
        out += ["  " + ink.style(w.UNKNOWN_ITEM.format(name=u.get("name") or "?", vmid=u["vmid"],
                                                        node=u["node"]), "yellow")
                for u in unknown]
        out.append("")
    out.append(render_summary(doc, markup=markup))
    return "\n".join(out) + "\n"


def render_saved(doc: JsonDoc, path: str, *, markup: bool = False) -> str:
    """A saved plan for review (`pxrun show FILE`): where it came from, the plan, how to
    apply it."""
    ink = _Ink(markup)
    spec = doc.get("spec_path") or w.SAVED_NO_SPEC
    header = w.SAVED_HEADER.format(path=path, stack=doc.get("stack", "?"),
                                   version=doc.get("pxrun_version", "?"), spec=spec)
    footer = "" if doc.get("errored") or not doc.get("changes_present") else (
        "\n" + ink.text(w.SAVED_FOOTER.format(path=path)) + "\n")
    return ink.style(header, "bold") + "\n\n" + render_plan(doc, markup=markup) + footer


def render_summary(doc: JsonDoc, *, markup: bool = False) -> str:
    """The last line: what the plan adds, changes, replaces and destroys (or that it is empty)."""
    ink = _Ink(markup)
    summary = doc.get("summary", {})
    if doc.get("errored"):
        return ink.style(w.ERRORED, "bold red")
    if doc.get("mode") == "refresh-only":
        drifted = int(summary.get("drifted", len(doc.get("drift", []))))
        if not drifted:
            return ink.style(w.NO_DRIFT, "green")
        text = w.DRIFT_SUMMARY.format(drifted=drifted, noun=w.noun(drifted),
                                      verb=w.noun(drifted, "differs", "differ"))
        return ink.style(text, "bold")
    if not doc.get("changes_present"):
        return ink.style(w.NO_CHANGES, "green")
    return ink.style(w.SUMMARY.format(**{k: int(summary.get(k, 0)) for k in
                                         ("add", "change", "replace", "destroy")}), "bold")


def render_diagnostics(doc: JsonDoc, *, markup: bool = False,
                       locate: Callable[[str | None, str | None], str | None] | None = None,
                       ) -> list[str]:
    """Errors and warnings of the plan, one `error: ADDRESS: message` line each (then a hint),
    for stderr. `locate(address, path)`: where the field a diagnostic names was written
    (`file:line:col`), shown first so an editor jumps to the line to change."""
    ink = _Ink(markup)
    lines: list[str] = []
    for diag in doc.get("diagnostics", []):
        error = diag.get("severity") == "error"
        prefix = ink.style(w.ERROR_PREFIX if error else w.WARNING_PREFIX,
                           "bold red" if error else "bold yellow")
        subject = f"{diag['address']}: " if diag.get("address") else ""
        where = locate(diag.get("address"), diag.get("path")) \
            if locate is not None and diag.get("path") else None
        if where:
            subject = f"{where}: {subject}"
        lines.append(f"{prefix} {ink.text(subject + str(diag.get('message', '')))}")
        if diag.get("hint"):
            lines.append(f"{ink.style(w.HINT_PREFIX, 'dim')} {ink.text(str(diag['hint']))}")
    return lines


def _key(change: JsonDoc) -> str:
    return "-then-".join(change.get("actions", ["no-op"]))


def _block(change: JsonDoc, ink: _Ink, *, drift: bool = False) -> Iterator[str]:
    """One container: its headline comment, the reason, what happens around it (taint, a
    rolling replace, snapshot, backup), the symbol line and its fields, then what becomes
    of its data and whether it restarts."""
    key = "read" if drift else _key(change)
    address = str(change["address"])
    style = w.STYLES.get(key, "")
    yield "  " + ink.style("# " + w.HEADLINES.get(_headline(change, key), "{address}: " + key)
                           .format(address=address), "bold")
    reason = _reason(change, key)
    if reason:
        yield "  " + ink.style(f"# {reason}", "dim")
    taint = change.get("taint")
    if isinstance(taint, dict) and not drift:
        text = (w.TAINT_STEP.format(step=taint["step"], log=taint.get("log") or "?")
                if taint.get("step") else w.TAINT)
        yield "  " + ink.style(f"# {text}", "bold yellow")
    for comment in ([] if drift else _around(change, address)):
        yield "  " + ink.style(f"# {comment}", "dim")
    kind, name = _kind(address)
    head = f"{ink.style(w.SYMBOLS.get(key, '?').rjust(3), style)} {kind} " \
           f"{ink.text(_quote(name) + _where(change))}"
    lines = list(_field_lines(change, key))
    if not lines:
        yield head
    else:
        yield head + " {"
        yield from _aligned(lines, ink, migrate=_migration(change))
        yield "    }"
    if drift:
        return
    for op in change.get("operations", []):
        if op.get("op") == "leave_tailnet":
            yield "    " + ink.style("# " + w.TAILNET_NOTE.format(hostname=op["hostname"]),
                                      "dim")
    for text, loud in _data(change):
        yield "    " + ink.style(f"# {text}", "bold red" if loud else "dim")
    yield from _restart(change, key, address, lines, ink)


def _around(change: JsonDoc, address: str) -> Iterator[str]:
    """Comments on what happens around the change: a rolling replace, safety nets."""
    after = list(change.get("roll_after") or [])
    if after:
        yield w.ROLL_AFTER.format(after=", ".join(after),
                                  verb=w.noun(len(after), "is", "are"))
    for op in change.get("operations", []):
        if op.get("op") == "snapshot":
            yield w.SNAPSHOT.format(keep=op.get("keep", 3), rollback=w.SNAPSHOT_ROLLBACK
                                    if op.get("rollback") else "")
        elif op.get("op") == "backup":
            yield w.BACKUP.format(storage=op.get("storage", "?"), address=address)


def _size(size: Any) -> str:
    return f"{size} GiB" if size is not None else w.SIZE_UNKNOWN


def _data(change: JsonDoc) -> Iterator[tuple[str, bool]]:
    """(comment, loud): data volumes the change keeps (reassigned) or destroys."""
    for op in change.get("operations", []):
        if op.get("op") == "reassign":
            target = op.get("target_slot")
            yield w.DATA_KEPT.format(
                slot=op.get("volume"), size=_size(op.get("size_gib")),
                target=w.DATA_KEPT_AS.format(slot=target) if target != op.get("volume")
                else ""), False
    for volume in change.get("data_destroyed", []):
        yield w.DATA_DESTROYED.format(slot=volume.get("slot"),
                                      size=_size(volume.get("size_gib"))), True


def _restart(change: JsonDoc, key: str, address: str, lines: list[Line],
             ink: _Ink) -> Iterator[str]:
    """What was pending before, and whether (and for what) the container restarts."""
    if key != "update":
        return
    pending = list(change.get("pending") or [])
    if pending:
        yield "    " + ink.style("# " + w.PENDING.format(keys=", ".join(pending)), "dim")
    if not change.get("restart_required"):
        return
    marked = any(line.effect == "restart" for line in lines)
    what = w.RESTART_WHAT.get((marked, bool(pending)))
    note = w.RESTART_NOTES.get(str(change.get("restart_policy", "auto")), "")
    if note and what:
        text = note.format(address=address, what=what)
        if note.startswith("{what}"):  # a sentence starts with it
            text = text[:1].upper() + text[1:]
        yield "    " + ink.style("# " + text, "dim")


def _kind(address: str) -> tuple[str, str]:
    """(what it is, its name): `ha_rules.apart` -> (ha_rule, apart); a container's address
    is its name."""
    for prefix, kind in w.KINDS.items():
        if address.startswith(prefix):
            return kind, address[len(prefix):]
    return w.KIND_DEFAULT, address


def _headline(change: JsonDoc, key: str) -> str:
    """Drift of a whole container reads differently from drift of some fields."""
    if key == "read" and change.get("after") is None:
        return "read-missing"
    if key == "read" and change.get("before") is None:
        return "read-unexpected"
    return key


def _reason(change: JsonDoc, key: str) -> str:
    """The reason comment: a known keyword in our words, else the planner's own phrase.
    Left out where the headline or the fields already say it."""
    if key in ("create", "update", "no-op", "read"):
        return ""
    reason = str(change.get("action_reason") or "")
    if reason.startswith(w.SAID_AS_IS):
        return reason
    if reason in w.REASONS:
        return w.BECAUSE.format(reason=w.REASONS[reason])
    return w.AS_GIVEN.format(reason=reason) if reason else ""


def _where(change: JsonDoc) -> str:
    vmid, node = change.get("vmid"), change.get("node")
    if vmid is not None and node:
        return w.WHERE.format(vmid=vmid, node=node)
    if vmid is not None:
        return w.WHERE_VMID.format(vmid=vmid)
    return w.WHERE_NODE.format(node=node) if node else ""


def _field_lines(change: JsonDoc, key: str) -> Iterator[Line]:
    if key == "create":
        after = dict(change.get("after") or {})
        steps = after.pop(PROVISION, None)
        if after.get("vmid") is None and _kind(str(change["address"]))[0] == w.KIND_DEFAULT:
            after["vmid"] = w.KNOWN_AFTER_APPLY
        yield from leaf_lines("add", "", None, after, None)
        if steps:
            yield _steps_line("add", steps)
        return
    if key == "delete":
        return
    for diff in change.get("diffs", []):
        if diff["path"] == PROVISION:  # the list of steps: `new` in a plan, `old` in drift
            new = diff.get("new")
            yield _steps_line(str(diff["op"]), new if isinstance(new, list) else diff.get("old"))
            continue
        yield from leaf_lines(str(diff["op"]), str(diff["path"]), diff.get("old"),
                              diff.get("new"), diff.get("effect"))


PROVISION = "provision"
_STEPS = "steps"  # a Line's effect for the provisioning line (names, not `= value`)


def _steps_line(op: str, labels: Any) -> Line:
    """`~ provision: files[/etc/motd], run[enable nginx]`: the steps that run, by name."""
    names = ", ".join(str(label) for label in labels) if isinstance(labels, list) else ""
    return Line("change" if op == "change" else "add", PROVISION, "", names, _STEPS)


def _migration(change: JsonDoc) -> tuple[str, str, bool]:
    for op in change.get("operations", []):
        if op.get("op") == "migrate":
            return str(op.get("source", "?")), str(op.get("target", "?")), bool(op.get("restart"))
    return "?", "?", False


def _aligned(lines: list[Line], ink: _Ink, *, migrate: tuple[str, str, bool]) -> Iterator[str]:
    """Field lines with the `=` signs lined up, as Terraform does."""
    width = max((len(line.path) for line in lines if line.effect != _STEPS), default=0)
    for line in lines:
        symbol = {"add": "+", "remove": "-", "change": "~"}[line.op]
        colour = {"add": "green", "remove": "red", "change": "yellow"}[line.op]
        if line.effect == _STEPS:
            yield (f"      {ink.style(symbol, colour)} {ink.text(line.path)}: "
                   f"{ink.text(line.new)}")
            continue
        if line.op == "change":
            value = f"{line.old} {w.ARROW} {line.new}"
        else:
            value = line.new if line.op == "add" else line.old
        text = f"      {ink.style(symbol, colour)} {ink.text(line.path.ljust(width))} = " \
               f"{ink.text(value)}"
        note = _note(line.effect, migrate)
        if note:
            text += "  " + ink.style(f"# {note}", "bold red" if line.effect == "replace"
                                     else "dim")
        yield text


def _note(effect: str | None, migrate: tuple[str, str, bool]) -> str:
    if effect is None or effect == "live":
        return ""
    if effect == "migrate" and migrate[2]:
        effect = "migrate_restart"
    return w.EFFECT_NOTES.get(effect, effect).format(old=migrate[0], new=migrate[1])


def _quote(text: str) -> str:
    return f'"{text}"'
