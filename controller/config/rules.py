"""Compliance rules: load a rules file (validated, regexes compiled at load) and check configs.

A rule has an `id`, a `severity`, a `feature`, an `explanation`, optional `scope` (router roles
and platforms it applies to), and one check:
- `must_contain: [patterns]`      every pattern matches some line (in `block` if given);
- `must_not_contain: [patterns]`  no line matches any pattern;
- `per_interface: {select, must_contain, must_not_contain}`  for every interface block whose
  name matches `select` (and, with `links_only: true`, that is an IP link of the model).
Patterns are regular expressions matched against whole stripped lines (`re.fullmatch`), unless
`literal: true`. The file format is documented in docs/compliance.md.
"""
from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller import data
from controller.config.features import FEATURES, ConfigLine, parse
from controller.model.source import DocPath, Document, InputError, load_yaml

SEVERITIES = ("info", "low", "medium", "high", "critical")
RULES_FILE = data.path("rules", "compliance.yaml")
_CHECKS = ("must_contain", "must_not_contain", "per_interface")
_RULE_FIELDS = {"id", "severity", "feature", "explanation", "scope", "literal", "block", *_CHECKS}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    feature: str
    explanation: str
    must_contain: tuple[re.Pattern[str], ...] = ()
    must_not_contain: tuple[re.Pattern[str], ...] = ()
    block: re.Pattern[str] | None = None  # restrict must_contain/must_not_contain to blocks
    select: re.Pattern[str] | None = None  # per-interface rule: interface names it applies to
    links_only: bool = False
    roles: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()

    def applies(self, role: str, platform: str) -> bool:
        return (not self.roles or role in self.roles) and (
            not self.platforms or platform in self.platforms)


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    severity: str
    feature: str
    explanation: str
    message: str
    line: int | None = None
    interface: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "feature": self.feature,
                "explanation": self.explanation, "message": self.message, "line": self.line,
                "interface": self.interface}


@dataclass
class _Loader:
    doc: Document
    diags: list = field(default_factory=list)
    rule_id: str | None = None  # the rule being loaded, named in its errors

    def error(self, path: DocPath, message: str) -> None:
        named = f"rule {self.rule_id!r}: {message}" if self.rule_id else message
        self.diags.append(self.doc.diag(path, named))

    def patterns(self, path: DocPath, raw: Any, literal: bool) -> tuple[re.Pattern[str], ...]:
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not raw or not all(isinstance(p, str) for p in raw):
            self.error(path, "must be a non-empty list of patterns")
            return ()
        out = []
        for i, pattern in enumerate(raw):
            compiled = self.compile(path + (i,), pattern, literal)
            if compiled is not None:
                out.append(compiled)
        return tuple(out)

    def regex(self, path: DocPath, pattern: str) -> re.Pattern[str] | None:
        try:
            return re.compile(pattern)
        except re.error as exc:
            self.error(path, f"invalid regular expression {pattern!r}: {exc}")
            return None

    def compile(self, path: DocPath, pattern: str, literal: bool) -> re.Pattern[str] | None:
        """A line pattern: valid, and not one that matches every line."""
        compiled = self.regex(path, re.escape(pattern) if literal else pattern)
        if compiled is not None and compiled.fullmatch("") is not None:
            self.error(path, f"pattern {pattern!r} matches an empty line, so it matches "
                             "everything: the rule could never tell configs apart")
            return None
        return compiled

    def rule(self, path: DocPath, raw: Any) -> Rule | None:
        if not isinstance(raw, dict):
            self.error(path, "a rule must be a mapping")
            return None
        self.rule_id = raw["id"] if isinstance(raw.get("id"), str) and raw["id"] else None
        for key in sorted(raw.keys() - _RULE_FIELDS, key=str):
            self.error(path + (str(key),), f"unknown field {key!r}")
        for key in ("id", "severity", "feature", "explanation"):
            if not isinstance(raw.get(key), str) or not raw.get(key):
                self.error(path + (key,), f"rule needs a {key} (text)")
        if raw.get("severity") not in SEVERITIES:
            self.error(path + ("severity",), f"severity must be one of {', '.join(SEVERITIES)}")
        if raw.get("feature") not in FEATURES:
            self.error(path + ("feature",), f"feature must be one of {', '.join(FEATURES)}")
        checks = [c for c in _CHECKS if c in raw]
        if not checks:
            self.error(path, f"rule has no check: give one of {', '.join(_CHECKS)}")
            return None
        literal = bool(raw.get("literal", False))
        kwargs: dict[str, Any] = {}
        for key in ("must_contain", "must_not_contain"):
            if key in raw:
                kwargs[key] = self.patterns(path + (key,), raw[key], literal)
        if "block" in raw:
            kwargs["block"] = self.regex(path + ("block",), str(raw["block"]))
        if "per_interface" in raw:
            per = raw["per_interface"]
            if not isinstance(per, dict) or not ({"must_contain", "must_not_contain"} & per.keys()):
                self.error(path + ("per_interface",), "needs must_contain or must_not_contain")
                return None
            for key in sorted(per.keys() - {"select", "links_only", "must_contain",
                                            "must_not_contain"}):
                self.error(path + ("per_interface", key), f"unknown field {key!r}")
            kwargs["select"] = self.regex(path + ("per_interface", "select"),
                                          str(per.get("select", ".*")))
            kwargs["links_only"] = bool(per.get("links_only", False))
            for key in ("must_contain", "must_not_contain"):
                if key in per:
                    kwargs[key] = self.patterns(path + ("per_interface", key), per[key], literal)
        scope = raw.get("scope") or {}
        if not isinstance(scope, dict) or scope.keys() - {"roles", "platforms"}:
            self.error(path + ("scope",), "scope may only give roles and platforms (lists)")
            scope = {}
        return Rule(str(raw.get("id")), str(raw.get("severity")), str(raw.get("feature")),
                    str(raw.get("explanation")), roles=tuple(scope.get("roles") or ()),
                    platforms=tuple(scope.get("platforms") or ()), **kwargs)


def load_rules(path: str | Path | None = None) -> list[Rule]:
    """Load and validate a rules file; InputError names the rule and field of every problem."""
    doc = load_yaml(path or RULES_FILE)
    loader = _Loader(doc)
    raw = doc.data.get("rules") if isinstance(doc.data, dict) else None
    if not isinstance(raw, list):
        raise InputError([doc.diag((), "a rules file is a mapping with a list under 'rules'")])
    rules, seen = [], set()
    for i, entry in enumerate(raw):
        loader.rule_id = None
        rule = loader.rule(("rules", i), entry)
        if rule is None:
            continue
        if rule.id in seen:
            loader.error(("rules", i, "id"), f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        rules.append(rule)
    if loader.diags:
        raise InputError(loader.diags)
    return rules


def check(rule: Rule, config: str | list[ConfigLine],
          link_interfaces: AbstractSet[str] = frozenset()) -> list[Violation]:
    """Violations of one rule in one config (text, or its lines as `parse` gives them)."""
    lines = parse(config) if isinstance(config, str) else config

    def violation(message: str, line: ConfigLine | None = None, iface: str | None = None):
        return Violation(rule.id, rule.severity, rule.feature, rule.explanation, message,
                         line.number if line else None, iface or (line.interface if line else None))

    if rule.select is not None:
        blocks: dict[str, list[ConfigLine]] = {}
        headers: dict[str, ConfigLine] = {}
        for ln in lines:
            if ln.block is None and ln.text.startswith("interface "):
                headers[ln.text.split(None, 1)[1]] = ln
                blocks.setdefault(ln.text.split(None, 1)[1], [])
            elif ln.interface is not None:
                blocks.setdefault(ln.interface, []).append(ln)
        out = []
        for name, body in blocks.items():
            if not rule.select.fullmatch(name) or (rule.links_only and name not in link_interfaces):
                continue
            out += _check_lines(rule, body, lambda m, ln=None, n=name: violation(
                m, ln or headers.get(n), n), f"interface {name}")
        if rule.links_only:
            out += [violation(f"interface {name} of an IP link is missing from the config",
                              iface=name) for name in sorted(link_interfaces - blocks.keys())]
        return out
    scoped = [ln for ln in lines
              if rule.block is None or (ln.block and rule.block.fullmatch(ln.block))]
    return _check_lines(rule, scoped, violation, "the config")


def _check_lines(rule: Rule, lines: list[ConfigLine], violation, where: str) -> list[Violation]:
    out = []
    for pattern in rule.must_contain:
        if not any(pattern.fullmatch(ln.text) for ln in lines):
            out.append(violation(f"{where} has no line matching {pattern.pattern!r}"))
    for pattern in rule.must_not_contain:
        out += [violation(f"forbidden line {ln.text!r}", ln) for ln in lines
                if pattern.fullmatch(ln.text)]
    return out
