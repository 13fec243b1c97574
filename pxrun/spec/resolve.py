"""Stages 4 and 5 of loading a stack (specs/0011): every container resolved (count expanded,
defaults merged underneath, `{{ }}` rendered, secrets and derived values tracked), then the
whole stack validated in one pydantic call, each error mapped back to where it was written.

Why its own module: `load.py` reads and merges the files (stages 1-3); this is the part that
knows containers, and together they were past the size a reader holds in mind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pxrun.spec import secrets as sops
from pxrun.spec.derived import Secrecy, Shadow, ref_name
from pxrun.spec.diagnose import Problem, Where, validation_problems
from pxrun.spec.graph import resolve_dependencies
from pxrun.spec.merge import Layer, Provenance, deep_merge
from pxrun.spec.overrides import apply_overrides
from pxrun.spec.paths import outside_files
from pxrun.spec.template import Renderer, Scope, WatchedScope, keys_read
from pxrun.spec.yamlsrc import Mark, SourceDoc
from pxrun.spec.yamlsrc import Path as DataPath

if TYPE_CHECKING:
    from pxrun.spec.load import Entry, Loader
    from pxrun.spec.model import Stack


@dataclass
class Resolved:
    """One concrete container: its data and where each of its values was written."""

    entry: Entry
    provenance: Provenance
    data: dict[str, Any]


class StackResolver:
    """Stages 4 and 5: containers resolved, then everything validated in one call."""

    def __init__(self, loader: Loader, docs: list[tuple[Path, SourceDoc]]) -> None:
        self.loader = loader
        self.docs = docs
        self.first = docs[0][1] if docs else SourceDoc(str(loader.root), None)
        self.found = loader.stack_keys(docs)
        self.vars = loader.union("vars", docs)
        self.defaults = loader.union("defaults", docs)
        self.ha_rules = loader.union("ha_rules", docs)
        self.containers: dict[str, Resolved] = {}
        self.template_paths: set[tuple[str, DataPath]] = set()

    def _reporter(self, subject: str, provenance: Provenance,
                  shown: DataPath = ()) -> Callable[[DataPath, str], None]:
        """A template-error callback; `shown` prefixes the path in messages (vars.x)."""

        def report(path: DataPath, message: str) -> None:
            origin = provenance.origin(path)
            note = "from defaults" if origin.layer.label == "defaults" else ""
            rel = (*shown, *path)
            self.loader.problems.append(Problem(origin.mark, subject, rel, message, note))
            self.template_paths.add((subject, rel))

        return report

    def resolve(self) -> dict[str, Any]:
        loader = self.loader
        secrets = loader.secrets(self.found)
        env = WatchedScope(loader.environ, "env")
        stack_name = self.found.get("stack", (None,))[0]
        vars_prov = Provenance(self.vars.layers or [Layer(self.first, ("vars",))])
        shadow = Shadow()
        hidden = {"env": shadow.leaves(loader.environ, "env"),
                  "secrets": shadow.leaves(secrets, "secrets")}
        names = ["env", "secrets"] if loader.secret_values else ["env"]
        vars_data = Renderer({"env": env, "secrets": secrets}, Secrecy(shadow, hidden, names)
                             ).render(self.vars.data, {}, self._reporter("", vars_prov, ("vars",)),
                                      derived=self._derived("vars"))
        if loader.overrides:
            vars_data, problems = apply_overrides(vars_data, loader.overrides)
            loader.diags.extend(problems)
        self._read_env(env)
        hidden["vars"], vars_secret = shadow.within(vars_data, loader.secret_values.values(),
                                                    "vars")
        renderer = Renderer({"vars": Scope.wrap(vars_data, "vars"), "env": env,
                             "secrets": secrets, "stack": stack_name},
                            Secrecy(shadow, {**hidden, "stack": stack_name},
                                    [*names, *(["vars"] if vars_secret else [])]))
        defaults = [Layer(layer.doc, layer.prefix, "defaults") for layer in self.defaults.layers]
        for name, entry, body in loader.entries(self.docs):
            own = {k: v for k, v in body.items() if k != "count"}
            if "name" in own and own["name"] != name:
                loader.diags.append(entry.doc.key_mark(("containers", entry.name, "name"))
                                    .diagnostic(f"{name}: name comes from the key; remove it"))
            merged = deep_merge(self.defaults.data, own)
            prov = Provenance([Layer(entry.doc, ("containers", entry.name)), *defaults])
            extra: dict[str, Any] = {"name": name}
            if entry.index is not None:
                extra["index"] = entry.index
            data = renderer.render(merged, extra, self._reporter(name, prov),
                                   derived=self._derived(f"containers.{name}"))
            data = {**data, "name": name}
            self.containers[name] = Resolved(entry, prov, data)
        self._dependencies(loader.groups)
        result: dict[str, Any] = {k: self.found[k][0] for k in ("version", "stack", "cluster")
                                  if k in self.found}
        if "cluster" in self.found:  # an inline block may take its token from env or secrets
            cluster_prov = Provenance([Layer(self.found["cluster"][1], ("cluster",))])
            result["cluster"] = renderer.render(result["cluster"], {}, self._reporter(
                "", cluster_prov, ("cluster",)), derived=self._derived("cluster"))
        if vars_data:
            result["vars"] = vars_data
        if self.ha_rules.layers:  # one mapping over every file; Jinja like the containers
            rules_prov = Provenance(self.ha_rules.layers)
            result["ha_rules"] = renderer.render(self.ha_rules.data, {}, self._reporter(
                "", rules_prov, ("ha_rules",)))
        result["containers"] = {n: r.data for n, r in self.containers.items()}
        result["groups"] = {g: m for g, m in loader.groups.items() if m}
        self._read_env(env)
        return result

    def _read_env(self, env: WatchedScope) -> None:
        """Every environment variable a template read is a secret of the spec."""
        for key in sorted(keys_read(env)):
            value = self.loader.environ.get(key, "")
            if len(value) >= sops.MIN_SECRET:
                self.loader.secret_values[f"env.{key}"] = value

    def _derived(self, prefix: str) -> Callable[[DataPath, str], None]:
        """A callback registering a value rendered from a transformed secret as a secret
        of its own, named after where it was rendered (`containers.web.description`)."""

        def register(path: DataPath, value: str) -> None:
            if len(value) >= sops.MIN_SECRET:
                self.loader.secret_values[ref_name(prefix, path)] = value

        return register

    def _dependencies(self, groups: dict[str, list[str]]) -> None:
        def locate(name: str, path: DataPath) -> Mark:
            return self.containers[name].provenance.origin(path).mark

        raw = {n: r.data.get("depends_on") for n, r in self.containers.items()}
        resolved, problems = resolve_dependencies(raw, groups, locate)
        self.loader.problems.extend(problems)
        for name, targets in resolved.items():
            items = raw[name]
            if isinstance(items, list) and all(isinstance(i, str) for i in items):
                # once a problem is reported, the model must not report it again
                self.containers[name].data["depends_on"] = [] if problems else targets

    def locate(self, path: DataPath) -> Where:
        """Where a path of the resolved stack was written (for pydantic errors)."""
        if len(path) >= 2 and path[0] == "containers" and path[1] in self.containers:
            resolved = self.containers[str(path[1])]
            rel = path[2:]
            if rel in ((), ("name",)):
                mark = resolved.entry.doc.key_mark(("containers", resolved.entry.name))
                return Where(mark, mark, str(path[1]), rel)
            origin = resolved.provenance.origin(rel)
            note = "from defaults" if origin.layer.label == "defaults" else ""
            return Where(origin.mark, origin.key_mark, str(path[1]), rel, note)
        for name, union in (("vars", self.vars), ("ha_rules", self.ha_rules)):
            if path and path[0] == name and union.layers:
                origin = Provenance(union.layers).origin(path[1:])
                return Where(origin.mark, origin.key_mark, "", path)
        doc = self.first
        if path and path[0] == "containers":
            doc = next((d for _, d in self.docs if "containers" in d.data), doc)
        elif path and path[0] in self.found:
            doc = self.found[str(path[0])][1]
        return Where(doc.mark(path), doc.key_mark(path), "", path)

    def location_keys(self) -> Iterator[str]:
        """The keys of `LoadedStack.locations`: each container, and each field written
        for it (`web.memory`)."""
        for name, resolved in self.containers.items():
            yield name
            yield from (f"{name}.{key}" for key in resolved.data if key != "name")

    def location(self, key: str) -> str | None:
        """'file:line:col' of a container's entry (`web`) or of where one of its fields was
        written (`web.memory`: the line to change); None for anything else."""
        if key in self.containers:
            resolved = self.containers[key]
            mark = resolved.entry.doc.key_mark(("containers", resolved.entry.name))
        else:
            name, _, field = key.rpartition(".")
            if name not in self.containers or field == "name" or (
                    field not in self.containers[name].data):
                return None
            mark = self.locate(("containers", name, field)).mark
        return f"{mark.file}:{mark.line}:{mark.col}"

    def local_files(self, model: Stack) -> None:
        """`files[].src` and `template` outside the spec's folder, where they are written."""
        for name, rel, message in outside_files(model, self.loader.spec_dir,
                                                allow_outside=self.loader.allow_outside):
            where = self.locate(("containers", name, *rel))
            self.loader.problems.append(Problem(where.mark, name, where.rel, message, where.note))

    def _stack_wide(self, problem: Problem) -> Problem:
        """A stack-wide rule (vmids unique) points at the containers block, not at line 1."""
        if problem.subject or problem.rel or not self.containers or (
                problem.message.startswith("missing required key")):
            return problem
        doc = next((d for _, d in self.docs if "containers" in d.data), self.first)
        return replace(problem, mark=doc.key_mark(("containers",)))

    def validate(self, data: dict[str, Any]) -> Stack | None:
        from pydantic import ValidationError

        from pxrun.spec.model import Stack

        try:
            return Stack.model_validate(data)
        except ValidationError as exc:
            for problem in validation_problems(exc, data, self.locate, Stack):
                # `name` is the key, whose own error is already reported
                if problem.subject and problem.rel == ("name",):
                    continue
                if (problem.subject, problem.rel) not in self.template_paths:
                    self.loader.problems.append(self._stack_wide(problem))
            return None
