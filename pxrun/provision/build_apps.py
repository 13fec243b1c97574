"""The application steps as actions: files, Docker, Tailscale and `run` scripts; and `build`,
which turns any step into its actions.

Pure like `build.py`. Secrets stay out of every script: Tailscale's auth key is written from
stdin into a root-only temporary file that `tailscale up --auth-key=file:…` reads and the
script removes; a run step's environment and body travel on stdin into a private directory
that is removed when the step ends.
"""

from __future__ import annotations

import hashlib
import shlex

from pydantic import SecretStr

from pxrun.provision import build
from pxrun.provision.actions import (
    Action,
    Exec,
    StepError,
    enable_service,
    ensure_command,
    env_exports,
    install_script,
    q,
    qjoin,
)
from pxrun.provision.build import BuildContext
from pxrun.spec.model_provision import DockerOptions, File, RunStep, Tailscale
from pxrun.spec.steps import Step

RUN_TIMEOUT_GRACE = 15.0
"""Seconds the transport waits beyond a run step's own `timeout` (which the container's
`timeout` command enforces) before it gives up on the channel."""


def files(spec: File, ctx: BuildContext, label: str) -> list[Action]:
    if label not in ctx.contents:
        raise StepError(f"{label}: the file's content was not prepared")
    return build.put_file(spec.dest, ctx.contents[label], spec.mode, spec.owner, spec.group)


def docker(spec: bool | DockerOptions, ctx: BuildContext) -> list[Action]:
    """Docker Engine (+ the compose plugin) from Docker's install script on apt/dnf
    systems, from the distribution on Alpine and Arch; enabled, started, checked."""
    opts = spec if isinstance(spec, DockerOptions) else DockerOptions()
    facts = ctx.facts
    lines = ["set -e"]
    if facts.family in ("apt", "dnf"):
        compose_pkg = "docker-compose-plugin"
        lines += ["if ! command -v docker >/dev/null 2>&1; then",
                  "    " + ensure_command(facts, "curl"),
                  "    curl -fsSL https://get.docker.com | sh", "fi"]
    elif facts.family == "apk":
        compose_pkg = "docker-cli-compose"
        lines.append("command -v docker >/dev/null 2>&1 || " + install_script(facts, ["docker"]))
    elif facts.family == "pacman":
        compose_pkg = "docker-compose"
        lines.append("command -v docker >/dev/null 2>&1 || " + install_script(facts, ["docker"]))
    else:
        raise StepError(f"docker: no installation known for {facts.os_id!r}")
    lines.append(enable_service(facts, "docker"))
    if opts.compose:
        lines.append("docker compose version >/dev/null 2>&1 || "
                     + install_script(facts, [compose_pkg]))
    for user in opts.users:
        lines.append(f"usermod -a -G docker {q(user)} 2>/dev/null || addgroup {q(user)} docker")
    lines.append("docker version >/dev/null")
    return [Exec("\n".join(lines) + "\n", what="docker engine"
                 + (" + compose" if opts.compose else ""))]


def tailscale(spec: Tailscale, ctx: BuildContext) -> list[Action]:
    """Install Tailscale, start tailscaled, and `tailscale up` with the auth key in a file."""
    facts = ctx.facts
    install = ["set -e", "if ! command -v tailscale >/dev/null 2>&1; then"]
    if facts.family == "apk":
        install.append("    " + install_script(facts, ["tailscale"]))
    else:
        install += ["    " + ensure_command(facts, "curl"),
                    "    curl -fsSL https://tailscale.com/install.sh | sh"]
    install += ["fi", enable_service(facts, "tailscaled", "tailscale")]
    args = ["--reset", f"--hostname={spec.hostname or ctx.hostname}"]
    if spec.tags:
        args.append("--advertise-tags=" + ",".join(spec.tags))
    if spec.accept_routes:
        args.append("--accept-routes")
    if spec.advertise_routes:
        args.append("--advertise-routes=" + ",".join(spec.advertise_routes))
    args += spec.extra_args
    up = f"""set -e
umask 077
key=$(mktemp /run/pxrun-tskey.XXXXXX 2>/dev/null || mktemp /tmp/pxrun-tskey.XXXXXX)
trap 'rm -f "$key"' EXIT
cat > "$key"
tailscale up --auth-key="file:$key" {qjoin(args)}
"""
    key = spec.auth_key.get_secret_value()
    if spec.ephemeral and key.startswith("tskey-client-") and "?" not in key:
        key += "?ephemeral=true&preauthorized=true"
    return [Exec("\n".join(install) + "\n", what="install tailscale"),
            Exec(up, stdin=key.encode(), what=f"tailscale up {' '.join(args)}")]


def run(spec: RunStep, ctx: BuildContext, timeout: float) -> list[Action]:
    """A script or command: its body and environment go on stdin into a private directory
    (`0700`, removed afterwards), then the interpreter runs it there with stdin closed."""
    body = spec.script if spec.script is not None else (spec.command or "") + "\n"
    if not body.endswith("\n"):
        body += "\n"
    marker = "PXRUN_EOF_" + hashlib.sha256(body.encode()).hexdigest()[:16]
    while f"\n{marker}\n" in "\n" + body:
        marker += "_"
    interpreter = shlex.split(spec.interpreter) if spec.interpreter else ["/bin/sh"]
    limit = spec.timeout
    call = f'{qjoin(interpreter)} "$d/script" </dev/null'
    if limit is not None:
        call = (f'if command -v timeout >/dev/null 2>&1; then timeout -k 10 {limit} {call}; '
                f"else {call}; fi")
    bundle = (f"cat > \"$d/script\" <<'{marker}'\n{body}{marker}\n"
              + env_exports(spec.env)
              + (f"cd {q(spec.cwd)} || exit 1\n" if spec.cwd else "")
              + call + "\n")
    wrapper = ("umask 077\nd=$(mktemp -d /tmp/pxrun-run.XXXXXX) || exit 1\n"
               "trap 'rm -rf \"$d\"' EXIT\ncat > \"$d/bundle\" && . \"$d/bundle\"\n")
    what = spec.name or (spec.command or spec.script or "").strip().splitlines()[0][:60]
    return [Exec(wrapper, stdin=bundle.encode(), what=f"run {what}",
                 timeout=(limit + RUN_TIMEOUT_GRACE) if limit is not None else timeout)]


def actions_for(step: Step, ctx: BuildContext, timeout: float) -> list[Action]:
    """The actions of any step (see `spec.steps.provision_steps`)."""
    item = step.item
    if step.kind == "network":
        return build.network(item, ctx)
    if step.kind == "locale":
        return build.locale(item, ctx)
    if step.kind == "packages":
        return build.packages(item, ctx)
    if step.kind == "users":
        return build.user(item, ctx)
    if step.kind == "ssh_keys":
        return build.root_keys(item, ctx)
    if step.kind == "password":
        secret = item.get_secret_value() if isinstance(item, SecretStr) else str(item)
        return build.password(secret, ctx)
    if step.kind == "files":
        return files(item, ctx, step.label)
    if step.kind == "docker":
        return docker(item, ctx)
    if step.kind == "tailscale":
        return tailscale(item, ctx)
    if step.kind == "run":
        return run(item, ctx, timeout)
    raise StepError(f"unknown provisioning step {step.kind!r}")
