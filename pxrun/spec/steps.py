"""A container's provisioning steps: their order, readable names, fingerprints, and which run.

Pure (no I/O, no clock), and in the lowest layer on purpose: the planner shows and decides
with it (`~ provision: files[/etc/motd], run[enable nginx]`), and the provision layer runs
exactly the steps it names, so both sides agree on what a step is.

A step's fingerprint is a hash of everything it does: the spec item, the content of files
(inline, `src` bytes or the rendered template), and secret values. A fingerprint is recorded
on the container, which anyone who may read its config can see, so a step whose inputs hold
a secret is fingerprinted with HMAC-SHA256 under a key derived (slowly) from *all* the
stack's secret values and never stored anywhere: the recorded value says nothing about a
weak password unless every secret is guessed at once. Steps without secrets use plain
SHA-256, so rotating a secret re-runs only the steps that use a secret. See spec 0061.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

from pxrun.spec.model_container import Container
from pxrun.spec.model_provision import File, WaitNetwork

if TYPE_CHECKING:
    from pxrun.spec.model import Stack

KINDS = ("network", "locale", "packages", "users", "ssh_keys", "password", "files", "docker",
         "tailscale", "run")
"""Step kinds in the order they run."""
PRECONDITIONS = frozenset({"network"})
"""Kinds that only prepare (never a change of their own): they run when anything runs."""
FINGERPRINT_PREFIX = "p2:"
_KDF_ROUNDS = 100_000
_HASH_CHARS = 12


@dataclass(frozen=True)
class Step:
    """One step: `kind` (from KINDS), `label` (the readable, unique name the plan shows),
    and `item` (the spec object: a User, File, RunStep, ..., or a plain value)."""

    kind: str
    label: str
    item: Any
    when: str = "changed"
    continue_on_error: bool = False


def provision_steps(container: Container) -> list[Step]:
    """The container's steps in the order they run (empty when there is nothing to do).

    Root's password and ssh keys are steps even without a `provision:` block; the network
    wait and the locale fix come with the block.
    """
    prov = container.provision
    root_keys = [*container.ssh_keys, *(prov.ssh_keys if prov else [])]
    steps: list[Step] = []
    if prov is not None:
        if prov.wait_network:
            wait = prov.wait_network if isinstance(prov.wait_network, WaitNetwork) else (
                WaitNetwork())
            steps.append(Step("network", "network", wait))
        if prov.locale:
            steps.append(Step("locale", "locale", prov.locale))
        if prov.packages:
            steps.append(Step("packages", "packages", tuple(prov.packages)))
        steps += [Step("users", f"users[{user.name}]", user) for user in prov.users]
    if root_keys:
        steps.append(Step("ssh_keys", "ssh_keys", tuple(dict.fromkeys(root_keys))))
    if container.password is not None:
        steps.append(Step("password", "password", container.password))
    if prov is not None:
        steps += [Step("files", f"files[{f.dest}]", f) for f in prov.files]
        if prov.docker:
            steps.append(Step("docker", "docker", prov.docker))
        if prov.tailscale is not None:
            steps.append(Step("tailscale", "tailscale", prov.tailscale))
        seen: set[str] = set()
        for index, run in enumerate(prov.run, start=1):
            label = f"run[{run.name or index}]"
            if label in seen:
                label = f"run[{run.name or ''}#{index}]"
            seen.add(label)
            steps.append(Step("run", label, run, run.when, run.continue_on_error))
    if len(steps) == 1 and steps[0].kind in PRECONDITIONS:
        return []
    return steps


# -- file content ---------------------------------------------------------------------------


def template_context(container: Container, base: Mapping[str, Any],
                     file: File) -> dict[str, Any]:
    """What a file template sees: the stack's `vars` and `secrets` (from `base`), the
    container (name, hostname, vmid, node) and the file's own `vars` on top of `vars`."""
    vars_ = {**dict(base.get("vars") or {}), **file.vars}
    node = container.node if isinstance(container.node, str) else None
    return {**base, "vars": vars_,
            "container": {"name": container.name, "hostname": container.hostname or
                          container.name, "vmid": container.vmid, "node": node}}


def file_content(file: File, sources: Mapping[str, bytes], context: Mapping[str, Any]) -> bytes:
    """The bytes a file step writes. `sources` holds the bytes of `src`/`template` paths
    (read by the caller, inside the spec's folder). Raises ValueError for a template that
    does not render (its message names the template)."""
    if file.content is not None:
        return file.content.encode("utf-8")
    path = file.src or file.template or ""
    if path not in sources:
        raise ValueError(f"{path}: not loaded")
    if file.src is not None:
        return sources[path]
    from pxrun.spec.template import Renderer

    try:
        text = sources[path].decode("utf-8")
        return Renderer({}).render_string(text, context).encode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"template {path}: not UTF-8 text") from None
    except ValueError as exc:
        raise ValueError(f"template {path}: {exc}") from None


def step_contents(container: Container, steps: Sequence[Step], sources: Mapping[str, bytes],
                  base: Mapping[str, Any]) -> dict[str, bytes]:
    """label -> bytes of each file step (`file_content` with the container's template
    context). Raises ValueError naming the step when one cannot be made."""
    out: dict[str, bytes] = {}
    for step in steps:
        if step.kind == "files" and isinstance(step.item, File):
            context = template_context(container, base, step.item)
            try:
                out[step.label] = file_content(step.item, sources, context)
            except ValueError as exc:
                raise ValueError(f"{step.label}: {exc}") from None
    return out


def secret_tree(named: Mapping[str, str]) -> dict[str, Any]:
    """The `secrets` a file template sees, rebuilt from the flat names the loader keeps
    (`secrets.db.password`, `secrets.keys[0]` -> {"db": {"password": ...}, "keys": [...]}).
    Values are strings; names outside `secrets.` (environment variables) are left out."""
    root: dict[Any, Any] = {}
    for name, value in named.items():
        if not name.startswith("secrets."):
            continue
        parts: list[Any] = []
        for piece in name[len("secrets."):].split("."):
            head, *indexes = piece.split("[")
            parts += [head, *(int(i.rstrip("]")) for i in indexes if i.rstrip("]").isdigit())]
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            node = node.setdefault(part, {}) if not isinstance(child, dict) else child
        node[parts[-1]] = value
    tree = _lists(root)
    return tree if isinstance(tree, dict) else {}


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _lists(v) for k, v in node.items()}
    if items and all(isinstance(k, int) for k in items) and sorted(items) == list(
            range(len(items))):
        return [items[i] for i in range(len(items))]
    return items


def stack_secrets(stack: Stack, named: Mapping[str, str]) -> frozenset[str]:
    """Every secret value of a stack: the named ones (the sops file, the environment
    variables the spec reads) and the secret fields of its containers (root passwords,
    Tailscale auth keys). What the fingerprint key is made of."""
    found = set(named.values())
    for container in stack.containers.values():
        if container.password is not None:
            found.add(container.password.get_secret_value())
        prov = container.provision
        if prov is not None and prov.tailscale is not None:
            found.add(prov.tailscale.auth_key.get_secret_value())
    return frozenset(s for s in found if s)


# -- fingerprints ---------------------------------------------------------------------------


def fingerprint_key(stack: str, secrets: Iterable[str]) -> bytes:
    """The HMAC key for steps that hold secrets: PBKDF2 over every secret value of the
    stack (sorted), salted with the stack name. Derive it once per run; never store it."""
    material = "\0".join(sorted(set(secrets))).encode("utf-8")
    return hashlib.pbkdf2_hmac("sha256", material, f"pxrun-fingerprint:{stack}".encode(),
                               _KDF_ROUNDS)


@functools.cache
def _holds_secrets(annotation: Any) -> bool:
    """Whether a field of this type can hold a SecretStr (checked once per type)."""
    if annotation is SecretStr:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields: list[Any] = [f.annotation for f in annotation.model_fields.values()]
        return any(_holds_secrets(field) for field in fields)
    return any(_holds_secrets(arg) for arg in typing.get_args(annotation))


def _plain(value: Any, found: set[str]) -> Any:
    """`value` as JSON data with secrets revealed (and collected into `found`)."""
    if isinstance(value, SecretStr):
        found.add(value.get_secret_value())
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        if not _holds_secrets(type(value)):  # the common case: pydantic's own (fast) dump
            return value.model_dump(mode="json")
        return {k: _plain(getattr(value, k), found) for k in type(value).model_fields}
    if isinstance(value, Mapping):
        return {str(k): _plain(v, found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, found) for v in value]
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    return value


Key = bytes | Callable[[], bytes]
"""The HMAC key, or a function that derives it (called only when a step holds a secret)."""


def step_fingerprint(step: Step, key: Key, secrets: frozenset[str] | set[str],
                     content: bytes | None = None) -> str:
    """A short hash of what `step` does (`content`: a file step's bytes)."""
    found: set[str] = set()
    data = {"kind": step.kind, "item": _plain(step.item, found)}
    if content is not None:
        data["content"] = _plain(content, found)
        text_content = content.decode("utf-8", "replace")
        found |= {s for s in secrets if s in text_content}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if found or any(s in text for s in secrets):
        secret = key() if callable(key) else key
        return "k" + hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()[:_HASH_CHARS]
    return "h" + hashlib.sha256(text.encode()).hexdigest()[:_HASH_CHARS]


def step_fingerprints(steps: Sequence[Step], key: Key, secrets: frozenset[str] | set[str],
                      contents: Mapping[str, bytes] | None = None) -> dict[str, str]:
    """label -> fingerprint for every step that can change (preconditions left out).
    `contents` maps a file step's label to its bytes (see `file_content`)."""
    contents = contents or {}
    return {s.label: step_fingerprint(s, key, secrets, contents.get(s.label))
            for s in steps if s.kind not in PRECONDITIONS}


def label_id(label: str) -> str:
    """How a step's label is recorded: 8 hex chars of its SHA-256 (a run step's name may
    hold any character, and the record must stay short)."""
    return hashlib.sha256(label.encode()).hexdigest()[:8]


_label_id = label_id


def encode_fingerprints(fingerprints: Mapping[str, str]) -> str:
    """What is recorded on the container: `p2:<label id>=<fingerprint>,...` (labels hashed,
    because a run step's name may hold any character)."""
    return encode_record({label_id(k): v for k, v in fingerprints.items()})


def encode_record(record: Mapping[str, str]) -> str:
    """A record already keyed by label id (`merged_record`) as the marker holds it."""
    if not record:
        return ""
    return FINGERPRINT_PREFIX + ",".join(f"{k}={v}" for k, v in record.items())


def merged_record(desired: Mapping[str, str], chosen: Iterable[str],
                  succeeded: Mapping[str, str], old: Mapping[str, str] | None,
                  ) -> dict[str, str]:
    """label id -> fingerprint to record after a run.

    `desired`: label -> fingerprint of every step the spec has (the plan's); `chosen`: the
    labels this run was to run; `succeeded`: label -> fingerprint of what actually ran
    (computed at the moment it ran); `old`: the record before. A step that was not chosen
    is recorded as desired (unchanged, or skipped by its `when`); one that ran, as it ran;
    one that failed or never got its turn keeps its old value, so the next plan runs it
    again. Steps the spec no longer has are dropped.
    """
    picked = set(chosen)
    out: dict[str, str] = {}
    for label, fingerprint in desired.items():
        key = label_id(label)
        if label in succeeded:
            out[key] = succeeded[label]
        elif label not in picked:
            out[key] = fingerprint
        elif old is not None and key in old:
            out[key] = old[key]
    return out


def decode_fingerprints(text: str | None) -> dict[str, str] | None:
    """label id -> fingerprint; None when absent or unreadable ("nothing known to have run")."""
    if text is None or not text.startswith(FINGERPRINT_PREFIX):
        return {} if text == "" else None
    found: dict[str, str] = {}
    for item in text[len(FINGERPRINT_PREFIX):].split(","):
        name, sep, value = item.partition("=")
        if not sep or len(name) != 8:
            return None
        found[name] = value
    return found


def steps_to_run(steps: Sequence[Step], desired: Mapping[str, str],
                 recorded: Mapping[str, str] | None, *, first: bool) -> list[Step]:
    """The steps an apply runs, in order.

    `recorded` is what the container carries (`decode_fingerprints`; None when nothing is
    known: everything runs). A step runs when its fingerprint differs from the recorded
    one; `when: always` runs every time; `when: create` only when `first` (the container
    is being created, or finished after a failed creation: then only if it has not run
    yet); `when: changed` (run steps) also when any step before it runs. Preconditions
    run when anything else does.
    """
    chosen: list[Step] = []
    anything = False
    for step in steps:
        if step.kind in PRECONDITIONS:
            continue
        old = None if recorded is None else recorded.get(_label_id(step.label))
        changed = recorded is None or old != desired.get(step.label)
        if step.when == "create":
            run = first and (recorded is None or old is None)
        elif step.when == "always":
            run = True
        else:
            run = changed or (step.kind == "run" and anything)
        if run:
            chosen.append(step)
            anything = True
    if not chosen:
        return []
    return [s for s in steps if s.kind in PRECONDITIONS] + chosen
