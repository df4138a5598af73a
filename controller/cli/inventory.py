"""`ngk inventory build`: the production Nornir inventory (hosts, groups, defaults) of a
topology."""
from __future__ import annotations

from pathlib import Path

import typer

from controller.cli.common import JsonOption, TopologyOption, console, emit, topology
from controller.model.load import topology_path

app = typer.Typer(help="The production Nornir inventory.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Add the `inventory` sub-app to the top-level app."""
    root.add_typer(app, name="inventory")


@app.command("build")
def build(
    out: Path = typer.Option(Path("inventory"), "--out", "-o",
                             help="Directory for hosts.yaml, groups.yaml, defaults.yaml."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if the files in "
                                                      "--out differ from what would be written."),
    topology_file: Path = TopologyOption, as_json: bool = JsonOption,
) -> None:
    """Write (or --check) the Nornir SimpleInventory of the topology: no secrets in it."""
    from controller.southbound import inventory
    topo = topology(topology_file)
    docs = inventory.production(topo)
    texts = inventory.render(docs, source=topology_path(topology_file).name)
    changed = inventory.drift(texts, out)
    if not check:
        inventory.write(texts, out)
    emit({"inventory": str(out), "files": list(texts), "hosts": len(docs["hosts.yaml"]),
          "groups": len(docs["groups.yaml"]), "changed": changed, "written": not check},
         as_json, _render)
    if check and changed:
        raise typer.Exit(1)


def _render(report: dict) -> None:
    for name in report["files"]:
        state = ("changed" if report["written"] else "differs") if name in report["changed"] \
            else "up to date"
        console.print(f"{Path(report['inventory']) / name}: {state}", highlight=False)
    console.print(f"{report['hosts']} hosts, {report['groups']} groups", highlight=False)
