"""pxrun(1), written from the commands' own help: one source for --help and the manual.

Why generated: a hand-written manual drifts from the options the code accepts. This walks
the click command tree (every command of the registry, subcommands of groups included),
and lays out each usage line, help text and option as roff `man` macros. Packagers run
`pxrun man > pxrun.1`; a test renders it with groff and checks every option is in it.
"""

from __future__ import annotations

import datetime
import os
import re

import click

from pxrun import __version__

ENVIRONMENT = (
    ("PROXMOX_HOST", "The Proxmox API, https://host:port or host[:port]."),
    ("PROXMOX_TOKEN_ID", "API token id, user@realm!name."),
    ("PROXMOX_TOKEN_SECRET", "API token secret (never a flag: process arguments are public)."),
    ("PROXMOX_VERIFY_SSL", "0 turns TLS verification off (with a warning)."),
    ("PROXMOX_CA_FILE", "CA certificate to verify the cluster with."),
    ("PROXMOX_FINGERPRINT", "SHA-256 fingerprint of the server certificate to pin."),
    ("NO_COLOR", "Any value: no colours and no bold."),
    ("SOPS_AGE_KEY_FILE", "The age key sops decrypts secrets files with."),
)
EXIT_STATUS = (("0", "success, no changes"), ("1", "error"),
               ("2", "changes present (plan --detailed-exitcode)"),
               ("3", "invalid spec or usage"), ("130", "interrupted"))


def roff(text: str) -> str:
    """Text safe in a roff line: backslashes, leading dots, hyphens and non-ASCII escaped."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    return re.sub(r"^([.'])", r"\\&\1", text, flags=re.M)


def _paragraphs(text: str) -> list[str]:
    """click help text -> paragraphs (lines joined, \b blocks kept as they are)."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip() != "\b"]
        if lines:
            out.append(" ".join(lines))
    return out


def _options(ctx: click.Context, command: click.Command) -> list[str]:
    lines: list[str] = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option):
            continue  # arguments are in the usage line
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        lines += [".TP", f"\\fB{roff(names)}\\fR", roff(help_text or "")]
    return lines


def _command(ctx: click.Context, path: str, command: click.Command) -> list[str]:
    sub_ctx = click.Context(command, info_name=path, parent=ctx)
    usage = " ".join(command.collect_usage_pieces(sub_ctx))
    lines = [f".SS {roff(path)}", f".B pxrun {roff(path)}", roff(usage), ".PP"]
    for para in _paragraphs(command.help or command.short_help or ""):
        lines += [roff(para), ".PP"]
    lines += _options(sub_ctx, command)
    if isinstance(command, click.Group):
        for name in command.list_commands(sub_ctx):
            sub = command.get_command(sub_ctx, name)
            if sub is not None and not sub.hidden:
                lines += _command(sub_ctx, f"{path} {name}", sub)
    return lines


def render_manpage(cli: click.Group, *, date: datetime.date | None = None) -> str:
    """The manual page as roff text."""
    ctx = click.Context(cli, info_name="pxrun")
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")  # reproducible builds
    today = (datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).date()
             if epoch.isdigit() else datetime.date.today())
    when = (date or today).isoformat()
    head = _paragraphs(cli.help or "")
    lines = [f'.TH PXRUN 1 "{when}" "pxrun {__version__}" "User Commands"',
             ".SH NAME", "pxrun \\- " + roff(head[0].removeprefix("pxrun: ")),
             ".SH SYNOPSIS", ".B pxrun", "[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR "
             "[\\fIOPTIONS\\fR] [\\fIARGS\\fR]", ".SH DESCRIPTION"]
    for para in head[1:]:
        lines += [roff(para), ".PP"]
    lines += [".SH GLOBAL OPTIONS", "These work before or after the command name."]
    lines += _options(ctx, cli)
    lines.append(".SH COMMANDS")
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        if command is not None and not command.hidden:
            lines += _command(ctx, name, command)
    lines.append(".SH ENVIRONMENT")
    for name, what in ENVIRONMENT:
        lines += [".TP", f"\\fB{roff(name)}\\fR", roff(what)]
    lines.append(".SH EXIT STATUS")
    for code, what in EXIT_STATUS:
        lines += [".TP", f"\\fB{code}\\fR", roff(what)]
    lines += [".SH FILES", ".TP", "\\fB~/.config/pxrun/clusters.yaml\\fR",
              "Connection profiles (\\-\\-cluster NAME).", ".TP", "\\fB.pxrun/sim/\\fR",
              "State of the \\-\\-sim simulator.", ".TP", "\\fB.env\\fR",
              "PROXMOX_* settings read from the working directory.",
              ".SH SEE ALSO", "pxrun completion \\-\\-help; the README and specs/ of pxrun."]
    return "\n".join(lines) + "\n"
