"""Playbook files: named, ordered steps, each a registered action with targets and arguments.

```yaml
name: drain-site
description: ...
vars: {site: ham}
steps:
  - name: drain Hamar
    action: drain
    targets: {site: "{{ site }}"}
    args: {}
    on_failure: rollback      # stop (default) | continue | rollback
```
Everything is validated before any step runs; errors name the file, line and path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.errors import Diagnostic, InputError
from controller.model.layers import resolve_element
from controller.model.select import KEYS, router_matches
from controller.model.source import Document, load_yaml
from controller.model.topology import Topology
from controller.playbook.registry import ACTIONS, Registry

ON_FAILURE = ("stop", "continue", "rollback")
_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class Step:
    name: str
    action: str
    targets: dict[str, list[str]]
    args: dict[str, Any]
    on_failure: str
    line: int | None


@dataclass(frozen=True)
class Playbook:
    name: str
    description: str
    file: str
    steps: tuple[Step, ...]
    vars: dict[str, Any] = field(default_factory=dict)
    actions: Registry = field(default_factory=lambda: ACTIONS, compare=False, repr=False)


def _substitute(value: Any, variables: dict[str, Any], missing: list[str]) -> Any:
    if isinstance(value, str):
        whole = _VAR.fullmatch(value.strip())
        if whole:
            if whole.group(1) not in variables:
                missing.append(whole.group(1))
                return value
            return variables[whole.group(1)]

        def repl(m: re.Match[str]) -> str:
            if m.group(1) not in variables:
                missing.append(m.group(1))
                return m.group(0)
            return str(variables[m.group(1)])
        return _VAR.sub(repl, value)
    if isinstance(value, list):
        return [_substitute(v, variables, missing) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, variables, missing) for k, v in value.items()}
    return value


FAILURE_ARGS = ("element", "failure")  # arguments that name model elements to fail


def load_playbook(path: str | Path, overrides: dict[str, Any] | None = None,
                  topo: Topology | None = None, actions: Registry = ACTIONS) -> Playbook:
    """Load, substitute `{{ var }}`, validate every step (targets and failure elements against
    `topo` when given, so a bad --var fails here, not mid-run); InputError lists all problems."""
    doc = load_yaml(path)
    diags: list[Diagnostic] = []
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or not data["steps"]:
        raise InputError([doc.diag((), "a playbook is a mapping with a non-empty list 'steps'")])
    for key in sorted(data.keys() - {"name", "description", "vars", "steps"}, key=str):
        diags.append(doc.diag((key,), f"unknown field {key!r}"))
    if not isinstance(data.get("vars") or {}, dict):
        raise InputError([doc.diag(("vars",), "vars must be a mapping of names to values")])
    variables = dict(data.get("vars") or {})
    variables.update(overrides or {})
    steps = [_step(doc, i, raw, variables, diags, actions) for i, raw in enumerate(data["steps"])]
    if topo is not None:
        for i, step in enumerate(steps):
            if step:
                diags.extend(_check_references(doc, ("steps", i), step, topo))
    seen: dict[str, int | None] = {}  # step name -> line of its first use
    for i, step in enumerate(steps):
        if step and step.name in seen:
            diags.append(doc.diag(("steps", i, "name"), f"duplicate step name {step.name!r} "
                                                        f"(first at line {seen[step.name]})"))
        elif step:
            seen[step.name] = step.line
    if diags:
        raise InputError(diags)
    return Playbook(str(data.get("name") or Path(path).stem), str(data.get("description", "")),
                    str(path), tuple(s for s in steps if s), variables, actions)


def _check_references(doc: Document, path: tuple[str | int, ...], step: Step,
                      topo: Topology) -> list[Diagnostic]:
    """Every target filter and failure element of a step must name something in the model."""
    out = []
    for key, values in step.targets.items():
        for value in values:
            if not any(router_matches(topo, r, key, [value]) for r in topo.routers):
                out.append(doc.diag(path + ("targets", key), f"{key} {value!r} matches no router"))
    for key in FAILURE_ARGS:
        refs = step.args.get(key)
        for ref in refs if isinstance(refs, list) else [] if refs is None else [refs]:
            try:
                resolve_element(topo, str(ref))
            except InputError as exc:
                out.append(doc.diag(path + ("args", key), str(exc)))
    return out


def _step(doc: Document, i: int, raw: Any, variables: dict[str, Any],
          diags: list[Diagnostic], actions: Registry) -> Step | None:
    path = ("steps", i)
    if not isinstance(raw, dict):
        diags.append(doc.diag(path, "a step must be a mapping"))
        return None
    for key in sorted(raw.keys() - {"name", "action", "targets", "args", "on_failure"}, key=str):
        diags.append(doc.diag(path + (key,), f"unknown field {key!r}"))
    action = raw.get("action")
    if not isinstance(action, str) or action not in actions:
        diags.append(doc.diag(path + ("action",), f"unknown action {action!r} (known: "
                                                  f"{', '.join(sorted(actions))})"))
        return None
    missing: list[str] = []
    targets_raw = _substitute(raw.get("targets") or {}, variables, missing)
    args = _substitute(raw.get("args") or {}, variables, missing)
    for name in sorted(set(missing)):
        diags.append(doc.diag(path, f"undefined variable {name!r}"))
    targets: dict[str, list[str]] = {}
    if not isinstance(targets_raw, dict):
        diags.append(doc.diag(path + ("targets",), "targets must be a mapping"))
    else:
        for key, value in targets_raw.items():
            if key not in KEYS:
                diags.append(doc.diag(path + ("targets", key), f"unknown target filter {key!r} "
                                                               f"(use {', '.join(KEYS)})"))
                continue
            targets[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
    on_failure = raw.get("on_failure", "stop")
    if on_failure not in ON_FAILURE:
        diags.append(doc.diag(path + ("on_failure",), f"on_failure must be one of "
                                                      f"{', '.join(ON_FAILURE)}"))
    if not isinstance(args, dict):
        diags.append(doc.diag(path + ("args",), "args must be a mapping"))
        args = {}
    for problem in actions[action].check_args(args):
        diags.append(doc.diag(path + ("args",), problem))
    return Step(str(raw.get("name") or f"{i + 1}-{action}"), action, targets, args,
                str(on_failure), doc.line(path))
