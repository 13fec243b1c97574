"""`pxrun create`'s questions: at most five, each with a default, each answered in one line.

1. hostname; 2. template, from a numbered list (downloaded first, then the catalog);
3. node, from a numbered list with free memory and CPUs (default: auto);
4. resources, `cores memory disk` or `key=value` words (`4 2048 20 on local-lvm`);
5. network, `dhcp` or `ADDRESS/PREFIX GATEWAY`, optionally `on BRIDGE` (`vlan=20`).

A question whose answer came as a flag is not asked. An answer that cannot be read is
asked again (same question, not a new one) with the reason. The parsers are pure, so
tests check them with plain strings; the values stay text here and are validated by the
spec model, whose diagnostics name units and choices.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from pxrun.cli.prompting import ask
from pxrun.errors import UsageError

if TYPE_CHECKING:
    from pxrun.observe.model import Observed

TRIES = 3
RESOURCE_KEYS = ("cores", "memory", "disk", "swap", "storage")
NETWORK_KEYS = ("ip", "gw", "bridge", "vlan")
_ALIASES = {"gateway": "gw", "mem": "memory", "cpu": "cores", "cpus": "cores"}


@dataclass
class Answers:
    """What the questions (or flags) said; None = not given, the defaults apply."""

    hostname: str | None = None
    template: str | None = None
    node: str | None = None
    resources: dict[str, str] = field(default_factory=dict)
    network: dict[str, str] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    """The questions asked, in order (at most five)."""


def _words(answer: str) -> list[str]:
    return answer.replace(",", " ").split()


def _keyed(words: list[str], keys: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """`key=value` words (and `on X` for the last key's place) -> mapping; the rest."""
    from pxrun.spec.graph import did_you_mean

    found: dict[str, str] = {}
    rest: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            rest.append(word)
            continue
        key = _ALIASES.get(key.lower(), key.lower())
        if key not in keys:
            raise UsageError(f"unknown setting {key!r}{did_you_mean(key, set(keys))}; "
                             f"one of {', '.join(keys)}")
        found[key] = value
    return found, rest


def _on(rest: list[str], found: dict[str, str], key: str, example: str) -> list[str]:
    """`on NAME` among the words sets `key`; the other words are returned."""
    if "on" not in rest:
        return rest
    at = rest.index("on")
    if at + 1 >= len(rest):
        raise UsageError(f"'on' needs a {key} name, {example}")
    found[key] = rest[at + 1]
    return rest[:at] + rest[at + 2:]


def _checked(values: dict[str, str], model_name: str) -> dict[str, str]:
    """`values` if the spec's model accepts them (UsageError in the user's words if not)."""
    from pydantic import ValidationError

    from pxrun.spec import model as spec_model
    from pxrun.spec.diagnose import plain_message

    model = getattr(spec_model, model_name)
    try:
        model.model_validate(values)
    except ValidationError as exc:
        raise UsageError("; ".join(plain_message(e, model) for e in exc.errors())) from None
    return values


def check_resources(answer: str) -> dict[str, str]:
    """parse_resources, then the spec's own checks (units, ranges)."""
    found = parse_resources(answer)
    _checked({k: v for k, v in found.items() if k != "storage"}, "Resources")
    return found


def check_network(answer: str) -> dict[str, str]:
    """parse_network, then the spec's own checks (addresses, VLAN range)."""
    return _checked(dict(parse_network(answer)), "Network")


def parse_resources(answer: str) -> dict[str, str]:
    """`4 2048 20 on local-lvm`, `cores=4 memory=2G`, or '' (defaults) -> settings. Pure."""
    found, rest = _keyed(_words(answer), RESOURCE_KEYS)
    rest = _on(rest, found, "storage", "e.g. 2 1024 10 on local-lvm")
    if len(rest) > 3:
        raise UsageError("give at most cores, memory (MiB) and disk (GiB), e.g. 2 1024 10")
    for key, value in zip(("cores", "memory", "disk"), rest, strict=False):
        found.setdefault(key, value)
    return found


def parse_network(answer: str) -> dict[str, str]:
    """`dhcp`, `10.0.0.5/24 10.0.0.1`, `ip=... gw=... on vmbr1 vlan=20` or '' -> settings."""
    found, rest = _keyed(_words(answer), NETWORK_KEYS)
    rest = _on(rest, found, "bridge", "e.g. dhcp on vmbr0")
    if len(rest) > 2:
        raise UsageError("give dhcp, or an address/prefix and a gateway, e.g. "
                         "10.0.0.5/24 10.0.0.1")
    for key, value in zip(("ip", "gw"), rest, strict=False):
        found.setdefault(key, value)
    return found


def parse_choice(answer: str, options: list[str]) -> str:
    """A number from the list (1-based) or a name, as typed. Pure."""
    if answer.isdigit():
        index = int(answer)
        if not 1 <= index <= len(options):
            raise UsageError(f"choose 1 to {len(options)}, or type a name")
        return options[index - 1]
    return answer


def check_hostname(answer: str) -> str:
    """The hostname if the spec would accept it (UsageError with the spec's reason)."""
    from pydantic import TypeAdapter, ValidationError

    from pxrun.spec.rules import Hostname

    try:
        return str(TypeAdapter(Hostname).validate_python(answer))
    except ValidationError as exc:
        raise UsageError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None


def _until(question: str, parse: Callable[[str], Any], *, default: str, flag: str) -> Any:
    """Ask until `parse` accepts the answer (at most TRIES times)."""
    for attempt in range(TRIES):
        answer = ask(question, default=default, flag=flag)
        try:
            return parse(answer)
        except UsageError as exc:
            if attempt == TRIES - 1:
                raise
            click.echo(f"  {exc.message}", err=True)
    raise AssertionError("unreachable")


def template_choices(observed: Observed) -> list[tuple[str, str]]:
    """(shorthand, where) for the template question: downloaded ones first, newest first
    within a distribution, then what the catalog can download (system templates only)."""
    from pxrun.cli.cmd_templates import template_rows

    rows = template_rows(observed)
    here = [r for r in rows if r.downloaded]
    there = [r for r in rows if not r.downloaded and r.section == "system"]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for group, label in ((here, "on {nodes}"), (there, "from the catalog (downloaded first)")):
        for r in group:
            if r.shorthand in seen:
                continue
            seen.add(r.shorthand)
            nodes = ", ".join(sorted({n for n, _, _ in r.downloaded}))
            out.append((r.shorthand, label.format(nodes=nodes)))
    return out


def default_template(observed: Observed) -> str:
    """The template used when none is chosen: the newest Debian the nodes have, else the
    newest Debian of the catalog, else the first choice, else debian-12."""
    choices = template_choices(observed)
    downloaded = [short for short, where in choices if where.startswith("on ")]
    every = [short for short, _ in choices]
    for pool in (downloaded, every):
        debian = [c for c in pool if c.startswith("debian-")]
        if debian:
            return max(debian, key=_natural)
    return every[0] if every else "debian-12"


def _natural(text: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"\d+|\D+", text)]


def node_lines(observed: Observed) -> list[tuple[str, str]]:
    """(node, what it has free) for the node question, online nodes only."""
    out = []
    for name in sorted(observed.nodes):
        info = observed.nodes[name]
        if not info.online:
            continue
        out.append((name, f"{info.mem_free / 2**30:.1f} of {info.mem_total / 2**30:.1f} GiB "
                          f"memory free, {info.maxcpu} CPUs {info.cpu:.0%} busy, "
                          f"{info.containers} containers"))
    return out


def ask_missing(answers: Answers, observed: Observed) -> Answers:
    """Ask each question whose answer no flag gave; the defaults come from the cluster."""
    if answers.hostname is None:
        answers.asked.append("hostname")
        answers.hostname = _until("Hostname", check_hostname, default="", flag="--hostname")
    if answers.template is None:
        choices = template_choices(observed)
        default = default_template(observed)
        click.echo("Templates:", err=True)
        for i, (short, where) in enumerate(choices, 1):
            click.echo(f"  {i:>2}) {short:<16} {where}", err=True)
        answers.asked.append("template")
        answers.template = _until("Template (number or name)",
                                  lambda a: parse_choice(a, [s for s, _ in choices]),
                                  default=default, flag="--template")
    if answers.node is None:
        nodes = node_lines(observed)
        click.echo("Nodes:", err=True)
        click.echo("   0) auto             pxrun picks the node with the most free memory",
                   err=True)
        for i, (name, free) in enumerate(nodes, 1):
            click.echo(f"  {i:>2}) {name:<16} {free}", err=True)
        answers.asked.append("node")
        answers.node = _until("Node (number or name)",
                              lambda a: "auto" if a == "0" else parse_choice(
                                  a, [n for n, _ in nodes]),
                              default="auto", flag="--node")
    if not answers.resources:
        answers.asked.append("resources")
        answers.resources = _until("Resources: cores, memory (MiB), disk (GiB) [on STORAGE]",
                                   check_resources, default="2 1024 10 on local-lvm",
                                   flag="--cores/--memory/--disk")
    if not answers.network:
        answers.asked.append("network")
        answers.network = _until("Network: dhcp, or ADDRESS/PREFIX GATEWAY [on BRIDGE]",
                                 check_network, default="dhcp on vmbr0",
                                 flag="--ip/--gateway/--bridge")
    return answers
