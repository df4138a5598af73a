"""`ngk topology ...`: validate, import, draw."""
from __future__ import annotations

from pathlib import Path

import typer

from controller.cli.common import JsonOption, console, emit, err_console
from controller.model.load import check_topology, topology_path

app = typer.Typer(help="Check, import and draw topologies.", no_args_is_help=True)


@app.command()
def validate(
    file: Path = typer.Argument(None, help="Topology YAML (default: $NGK_TOPOLOGY or the reference)."),
    as_json: bool = JsonOption,
) -> None:
    """Check a topology file and report every error at once (exit 2 on any error)."""
    path = topology_path(file)
    topo, diags = check_topology(path)
    errors = [d for d in diags if d.severity == "error"]
    result = {"file": str(path), "valid": not errors,
              "errors": [d.as_dict() for d in errors],
              "warnings": [d.as_dict() for d in diags if d.severity == "warning"]}
    if topo is not None:
        result["counts"] = {"sites": len(topo.sites), "optical_nodes": len(topo.optical_nodes),
                            "spans": len(topo.spans), "srlgs": len(topo.srlgs()),
                            "routers": len(topo.routers), "links": len(topo.links),
                            "services": len(topo.services)}

    def show(_: dict) -> None:
        for d in diags:
            (err_console if d.severity == "error" else console).print(str(d), highlight=False,
                                                                       soft_wrap=True)
        if topo is not None:
            counts = ", ".join(f"{v} {k}" for k, v in result["counts"].items())
            console.print(f"[green]valid[/green]: {path} ({counts})", highlight=False)
        else:
            err_console.print(f"[red]invalid[/red]: {len(errors)} error(s) in {path}",
                              highlight=False)

    emit(result, as_json, show)
    if errors:
        raise typer.Exit(2)
