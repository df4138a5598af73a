"""The `ngk` command: a thin layer that parses, calls one service function and prints.

Commands load lazily: `COMMANDS` names each command's module and one-line help, so `ngk --help`
and every command start without importing the others (or their heavy libraries). Each module
exposes `register(app)`, the one way to add commands. The root group is also the one error
boundary: it turns the `NgkError` family into a one-line message and an exit status; anything
else is a bug and shows as one.
"""
from __future__ import annotations

import importlib
import logging
from typing import Any, NamedTuple

import typer
from typer.core import TyperGroup

from controller.errors import InputError, NgkError


class Entry(NamedTuple):
    module: str
    help: str


COMMANDS: dict[str, Entry] = {
    "demo": Entry("demo", "The main job: analyse, lab up, deploy, failover drill, report."),
    "topology": Entry("topology", "Check, import and draw topologies."),
    "paths": Entry("paths", "Optimal pair of diverse paths between two sites."),
    "failures": Entry("failures", "Every single/double failure: what it disconnects, SPOFs."),
    "reroute": Entry("failures", "New best paths and IGP changes after a failure."),
    "capacity": Entry("capacity", "Link loads under every failure (ECMP, classes); upgrade plan."),
    "availability": Entry("availability", "Expected downtime per datacentre pair and member."),
    "inventory": Entry("inventory", "Build or check the production Nornir inventory."),
    "lab": Entry("lab", "FRR routers in network namespaces: up, status, cut, restore, down."),
    "render": Entry("deploy", "Intended configs from the model."),
    "deploy": Entry("deploy", "Push intended configs: diff, dry-run, commit-confirmed, rollback."),
    "backup": Entry("deploy", "Back up running configs into a git repository."),
    "netconf": Entry("netconf", "Candidate, validate and confirmed-commit over NETCONF."),
    "compliance": Entry("compliance", "Intended vs running config and rules; reports, history."),
    "schedule": Entry("compliance", "Scheduled compliance and uptime checks (cron)."),
    "monitor": Entry("monitor", "SNMP poller and trap receiver: state, events, metrics."),
    "uptime": Entry("monitor", "Availability from the monitor's history."),
    "drill": Entry("drill", "Measured failover drills in the lab, and their history."),
    "store": Entry("store", "The store: migrate its schema, export and import it."),
    "play": Entry("play", "Run a playbook of ordered, validated steps."),
    "traffic": Entry("traffic", "Traffic matrix estimated from the measured link loads."),
    "discover": Entry("discover", "The network as the routers report it versus the model."),
}


def report(exc: NgkError) -> None:
    """One line per problem on stderr, plain text (no markup, no emoji)."""
    lines = [str(d) for d in exc.diagnostics] if isinstance(exc, InputError) and \
        exc.diagnostics else [f"error: {exc}"]
    typer.echo("\n".join(lines), err=True)


class NgkGroup(TyperGroup):
    """The root group: lazy command loading and the error boundary."""

    _loaded: dict[str, Any] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        if entry.module not in self._loaded:
            sub = typer.Typer()
            sub.callback()(lambda: None)  # a group even when the module adds one command
            importlib.import_module(f"controller.cli.{entry.module}").register(sub)
            self._loaded[entry.module] = typer.main.get_command(sub)
        return self._loaded[entry.module].get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.help) for name, entry in COMMANDS.items()])

    def invoke(self, ctx: Any) -> Any:
        # Nornir logs each failed task with its traceback; ngk reports every device fault itself
        # (one line per device, in the table and --json), so those tracebacks never reach stderr
        logging.getLogger("nornir").addHandler(logging.NullHandler())
        logging.getLogger("nornir").propagate = False
        try:
            return super().invoke(ctx)
        except NgkError as exc:
            report(exc)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    name="ngk",
    cls=NgkGroup,
    help="ngk: model, analyse, lab-test, deploy and watch the NGK health-network core.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback()
def main() -> None:
    """ngk: model, analyse, lab-test, deploy and watch the NGK health-network core."""
