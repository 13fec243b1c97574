"""Loading a stack: files -> merged, expanded, rendered data -> one validated `Stack`.

The pipeline (decisions in specs/0011-spec-loading.md):

1. read one file, or every `*.yaml` of a folder (sops-encrypted ones decrypted, pxrun 0.1
   files converted), keeping the source mark of every value (`yamlsrc`);
2. merge the stack keys of all files; `vars` and `defaults` must agree where they overlap;
3. decrypt `secrets:` with sops; render `vars`;
4. per container: expand `count`, merge `defaults` underneath, render `{{ }}`;
5. resolve `depends_on` (`graph`), then validate everything with one pydantic call and map
   each error back to the line it came from (`diagnose`).

Stages 1-3 are here; 4 and 5 are `resolve.StackResolver`.

Every problem of every stage is collected; the load fails once, with all of them, as a
SpecError. Secret values are redacted from every message before it leaves this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pxrun.errors import Diagnostic, SecretsError, SpecError, UsageError
from pxrun.spec import secrets as sops
from pxrun.spec.diagnose import Problem, fold
from pxrun.spec.graph import did_you_mean
from pxrun.spec.legacy import convert, is_legacy
from pxrun.spec.locations import LazyLocations
from pxrun.spec.merge import Layer, StrictUnion
from pxrun.spec.overrides import VarOverride
from pxrun.spec.paths import LocalFileError, resolve_inside
from pxrun.spec.resolve import StackResolver
from pxrun.spec.template import Scope, Unavailable
from pxrun.spec.yamlsrc import MAX_FILE_BYTES, Budget, Mark, SourceDoc, parse_yaml, read_yaml

if TYPE_CHECKING:
    from pxrun.spec.model import Stack

STACK_KEYS = ("version", "stack", "cluster", "vars", "secrets", "defaults", "containers",
              "ha_rules")
SINGLE_KEYS = ("version", "stack", "cluster", "secrets")
MAX_COUNT = 1000
DEFAULT_FILE = "pxrun.yaml"
DEFAULT_FOLDER = "pxrun"


@dataclass(frozen=True)
class LoadedStack:
    """A validated stack and what it was read from."""

    stack: Stack
    files: tuple[Path, ...]
    """The spec files that make up the stack, in merge order."""
    secrets_file: Path | None = None
    locations: Mapping[str, str] = field(default_factory=dict)
    """Container name -> 'file:line:col' of its entry, for later (plan-time) messages;
    also 'name.field' -> where that field of the container was written (or its default)."""
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Every secret the spec may use, by its name in templates -> its value: each value of
    the sops file (`secrets.db.password`) and each environment variable the spec reads
    (`env.TOKEN`), four characters or longer. Plans refer to them by name (specs/0052)."""
    spec_dir: Path = Path()
    """The folder `files[].src`/`template` are relative to (the spec's, or the folder itself)."""
    allow_outside_paths: bool = False
    """Whether files it names may be outside `spec_dir` (`paths.resolve_inside`)."""

    @property
    def secret_strings(self) -> frozenset[str]:
        """The secret values: what output redacts."""
        return frozenset(self.secrets.values())

    def where(self, address: str | None, path: str | None) -> str | None:
        """'file:line:col' of a container's field (its entry when the field was not
        written; None for what the spec does not hold)."""
        if address is None:
            return None
        head = path.split(".", 1)[0] if path else None
        return self.locations.get(f"{address}.{head}") or self.locations.get(address)

    def redact(self, text: str) -> str:
        """`text` with every decrypted secret value replaced by '***'."""
        return sops.redact(text, self.secret_strings)


def default_spec_path(cwd: Path) -> Path:
    """`pxrun.yaml` in `cwd`, else the `pxrun/` folder; a usage error when neither exists."""
    for candidate in (cwd / DEFAULT_FILE, cwd / DEFAULT_FOLDER):
        if candidate.exists():
            return candidate
    raise UsageError(f"no {DEFAULT_FILE} or {DEFAULT_FOLDER}/ folder here",
                     hint="pass the spec with -f FILE_OR_FOLDER")


def _spec_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir()
                      if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
                      and p.is_file())
    return [path]


@dataclass
class Entry:
    """A container as written: its file, name and (for count) replica number."""

    doc: SourceDoc
    name: str
    index: int | None


class Loader:
    def __init__(self, path: Path, environ: Mapping[str, str],
                 overrides: Mapping[str, VarOverride] | None = None,
                 allow_outside: bool = False) -> None:
        self.root = path
        self.spec_dir = path if path.is_dir() else path.parent
        self.allow_outside = allow_outside
        self.budget = Budget()
        self.environ = dict(environ)
        self.overrides = dict(overrides or {})
        self.problems: list[Problem] = []
        self.diags: list[Diagnostic] = []
        self.secret_values: dict[str, str] = {}
        self.groups: dict[str, list[str]] = {}
        """Counted container -> its replicas (none for count: 0), for depends_on."""

    # -- stage 1: files ------------------------------------------------------------------

    def read_files(self) -> list[tuple[Path, SourceDoc]]:
        if not self.root.exists():
            self.diags.append(Diagnostic(str(self.root), 0, 0, "no such file or folder"))
            return []
        files = _spec_files(self.root)
        if not files:
            self.diags.append(Diagnostic(str(self.root), 0, 0, "no *.yaml files in this folder"))
        docs: list[tuple[Path, SourceDoc]] = []
        for file in files:
            doc, problems = read_yaml(str(file), str(file), self.budget)
            self.diags.extend(problems)
            docs.append((file, doc))
        referenced = {(f.parent / d.data["secrets"]).resolve() for f, d in docs
                      if isinstance(d.data, Mapping) and isinstance(d.data.get("secrets"), str)}
        kept = []
        for file, doc in docs:
            if file.resolve() in referenced and len(files) > 1:
                continue  # a folder's secrets file is not a part of the spec
            prepared = self._prepare(file, doc, single=len(files) == 1)
            if prepared is not None:
                kept.append((file, prepared))
        return kept

    def _prepare(self, file: Path, doc: SourceDoc, *, single: bool) -> SourceDoc | None:
        """The document in stack form (decrypted, converted), or None to skip it."""
        if sops.is_encrypted(doc.data):
            doc, problems = parse_yaml(sops.decrypt(file, str(file), self.environ), str(file),
                                       self.budget)
            self.diags.extend(problems)
        if doc.data is None:
            if single and not any(d.file == str(file) for d in self.diags):
                self.diags.append(Diagnostic(str(file), 0, 0, "the spec is empty"))
            return None
        if not isinstance(doc.data, Mapping):
            self.diags.append(doc.mark(()).diagnostic("a spec file must be a mapping of keys"))
            return None
        if is_legacy(doc.data):
            doc, problems = convert(doc)
            self.diags.extend(problems)
        return doc

    # -- stage 2: stack keys ---------------------------------------------------------------

    def stack_keys(self, docs: list[tuple[Path, SourceDoc]]) -> dict[str, tuple[Any, SourceDoc]]:
        """The single-valued stack keys, each with the document that set it."""
        found: dict[str, tuple[Any, SourceDoc]] = {}
        for file, doc in docs:
            for key in doc.data:
                if key not in STACK_KEYS:
                    self.diags.append(doc.key_mark((key,)).diagnostic(
                        f"unknown key {key!r}{did_you_mean(str(key), set(STACK_KEYS))}"))
            for key in SINGLE_KEYS:
                if key not in doc.data:
                    continue
                value = doc.data[key]
                if key == "secrets" and isinstance(value, str):
                    value = (file.parent / value).resolve()
                if key in found and found[key][0] != value:
                    there = found[key][1].mark((key,))
                    self.diags.append(doc.mark((key,)).diagnostic(
                        f"{key} differs from {there.file}:{there.line}:{there.col}; "
                        "files of one stack must agree"))
                found.setdefault(key, (value, doc))
        return found

    def union(self, name: str, docs: list[tuple[Path, SourceDoc]]) -> StrictUnion:
        layers = []
        for _, doc in docs:
            value = doc.data.get(name)
            if value is None:
                continue
            if not isinstance(value, Mapping):
                self.diags.append(doc.mark((name,)).diagnostic(f"{name} must be a mapping"))
                continue
            layers.append(Layer(doc, (name,), name))
        merged, problems = StrictUnion.of(name, layers)
        self.diags.extend(problems)
        return merged

    # -- stage 3: secrets ----------------------------------------------------------------

    def secrets(self, found: dict[str, tuple[Any, SourceDoc]]) -> Any:
        if "secrets" not in found:
            return Scope.wrap({}, "secrets")
        value, doc = found["secrets"]
        if not isinstance(value, Path):
            self.diags.append(doc.mark(("secrets",)).diagnostic(
                "secrets must be the path of a sops-encrypted YAML file"))
            return Unavailable()
        display = str(Path(doc.file).parent / doc.data["secrets"])
        try:
            resolve_inside(Path(doc.file).parent, doc.data["secrets"],
                           allow_outside=self.allow_outside)
        except LocalFileError as exc:
            self.diags.append(doc.mark(("secrets",)).diagnostic(f"secrets: {exc}"))
            return Unavailable()
        if not value.is_file() or value.stat().st_size > MAX_FILE_BYTES:
            self.diags.append(doc.mark(("secrets",)).diagnostic(
                f"secrets file not found: {display}" if not value.is_file() else
                f"secrets file {display} is larger than {MAX_FILE_BYTES >> 20} MiB"))
            return Unavailable()
        parsed, problems = parse_yaml(sops.decrypt(value, display, self.environ), display,
                                      self.budget)
        if problems or not isinstance(parsed.data, Mapping | None):
            raise SecretsError(f"{display}: the decrypted content is not a YAML mapping")
        data = parsed.data or {}
        self.secret_values.update(sops.secret_refs(data, "secrets"))
        return Scope.wrap(data, "secrets")

    # -- stage 4: containers -------------------------------------------------------------

    def entries(self, docs: list[tuple[Path, SourceDoc]]) -> Iterator[tuple[str, Entry, Any]]:
        """(concrete name, entry, raw mapping) for every container, count expanded."""
        seen: dict[str, Mark] = {}
        for _, doc in docs:
            containers = doc.data.get("containers")
            if containers is None:
                continue
            if not isinstance(containers, Mapping):
                self.diags.append(doc.mark(("containers",)).diagnostic(
                    "containers must be a mapping of name: settings"))
                continue
            for name, raw in containers.items():
                here = doc.key_mark(("containers", name))
                body = {} if raw is None else raw
                if not isinstance(body, Mapping):
                    self.diags.append(doc.mark(("containers", name)).diagnostic(
                        f"container {name} must be a mapping of settings"))
                    continue
                for concrete, index in self._expand(doc, str(name), body):
                    if concrete in seen:
                        first = seen[concrete]
                        self.diags.append(here.diagnostic(
                            f"container {concrete} is also defined at "
                            f"{first.file}:{first.line}:{first.col}"))
                        continue
                    seen[concrete] = here
                    yield concrete, Entry(doc, str(name), index), body

    def _expand(self, doc: SourceDoc, name: str,
                body: Mapping[str, Any]) -> list[tuple[str, int | None]]:
        if "count" not in body:
            return [(name, None)]
        count = body["count"]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            self.diags.append(doc.mark(("containers", name, "count")).diagnostic(
                f"{name}: count must be a whole number from 0 to {MAX_COUNT}"))
            return []
        replicas: list[tuple[str, int | None]] = [(f"{name}-{i}", i) for i in range(1, count + 1)]
        self.groups[name] = [concrete for concrete, _ in replicas]
        return replicas


def load_stack(path: Path, *, environ: Mapping[str, str] | None = None,
               var_overrides: Mapping[str, VarOverride] | None = None,
               allow_outside_paths: bool = False) -> LoadedStack:
    """Load, merge, render and validate the stack at `path` (a file or a folder).

    `environ` is what `{{ env.X }}` sees (nothing when None: the caller decides whether the
    process environment is part of the spec's inputs); the sops child process gets the
    process environment with `environ` on top. `var_overrides` (--var, --var-file) replace
    values of the spec's `vars`. Files the spec names (`secrets:`, `files[]` `src`/`template`)
    must be inside its folder unless `allow_outside_paths`. Raises SpecError with every
    problem found, SecretsError when sops cannot decrypt.
    """
    loader = Loader(path, environ or {}, var_overrides, allow_outside_paths)
    docs = loader.read_files()
    stack = StackResolver(loader, docs)
    data = stack.resolve()
    model = stack.validate(data) if docs else None
    if model is not None:
        stack.local_files(model)
        for key, value in sops.secret_fields(model.containers, "containers").items():
            loader.secret_values.setdefault(key, value)
        if model.cluster is not None and not isinstance(model.cluster, str):
            loader.secret_values.update(sops.secret_fields(model.cluster, "cluster"))
    diags = loader.diags + fold(loader.problems)
    secret_strings = set(loader.secret_values.values())
    if secret_strings:
        diags = [Diagnostic(d.file, d.line, d.col, sops.redact(d.message, secret_strings))
                 for d in diags]
    if diags or model is None:
        raise SpecError(diags or [Diagnostic(str(path), 0, 0, "the spec is empty")])
    return LoadedStack(model, tuple(file for file, _ in docs),
                       stack.found["secrets"][0] if "secrets" in stack.found else None,
                       LazyLocations(stack.location_keys, stack.location),
                       dict(sorted(loader.secret_values.items())),
                       loader.spec_dir, allow_outside_paths)
