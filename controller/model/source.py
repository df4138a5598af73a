"""YAML documents that remember where every value came from (file, line, path).

Validation errors must name the file, the line and the path inside the document, so the loader
keeps a map from each document path (a tuple of keys and indexes) to its 1-based line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller.errors import Diagnostic, InputError

DocPath = tuple[str | int, ...]


def format_path(path: DocPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Document:
    """Plain Python data of a YAML file plus the line of every path in it."""

    file: str
    data: Any
    lines: dict[DocPath, int] = field(default_factory=dict)

    def line(self, path: DocPath) -> int | None:
        """Line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def diag(self, path: DocPath, message: str, severity: str = "error") -> Diagnostic:
        return Diagnostic(self.file, self.line(path), format_path(path), message, severity)


def _convert(node: yaml.Node, path: DocPath, lines: dict[DocPath, int], file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError([Diagnostic(file, key_node.start_mark.line + 1,
                                             format_path(path), "mapping keys must be scalars")])
            key = _scalar(key_node)
            if key in out:
                raise InputError([Diagnostic(file, key_node.start_mark.line + 1,
                                             format_path(path + (str(key),)),
                                             f"duplicate key {key!r}")])
            out[key] = _convert(value_node, path + (str(key),), lines, file)
            lines[path + (str(key),)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), lines, file) for i, item in enumerate(node.value)]
    return _scalar(node)


_CONSTRUCTOR = yaml.SafeLoader("")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster, same nodes


def _scalar(node: yaml.Node) -> Any:
    return _CONSTRUCTOR.construct_object(node, deep=True)


def parse_yaml(text: str, file: str) -> Document:
    """Parse YAML text; syntax errors become an InputError with the line."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError([Diagnostic(file, line, "", f"YAML syntax error: {problem}")]) from None
    lines: dict[DocPath, int] = {}
    data = _convert(node, (), lines, file) if node is not None else None
    return Document(file, data, lines)


def load_yaml(path: str | Path) -> Document:
    """Read and parse a YAML file; unreadable files become an InputError."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([Diagnostic(name, None, "", f"cannot read file: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise InputError([Diagnostic(name, None, "", "file is not UTF-8 text")]) from None
    return parse_yaml(text, name)
