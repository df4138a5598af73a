"""Playbook actions registered by name (the way Nornir registers plugins)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controller.model.topology import Topology


@dataclass
class Context:
    """What every action sees: the model, the run mode, and what earlier steps left behind."""

    topology: Topology
    dry_run: bool = False
    lab: str = "ngk"
    limit: list[str] | None = None
    undo: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    ok: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    changed: bool = False


ActionFn = Callable[[Context, list[str], dict[str, Any]], Outcome]


@dataclass(frozen=True)
class Action:
    name: str
    run: ActionFn
    required: frozenset[str]
    optional: frozenset[str]
    doc: str

    def check_args(self, args: dict[str, Any]) -> list[str]:
        problems = [f"action {self.name!r} needs argument {k!r}"
                    for k in sorted(self.required - args.keys())]
        problems += [f"action {self.name!r} has no argument {k!r} (known: "
                     f"{', '.join(sorted(self.required | self.optional)) or 'none'})"
                     for k in sorted(args.keys() - self.required - self.optional)]
        return problems


class ActionAlreadyRegistered(Exception):
    """Two actions under one name: a programming error (as Nornir's PluginAlreadyRegistered)."""


class Registry(dict[str, Action]):
    """Actions by name; a second registration of a name is refused."""

    def action(self, name: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()
               ) -> Callable[[ActionFn], ActionFn]:
        """Register the decorated function as playbook action `name`."""
        def register(fn: ActionFn) -> ActionFn:
            if name in self:
                raise ActionAlreadyRegistered(f"playbook action {name!r} is already registered")
            doc = (fn.__doc__ or "").strip().splitlines()
            self[name] = Action(name, fn, frozenset(required), frozenset(optional),
                                doc[0] if doc else "")
            return fn
        return register


ACTIONS = Registry()  # the built-in actions (controller.playbook.actions)
action = ACTIONS.action
