"""`ngk topology ...`: validate, import, draw."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from controller.cli.common import (
    InventoryOption,
    JsonOption,
    TopologyOption,
    console,
    emit,
    err_console,
    fail,
    topology,
)
from controller.fileio import check_writable
from controller.model.load import check_topology, topology_path

app = typer.Typer(help="Check, import and draw topologies.", no_args_is_help=True)


@app.command()
def validate(
    file: Path = typer.Argument(None,
                                help="Topology YAML (default: $NGK_TOPOLOGY or the reference)."),
    as_json: bool = JsonOption,
) -> None:
    """Check a topology file and report every error at once (exit 2 on any error)."""
    path = topology_path(file)
    topo, diags = check_topology(path)
    errors = [d for d in diags if d.severity == "error"]
    result: dict[str, Any]
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


@app.command("import")
def import_(
    file: Path = typer.Argument(None, help="Topology Zoo GraphML file."),
    out: Path = typer.Option(..., "--out", "-o", help="Topology YAML to write."),
    from_devices: bool = typer.Option(
        False, "--from-devices", "--from-lab", help="From the devices of --inventory (default: "
        "the running lab's) instead of a file: docs/discover.md."),
    topology_file: Path = TopologyOption, inventory: Path = InventoryOption,
    as_json: bool = JsonOption,
) -> None:
    """Convert a Topology Zoo GraphML file into a topology YAML (rules: docs/availability.md),
    or write the topology as the devices show it (--from-devices)."""
    from controller.model.importer import import_graphml, write_topology_yaml  # networkx

    check_writable(out)
    if from_devices:
        from controller.cli.discover import import_devices
        return import_devices(file, out, topology_file, inventory, as_json)
    if file is None:
        fail("give a Topology Zoo GraphML file, or --from-devices")
    doc, warnings = import_graphml(file)
    write_topology_yaml(doc, out)
    result: dict[str, Any]
    result = {"file": str(file), "out": str(out),
              "counts": {k: len(doc[k]) for k in ("sites", "spans", "routers", "links")},
              "warnings": [w.as_dict() for w in warnings]}

    def show(_: dict) -> None:
        for w in warnings:
            console.print(str(w), highlight=False, soft_wrap=True)
        counts = ", ".join(f"{v} {k}" for k, v in result["counts"].items())
        console.print(f"[green]wrote[/green] {out} ({counts})", highlight=False)

    emit(result, as_json, show)


@app.command()
def draw(
    out: Path = typer.Option(..., "--out", "-o", help="Picture to write: .png or .svg."),
    paths: tuple[str, str] | None = typer.Option(None, "--paths", metavar="SRC DST",
                                          help="Draw the diverse path pair between two sites."),
    diverse: str = typer.Option("srlg", "--diverse", help="Diversity: link, node or srlg."),
    failure: list[str] = typer.Option([], "--failure",
                                      help="Element to fail (kind:id or id), repeatable."),
    topology_file: Path = TopologyOption,
    as_json: bool = JsonOption,
) -> None:
    """Draw the topology map, optionally with a diverse path pair or a failure."""
    from controller.analysis.draw import draw as render  # matplotlib: only when drawing

    check_writable(out)
    topo = topology(topology_file)
    result = render(topo, out, pair=paths, diversity=diverse, failures=tuple(failure))
    emit(result, as_json, lambda r: console.print(f"[green]wrote[/green] {r['file']}",
                                                  highlight=False))


def register(root: typer.Typer) -> None:
    """Add the `topology` sub-app to the top-level app."""
    root.add_typer(app, name="topology")
