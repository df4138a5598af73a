"""The `ngk` command: a thin layer that parses, calls one service function and prints."""
from __future__ import annotations

import typer

from controller.cli import availability, failures, lab, paths, topology

app = typer.Typer(
    name="ngk",
    help="ngk: model, analyse, lab-test, deploy and watch the NGK health-network core.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(topology.app, name="topology")
for module in (paths, failures, availability, lab):
    module.register(app)
