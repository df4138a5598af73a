"""The `ngk` command: a thin layer that parses, calls one service function and prints."""
from __future__ import annotations

import importlib

import typer

from controller.cli import topology

app = typer.Typer(
    name="ngk",
    help="ngk: model, analyse, lab-test, deploy and watch the NGK health-network core.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(topology.app, name="topology")

# Each module below exposes register(app) and owns its commands.
COMMAND_MODULES = ("paths", "failures", "availability", "lab", "deploy",
                   "compliance", "monitor", "drill", "netconf", "play", "demo")
for name in COMMAND_MODULES:
    importlib.import_module(f"controller.cli.{name}").register(app)
