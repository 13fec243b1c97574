"""YAML parsing that keeps where every value came from (file, line, column).

Why not `yaml.safe_load`: it throws the node marks away, and every diagnostic pxrun prints
must point at the line the user wrote. We compose the node graph with libyaml (fast, and it
keeps marks), then build plain Python values ourselves while recording one mark per value and
one per mapping key, indexed by the value's path from the document root.

Building the values ourselves also lets us report what PyYAML silently accepts: a key written
twice in one mapping (the later one would win without a word).

Why limits: specs arrive through pull requests and CI validates them, so a hostile file must
fail fast with a diagnostic, never hang or exhaust memory. The node graph libyaml composes is
small even for an alias bomb (`&a [*b, *b, ...]` nine levels deep), but every alias is built
again at each use, so the expanded size is bounded (`MAX_VALUES`, and `MAX_ALIAS_VALUES` for
what aliases add), and so are nesting (`MAX_DEPTH`, which also keeps every later recursive
stage far from Python's recursion limit), a recursive alias, and the file size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

from pxrun.errors import Diagnostic
from pxrun.spec.paths import LocalFileError, read_bounded

try:  # libyaml's composer is several times faster and keeps the same marks.
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

Path = tuple[str | int, ...]
"""Where a value sits in a document: mapping keys and sequence indexes from the root."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_MISSING = object()

MAX_FILE_BYTES = 16 << 20
"""A spec of 10,000 containers is a few MiB; /dev/zero is not a spec."""
MAX_DEPTH = 64
"""Nesting of mappings and sequences; a real spec needs fewer than ten levels."""
MAX_VALUES = 2_000_000
"""Values built from one document, aliases expanded: ~40 per container for 50,000 containers."""
MAX_ALIAS_VALUES = 100_000
"""Values aliases may add beyond ten times the values written out (`<<: *defaults` in every
container stays far below it; an alias bomb reaches it within milliseconds)."""
ALIAS_RATIO = 10
MAX_TOTAL_BYTES = 64 << 20
"""All the files of one stack together (a folder of per-container files)."""


@dataclass
class Budget:
    """What one load has read and built so far, across all its documents: a folder of a
    thousand small alias bombs is one large bomb."""

    bytes: int = 0
    values: int = 0
    aliased: int = 0


class Mark(NamedTuple):
    """A position in a source file, 1-based like an editor shows it.

    A named tuple, not a frozen dataclass: the builder makes one per value of the document
    (twelve thousand for a stack of 500 containers), and a tuple is made in a fraction of
    the time a frozen dataclass's `__init__` takes.
    """

    file: str
    line: int
    col: int

    def diagnostic(self, message: str) -> Diagnostic:
        return Diagnostic(self.file, self.line, self.col, message)


@dataclass
class SourceDoc:
    """One parsed YAML document: its plain data, and the mark of every value and key in it."""

    file: str
    data: Any
    values: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)

    def mark(self, path: Path) -> Mark:
        """The mark of the deepest value on `path` that exists (the document start at worst)."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return Mark(self.file, 1, 1)

    def key_mark(self, path: Path) -> Mark:
        """The mark of the key that introduces `path`, else the value's mark."""
        return self.keys.get(path) or self.mark(path)


class _TooLarge(Exception):
    """Raised inside the builder to stop at the first limit: every later value would hit it too."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class _Builder:
    """Turns a composed node graph into plain values plus marks, collecting problems."""

    def __init__(self, loader: yaml.SafeLoader, doc: SourceDoc, budget: Budget) -> None:
        self.loader = loader
        self.doc = doc
        self.budget = budget
        self.problems: list[Diagnostic] = []
        self.constructors: dict[Any, Any] = loader.yaml_constructors
        self.built: set[int] = set()
        """Nodes built at least once: building one again is an alias being expanded."""
        self.active: set[int] = set()
        """Collection nodes being built right now: meeting one again is a recursive alias."""
        self.merges: dict[int, list[Any]] = {}
        self.merging: set[int] = set()
        self.scalars: dict[int, Any] = {}
        """Scalars built once per node (they are immutable): an alias to one costs a lookup."""

    def _mark(self, node: yaml.Node) -> Mark:
        m = node.start_mark
        return Mark(self.doc.file, m.line + 1, m.column + 1)

    def _count(self, node: yaml.Node, path: Path) -> None:
        """Charge one value against the limits."""
        budget = self.budget
        budget.values += 1
        if id(node) in self.built:
            budget.aliased += 1
        else:
            self.built.add(id(node))
        if budget.aliased > MAX_ALIAS_VALUES and budget.aliased > ALIAS_RATIO * (
                budget.values - budget.aliased):
            raise _TooLarge(self.doc.key_mark(path).diagnostic(
                f"aliases expand to more than {budget.aliased - 1:,} values, over "
                f"{ALIAS_RATIO} times what is written out (an alias bomb?); use fewer "
                "nested aliases"))
        if budget.values > MAX_VALUES:
            raise _TooLarge(self.doc.key_mark(path).diagnostic(
                f"the document has more than {MAX_VALUES:,} values; split the stack"))

    def build(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        self.doc.values[path] = self._mark(node)
        self._count(node, path)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if depth >= MAX_DEPTH:
            self.problems.append(self.doc.key_mark(path).diagnostic(
                f"nested more than {MAX_DEPTH} levels deep"))
            return None
        if id(node) in self.active:
            self.problems.append(self.doc.key_mark(path).diagnostic(
                "recursive alias: this value contains itself"))
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path, depth)
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def _scalar(self, node: yaml.Node) -> Any:
        found = self.scalars.get(id(node), _MISSING)
        if found is _MISSING:
            # a plain string is its own value (what SafeConstructor's str constructor
            # returns), and most scalars of a spec are strings
            found = self.scalars[id(node)] = (
                node.value if node.tag == _STR_TAG else self._construct(node))
        return found

    def _construct(self, node: yaml.Node) -> Any:
        constructor = self.constructors.get(node.tag)
        if constructor is None:
            self.problems.append(self._mark(node).diagnostic(
                f"unsupported YAML tag {node.tag!r}; use plain values"))
            return None
        try:
            return constructor(self.loader, node)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            self.problems.append(self._mark(node).diagnostic(f"invalid value: {problem}"))
        except ValueError as exc:  # a 5,000-digit integer, a 31st of February
            self.problems.append(self._mark(node).diagnostic(f"invalid value: {_short(exc)}"))
        return None

    def _merged(self, node: yaml.MappingNode, path: Path, depth: int) -> list[Any]:
        """The (key, value) pairs `<<` merges into `node`, each key once.

        YAML's merge rule: a mapping's own keys win over merged ones, and in `<<: [*a, *b]`
        the keys of *a win over those of *b. Computed once per node, so a merge that is
        itself merged many times (the alias-bomb shape) costs nothing more.
        """
        found = self.merges.get(id(node))
        if found is not None:
            return found
        if depth >= MAX_DEPTH or id(node) in self.merging:
            problem = ("recursive alias: '<<' merges a mapping into itself"
                       if id(node) in self.merging else
                       f"'<<' merges nested more than {MAX_DEPTH} levels deep")
            self.problems.append(self.doc.key_mark(path).diagnostic(problem))
            return []
        self.merging.add(id(node))
        pairs: dict[Any, Any] = {}
        for key, value in node.value:
            if key.tag != _MERGE_TAG:
                continue
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self.problems.append(self._mark(source).diagnostic(
                        "'<<' merges only mappings"))
                    continue
                own = [(k, v) for k, v in source.value if k.tag != _MERGE_TAG]
                for k, v in own + self._merged(source, path, depth + 1):
                    pairs.setdefault((k.tag, k.value) if isinstance(k, yaml.ScalarNode)
                                     else id(k), (k, v))
        self.merging.discard(id(node))
        found = self.merges[id(node)] = list(pairs.values())
        return found

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[Any, Any]:
        merged = self._merged(node, path, depth)
        own = [(key, value) for key, value in node.value if key.tag != _MERGE_TAG]
        result: dict[Any, Any] = {}
        seen: dict[Any, Mark] = {}
        for origin, pairs in (("merged", merged), ("own", own)):
            for key_node, value_node in pairs:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(self._mark(key_node).diagnostic(
                        "mapping keys must be plain scalars"))
                    continue
                built = self._scalar(key_node)
                # YAML 1.1 reads `on:`/`yes:`/`1.5:` as bool/float keys; keep what was written.
                key: str | int = (built if isinstance(built, str | int)
                                  and not isinstance(built, bool) else str(key_node.value))
                key_mark = self._mark(key_node)
                if origin == "own":
                    if key in seen:
                        self.problems.append(key_mark.diagnostic(
                            f"duplicate key {key_node.value!r} (first at line "
                            f"{seen[key].line})"))
                        continue
                    seen[key] = key_mark
                sub = (*path, key)
                self.doc.keys[sub] = key_mark
                result[key] = self.build(value_node, sub, depth + 1)
        return result


def _short(exc: Exception) -> str:
    """Python's own message, without its advice to call sys.set_int_max_str_digits()."""
    text = str(exc).split(";", 1)[0]
    return text if len(text) <= 120 else text[:117] + "..."


def parse_yaml(text: str, file: str, budget: Budget | None = None,
               ) -> tuple[SourceDoc, list[Diagnostic]]:
    """Parse one YAML document. Problems come back as diagnostics, never as exceptions.

    `budget` is shared by the documents of one load (a fresh one when None).
    """
    doc = SourceDoc(file=file, data=None)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return doc, []
        builder = _Builder(loader, doc, budget if budget is not None else Budget())
        try:
            doc.data = builder.build(node, ())
        except _TooLarge as exc:
            doc.data = None
            return doc, [exc.diagnostic]
        return doc, list(dict.fromkeys(builder.problems))  # an alias repeats its problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        return doc, [Diagnostic(file, line, col, f"invalid YAML: {problem}")]
    except yaml.YAMLError as exc:
        return doc, [Diagnostic(file, 1, 1, f"invalid YAML: {exc}")]
    except RecursionError:  # only PyYAML's pure-Python composer recurses; libyaml stops at 1000
        return doc, [Diagnostic(file, 1, 1, "invalid YAML: nested too deeply")]
    finally:
        loader.dispose()


def read_yaml(path: str, display: str, budget: Budget | None = None,
              ) -> tuple[SourceDoc, list[Diagnostic]]:
    """Read and parse a file; an unreadable, huge or non-UTF-8 file is a diagnostic too."""
    budget = budget if budget is not None else Budget()
    try:
        raw = read_bounded(path, limit=MAX_FILE_BYTES)
    except LocalFileError as exc:
        return SourceDoc(display, None), [Diagnostic(display, 0, 0, str(exc))]
    budget.bytes += len(raw)
    if budget.bytes > MAX_TOTAL_BYTES:
        return SourceDoc(display, None), [Diagnostic(
            display, 0, 0, f"the stack's files are larger than {MAX_TOTAL_BYTES >> 20} MiB "
            "together")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SourceDoc(display, None), [Diagnostic(display, 0, 0,
                                                     f"not UTF-8 text (byte {exc.start})")]
    return parse_yaml(text, display, budget)
