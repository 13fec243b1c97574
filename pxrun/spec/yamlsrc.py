"""YAML parsing that keeps where every value came from (file, line, column).

Why not `yaml.safe_load`: it throws the node marks away, and every diagnostic pxrun prints
must point at the line the user wrote. We compose the node graph with libyaml (fast, and it
keeps marks), then build plain Python values ourselves while recording one mark per value and
one per mapping key, indexed by the value's path from the document root.

Building the values ourselves also lets us report what PyYAML silently accepts: a key written
twice in one mapping (the later one would win without a word).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from pxrun.errors import Diagnostic

try:  # libyaml's composer is several times faster and keeps the same marks.
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

Path = tuple[str | int, ...]
"""Where a value sits in a document: mapping keys and sequence indexes from the root."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in a source file, 1-based like an editor shows it."""

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


class _Builder:
    """Turns a composed node graph into plain values plus marks, collecting problems."""

    def __init__(self, loader: yaml.SafeLoader, doc: SourceDoc) -> None:
        self.loader = loader
        self.doc = doc
        self.problems: list[Diagnostic] = []
        self.constructors: dict[Any, Any] = loader.yaml_constructors

    def _mark(self, node: yaml.Node) -> Mark:
        m = node.start_mark
        return Mark(self.doc.file, m.line + 1, m.column + 1)

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.doc.values[path] = self._mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
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
            return None

    def _pairs(self, node: yaml.MappingNode) -> tuple[list[Any], list[Any]]:
        """(pairs merged in with `<<`, the mapping's own pairs). Own pairs win over merged ones."""
        merged: list[Any] = []
        own: list[Any] = []
        for key, value in node.value:
            if key.tag != _MERGE_TAG:
                own.append((key, value))
                continue
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self.problems.append(self._mark(source).diagnostic(
                        "'<<' merges only mappings"))
                    continue
                inner_merged, inner_own = self._pairs(source)
                merged.extend(inner_merged + inner_own)
        return merged, own

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        merged, own = self._pairs(node)
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
                if origin == "own" and key in seen:
                    first = seen[key]
                    self.problems.append(self._mark(key_node).diagnostic(
                        f"duplicate key {key_node.value!r} (first at line {first.line})"))
                    continue
                if origin == "own":
                    seen[key] = self._mark(key_node)
                sub = (*path, key)
                self.doc.keys[sub] = self._mark(key_node)
                result[key] = self.build(value_node, sub)
        return result


def parse_yaml(text: str, file: str) -> tuple[SourceDoc, list[Diagnostic]]:
    """Parse one YAML document. Problems come back as diagnostics, never as exceptions."""
    doc = SourceDoc(file=file, data=None)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return doc, []
        builder = _Builder(loader, doc)
        doc.data = builder.build(node, ())
        return doc, builder.problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        return doc, [Diagnostic(file, line, col, f"invalid YAML: {problem}")]
    except yaml.YAMLError as exc:
        return doc, [Diagnostic(file, 1, 1, f"invalid YAML: {exc}")]
    finally:
        loader.dispose()


def read_yaml(path: str, display: str) -> tuple[SourceDoc, list[Diagnostic]]:
    """Read and parse a file; an unreadable or non-UTF-8 file is a diagnostic too."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        return SourceDoc(display, None), [Diagnostic(display, 0, 0,
                                                     f"cannot read: {exc.strerror}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SourceDoc(display, None), [Diagnostic(display, 0, 0,
                                                     f"not UTF-8 text (byte {exc.start})")]
    return parse_yaml(text, display)
