"""YAML documents that remember where every value came from (file, line, path).

Validation errors must name the file, the line and the path inside the document, so the loader
keeps a map from each document path (a tuple of keys and indexes) to its 1-based line.
"""
from __future__ import annotations

import re
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


MAX_NODES = 1_000_000  # what aliases may expand to: a bound against alias bombs
MULTILINE_KEYS = {"description", "explanation"}  # prose for reports; newlines allowed there
# C0/C1 controls, DEL, Unicode line/paragraph separators and bidi overrides: never in free text.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NEWLINE = re.compile("\n")


class _Converter:
    """YAML nodes to plain data, recording the line of every path and every unsafe string."""

    def __init__(self, file: str):
        self.file = file
        self.lines: dict[DocPath, int] = {}
        self.diags: list[Diagnostic] = []
        self.nodes = 0

    def error(self, line: int, path: DocPath, message: str) -> None:
        self.diags.append(Diagnostic(self.file, line, format_path(path), message))

    def text(self, value: Any, line: int, path: DocPath) -> None:
        """Reject control characters (and newlines outside prose fields) in any string."""
        if not isinstance(value, str):
            return
        bad = _CONTROL.search(value) or (
            None if path and path[-1] in MULTILINE_KEYS else _NEWLINE.search(value))
        if bad:
            self.error(line, path, f"control character {bad.group()!r} at offset {bad.start()} "
                                   "is not allowed in text")

    def convert(self, node: yaml.Node, path: DocPath) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InputError([Diagnostic(self.file, node.start_mark.line + 1, format_path(path),
                                         f"document expands to more than {MAX_NODES:,} values "
                                         "(an alias bomb?)")])
        line = node.start_mark.line + 1
        self.lines[path] = line
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise InputError([Diagnostic(self.file, key_line, format_path(path),
                                                 "mapping keys must be scalars")])
                key = self.scalar(key_node, path)
                self.text(key, key_line, path)
                if key in out:
                    raise InputError([Diagnostic(self.file, key_line,
                                                 format_path(path + (str(key),)),
                                                 f"duplicate key {key!r}")])
                out[key] = self.convert(value_node, path + (str(key),))
                self.lines[path + (str(key),)] = key_line
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, path + (i,)) for i, item in enumerate(node.value)]
        value = self.scalar(node, path)
        self.text(value, line, path)
        return value

    def scalar(self, node: yaml.Node, path: DocPath) -> Any:
        try:
            return _CONSTRUCTOR.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise InputError([Diagnostic(self.file, node.start_mark.line + 1, format_path(path),
                                         f"cannot read value: {problem}")]) from None


_CONSTRUCTOR = yaml.SafeLoader("")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster, same nodes


def parse_yaml(text: str, file: str) -> Document:
    """Parse YAML text; syntax errors and unsafe text become an InputError with the line."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError([Diagnostic(file, line, "", f"YAML syntax error: {problem}")]) from None
    except RecursionError:
        raise InputError([Diagnostic(file, None, "", "YAML nested too deeply")]) from None
    conv = _Converter(file)
    try:
        data = conv.convert(node, ()) if node is not None else None
    except RecursionError:
        raise InputError([Diagnostic(file, None, "", "YAML nested too deeply")]) from None
    if conv.diags:
        raise InputError(conv.diags)
    return Document(file, data, conv.lines)


def load_yaml(path: str | Path) -> Document:
    """Read and parse a YAML file; unreadable files become an InputError."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([Diagnostic(name, None, "",
                                     f"cannot read file: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise InputError([Diagnostic(name, None, "", "file is not UTF-8 text")]) from None
    return parse_yaml(text, name)
