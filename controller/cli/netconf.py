"""`ngk netconf`: render, diff (dry-run), push, confirm/cancel, read a router's NETCONF config."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from controller.credentials import Login
from controller.cli.common import JsonOption, TopologyOption, console, emit, fail, table, topology

if TYPE_CHECKING:  # ncclient and paramiko load only in the commands that talk NETCONF
    from controller.southbound import netconf as nc

app = typer.Typer(help="Push interface config over NETCONF (dry-run unless --commit).",
                  no_args_is_help=True)

HostOption = typer.Option(None, "--host", help="Address to connect to (default: the router's "
                                                "management address from the topology).")
PortOption = typer.Option(830, "--port", help="NETCONF over SSH port.")
KnownHostsOption = typer.Option(None, "--known-hosts", envvar="NGK_KNOWN_HOSTS",
                                help="known_hosts file holding the device's host key.")
InsecureOption = typer.Option(False, "--insecure",
                              help="Do NOT check the host key (explicit choice only).")
TimeoutOption = typer.Option(10.0, "--timeout", help="Connect and per-RPC timeout, seconds.")


def _setup(router: str, topo_path: Path | None, host: str | None, port: int,
           known_hosts: Path | None, insecure: bool, timeout: float
           ) -> tuple[nc.Target, nc.Payload, Login]:
    from controller.southbound import netconf as nc
    topo = topology(topo_path)
    payload = nc.render_interfaces(topo, router)
    creds = nc.load_credentials(insecure=insecure,
                                known_hosts=str(known_hosts) if known_hosts else None)
    address = host or str(topo.routers[router].mgmt.ip)
    return nc.Target(router, address, port, timeout), payload, creds


def _show_push(data: dict) -> None:
    table(f"netconf push {data['router']}", ["router", "host", "status", "changed", "persist-id"],
          [[data["router"], data["host"], data["status"], data["changed"], data["persist_id"]]])
    if data["diff"]:
        console.print(data["diff"], highlight=False, markup=False)
    if data["error"]:
        console.print(f"[red]{data['error']['kind']}:[/red] {data['error']['message']}",
                      highlight=False)
    for problem in data["cleanup_errors"]:
        console.print(f"[red]cleanup:[/red] {problem}", highlight=False)


@app.command("render")
def render_cmd(router: str, topo_path: Path | None = TopologyOption) -> None:
    """Print the ietf-interfaces/ietf-ip payload rendered for ROUTER."""
    from controller.southbound import netconf as nc
    typer.echo(nc.render_interfaces(topology(topo_path), router).xml, nl=False)


@app.command("push")
def push_cmd(router: str, topo_path: Path | None = TopologyOption, host: str | None = HostOption,
             port: int = PortOption, commit: bool = typer.Option(
                 False, "--commit", help="Change the device (default: show the diff only)."),
             confirm_timeout: int = typer.Option(60, "--confirm-timeout", min=1,
                                                 help="Seconds before an unconfirmed commit "
                                                      "rolls back."),
             confirm: bool = typer.Option(True, "--confirm/--no-confirm",
                                          help="--no-confirm leaves the commit pending under a "
                                               "persist-id."),
             known_hosts: Path | None = KnownHostsOption, insecure: bool = InsecureOption,
             timeout: float = TimeoutOption, as_json: bool = JsonOption) -> None:
    """Diff ROUTER's intended interfaces against its running config; --commit pushes safely."""
    from controller.southbound import netconf as nc
    target, payload, creds = _setup(router, topo_path, host, port, known_hosts, insecure, timeout)
    result = nc.push(target, payload, creds, commit=commit, confirm_timeout=confirm_timeout,
                     confirm=confirm)
    emit(result.as_dict(), as_json, _show_push)
    if result.error:
        raise typer.Exit(1)


def _pending(action: str, router: str, persist_id: str, topo_path: Path | None, host: str | None,
             port: int, known_hosts: Path | None, insecure: bool, timeout: float) -> None:
    from controller.southbound import netconf as nc
    target, _, creds = _setup(router, topo_path, host, port, known_hosts, insecure, timeout)
    call = nc.confirm_commit if action == "confirm" else nc.cancel_commit
    try:
        call(target, creds, persist_id)
    except nc.NetconfError as exc:
        fail(str(exc), 1)
    console.print(f"{router}: {action} done", highlight=False)


@app.command("confirm")
def confirm_cmd(router: str, persist_id: str = typer.Option(..., "--persist-id"),
                topo_path: Path | None = TopologyOption, host: str | None = HostOption,
                port: int = PortOption,
                known_hosts: Path | None = KnownHostsOption, insecure: bool = InsecureOption,
                timeout: float = TimeoutOption) -> None:
    """Confirm a commit left pending by `push --no-confirm`."""
    _pending("confirm", router, persist_id, topo_path, host, port, known_hosts, insecure, timeout)


@app.command("cancel")
def cancel_cmd(router: str, persist_id: str = typer.Option(..., "--persist-id"),
               topo_path: Path | None = TopologyOption, host: str | None = HostOption,
               port: int = PortOption,
               known_hosts: Path | None = KnownHostsOption, insecure: bool = InsecureOption,
               timeout: float = TimeoutOption) -> None:
    """Roll back a pending commit now (cancel-commit)."""
    _pending("cancel-commit", router, persist_id, topo_path, host, port, known_hosts, insecure,
             timeout)


@app.command("get")
def get_cmd(router: str, topo_path: Path | None = TopologyOption, host: str | None = HostOption,
            port: int = PortOption, known_hosts: Path | None = KnownHostsOption,
            insecure: bool = InsecureOption, timeout: float = TimeoutOption,
            as_json: bool = JsonOption) -> None:
    """Print ROUTER's running config under the containers ngk manages."""
    from controller.southbound import netconf as nc
    target, payload, creds = _setup(router, topo_path, host, port, known_hosts, insecure, timeout)
    try:
        running = nc.get_running(target, creds, payload)
    except nc.NetconfError as exc:
        fail(str(exc), 1)
    emit({"router": router, "host": f"{target.host}:{target.port}", "running": running}, as_json,
         lambda d: typer.echo(d["running"]))


def register(root: typer.Typer) -> None:
    """Add `ngk netconf ...` to the top-level app."""
    root.add_typer(app, name="netconf")
