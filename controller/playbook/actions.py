"""The built-in playbook actions. Each calls one service; dry-run never changes anything."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import networkx as nx

from controller.analysis.failures import FailureAnalysis
from controller.model.layers import outage, resolve_element, site_graph
from controller.playbook.registry import Context, Outcome, action


def _inventory(ctx: Context) -> Path:
    from controller.lab.state import inventory_dir
    return inventory_dir(lab=ctx.lab)


def _nornir(ctx: Context):
    """The whole inventory: services act on their targets, verification must see every router."""
    from controller.southbound.nornir_setup import build_nornir
    return build_nornir(_inventory(ctx))


@action("render", optional=("out",))
def render(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """Render the intended configs of the targets (and write them to `out`)."""
    from controller.services.deploy import intended, write_configs
    configs = intended(ctx.topology, targets)
    files = write_configs(configs, Path(args["out"])) if args.get("out") else []
    return Outcome(True, f"{len(configs)} configs rendered", {"files": [str(f) for f in files]})


def _deploy(ctx: Context, targets: list[str], configs: dict[str, str], commit: bool,
            args: dict[str, Any]) -> Outcome:
    from controller.services.audit import AuditLog
    from controller.services.deploy import deploy
    report = deploy(ctx.topology, _nornir(ctx), configs, commit=commit,
                    confirm_timeout=int(args.get("confirm_timeout", 120)),
                    policy=str(args.get("policy", "atomic")), audit=AuditLog())
    changed = [r.router for r in report.routers if r.changed]
    status = {r.router: r.status for r in report.routers}
    summary = (f"{len(changed)} of {len(status)} routers "
               + ("changed" if commit else "would change"))
    return Outcome(report.ok, summary, {"routers": status, "problems": [
        p.detail for p in report.problems]}, changed=commit and bool(changed))


@action("diff")
def diff(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """Show what a deploy would change (never changes anything)."""
    from controller.services.deploy import intended
    return _deploy(ctx, targets, intended(ctx.topology, targets), False, args)


@action("deploy", optional=("confirm_timeout", "policy"))
def deploy_step(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """Push the intended config with commit-confirmed and verification (dry-run: diff only)."""
    from controller.services.deploy import intended
    return _deploy(ctx, targets, intended(ctx.topology, targets), not ctx.dry_run, args)


def _drain(ctx: Context, targets: list[str], args: dict[str, Any], drained: bool) -> Outcome:
    from controller.config.render import render_config
    configs = {r: render_config(ctx.topology, r, drained=drained) for r in targets}
    outcome = _deploy(ctx, targets, configs, not ctx.dry_run, args)
    if drained and outcome.changed:
        ctx.undo.append((f"undrain {', '.join(targets)}",
                         lambda: _drain(ctx, targets, args, False)))
    return outcome


@action("drain", optional=("confirm_timeout", "policy"))
def drain(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """Advertise OSPF max-metric on the targets so traffic leaves them where it can."""
    return _drain(ctx, targets, args, True)


@action("undrain", optional=("confirm_timeout", "policy"))
def undrain(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """Take the max-metric away again (back to the intended config)."""
    return _drain(ctx, targets, args, False)


@action("backup", optional=("to",))
def backup_step(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """Save the running configs into the git-versioned backup folder."""
    from controller.paths import state_path
    from controller.services.backup import backup
    if ctx.dry_run:
        return Outcome(True, f"would back up {len(targets)} routers")
    report = backup(_nornir(ctx), Path(args.get("to") or state_path("backups")), targets)
    return Outcome(report.ok, f"backup commit {report.commit or 'none (no change)'}",
                   report.as_dict())


@action("verify", optional=("timeout",))
def verify_step(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """Check adjacencies, BFD, loopback reachability and service connectivity on the network."""
    from controller.services.verify import verify
    result = verify(ctx.topology, _nornir(ctx),
                    timeout=float(args.get("timeout", 30)))
    return Outcome(result.ok, "verified" if result.ok else f"{len(result.problems)} problems",
                   {"problems": [p.detail for p in result.problems],
                    "unverified": result.unverified})


@action("snmp-check")
def snmp_check(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """One SNMP poll cycle: every target reachable and every IP-link interface up."""
    from controller.services.compliance import link_interfaces
    from controller.services.monitor.app import run_monitor
    from controller.southbound.snmp.inventory import load_inventory
    from controller.store import Store
    hosts, _ = load_inventory(_inventory(ctx))
    result = run_monitor([h for h in hosts if h.router in targets], Store(), ctx.topology,
                         once=True)
    assert result is not None  # once=True returns the cycle's report
    links = link_interfaces(ctx.topology)
    down = [f"{r['router']}:{i}" for r in result["routers"] for i, s in r["interfaces"].items()
            if s != "up" and i in links[r["router"]]]
    unreachable = [r["router"] for r in result["routers"] if not r["reachable"]]
    ok = not down and not unreachable and len(result["routers"]) == len(targets)
    return Outcome(ok, "all reachable, links up" if ok else
                   f"unreachable: {unreachable or '-'}; down: {down or '-'}",
                   {"unreachable": unreachable, "down": down})


@action("lab-cut", required=("element",), optional=("mode",))
def lab_cut_step(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """Cut a span or link in the lab (light or silent); undone on rollback."""
    from controller.lab.faults import lab_cut, lab_restore
    if ctx.dry_run:
        return Outcome(True, f"would cut {args['element']}")
    result = lab_cut(str(args["element"]), str(args.get("mode", "light")), ctx.lab)
    ctx.undo.append((f"restore {args['element']}",
                     lambda: lab_restore([str(args["element"])], ctx.lab)))
    return Outcome(True, f"cut {args['element']}", result, changed=True)


@action("lab-restore", optional=("elements",))
def lab_restore_step(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """Restore failures injected in the lab (all of them when no elements are given)."""
    from controller.lab.faults import lab_restore
    if ctx.dry_run:
        return Outcome(True, "would restore")
    return Outcome(True, "restored", lab_restore(args.get("elements"), ctx.lab), changed=True)


@action("wait-until", required=("condition",), optional=("timeout",))
def wait_until(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """Wait until a condition holds: `lab-converged`."""
    from controller.lab.status import lab_wait
    if args["condition"] != "lab-converged":
        return Outcome(False, f"unknown condition {args['condition']!r} (known: lab-converged)")
    if ctx.dry_run:
        return Outcome(True, "would wait for the lab to converge")
    t0 = time.monotonic()
    result = lab_wait(ctx.lab, timeout=float(args.get("timeout", 60)))
    return Outcome(bool(result["converged"]),
                   f"converged after {time.monotonic() - t0:.1f} s" if result["converged"]
                   else "not converged before the timeout", {"converged": result["converged"]})


@action("assert", required=("condition",),
        optional=("failure", "threshold", "depth", "demands"))
def assert_step(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """What-if check on the model: with `failure` (elements) applied, `condition` must hold.

    Conditions: no-datacentre-pair-lost, no-member-isolated, services-connected, and
    capacity-within (`threshold`, `depth`, `demands`: see _capacity_over).
    """
    failure = args.get("failure") or []
    failure = [failure] if isinstance(failure, str) else list(failure)
    elements = [resolve_element(ctx.topology, str(f)) for f in failure]
    scenario = FailureAnalysis(ctx.topology).evaluate(elements)
    condition = args["condition"]
    if condition == "no-datacentre-pair-lost":
        bad = scenario["datacentre_pairs_disconnected"]
    elif condition == "no-member-isolated":
        bad = scenario["members_without_datacentre"]
    elif condition == "services-connected":
        bad = _services_broken(ctx, elements)
    elif condition == "capacity-within":
        bad = _capacity_over(ctx, elements, args)
    else:
        return Outcome(False, f"unknown condition {condition!r}")
    what = f"with {', '.join(failure)} failed" if failure else "in the intact network"
    return Outcome(not bad, f"{condition} {what}: " + ("holds" if not bad else f"violated: {bad}"),
                   {"scenario": scenario})


def _capacity_over(ctx: Context, elements: list, args: dict[str, Any]) -> list[str]:
    """Links loaded over `threshold` (default 1.0) of their capacity, or carrying priority
    traffic over its share, with `elements` out (e.g. drained for maintenance) and, at `depth` 1
    (default 0), under every single further failure (span, srlg, site) too; the demands of the
    `demands` file, else the gravity model (docs/capacity.md)."""
    from dataclasses import replace

    from controller.analysis.capacity import analyse
    from controller.errors import InputError
    from controller.model.demands import gravity, load_demands
    try:
        threshold, depth = float(args.get("threshold", 1.0)), int(args.get("depth", 0))
    except (TypeError, ValueError):
        raise InputError("capacity-within: threshold must be a number and depth 0 or 1, got "
                         f"{args.get('threshold')!r} and {args.get('depth')!r}") from None
    if not 0 < threshold or depth not in (0, 1):
        raise InputError(f"capacity-within: threshold must be > 0 and depth 0 or 1, got "
                         f"{threshold:g} and {depth}")
    topo = ctx.topology
    demands = load_demands(args["demands"], topo) if args.get("demands") else gravity(topo)
    down = outage(topo, elements)
    rest = replace(topo, links={k: v for k, v in topo.links.items() if k not in down.links})
    data = analyse(rest, demands, depth)
    share = data["priority_share"]
    return [f"{lk['id']} at {lk['worst_utilisation']:.0%}"
            + "".join(f" with {f['kind']}:{f['id']}" for f in lk["worst_failure"])
            for lk in data["links"] if lk["worst_utilisation"] > threshold + 1e-9] + \
        [f"{lk['id']}: priority {lk['by_class']['priority']:g} Gbps over its share"
         for lk in data["links"] if lk["by_class"]["priority"] > share * lk["capacity_gbps"]
         * (1 + 1e-9)]


def _services_broken(ctx: Context, elements: list) -> list[str]:
    """Services left with no datacentre, or with a member that reaches none of theirs."""
    down = outage(ctx.topology, elements)
    graph = site_graph(ctx.topology, down)
    failed_sites = down.sites
    broken = []
    for svc in ctx.topology.services.values():
        dcs = [d for d in svc.datacentres if d not in failed_sites]
        if not dcs:
            broken.append(f"{svc.id}: no datacentre left")
            continue
        for member in svc.members:
            if member in failed_sites:
                continue
            if member not in graph or not set(dcs) & nx.node_connected_component(graph, member):
                broken.append(f"{svc.id}: {member} reaches none of {', '.join(dcs)}")
    return broken


@action("compliance", optional=("threshold", "fix"))
def compliance_step(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """Intended vs running and the rules; with `fix: true` drifted routers are redeployed."""
    from controller.config.rules import load_rules
    from controller.services.compliance import compliance
    from controller.store import Store
    fix = bool(args.get("fix", False))
    report = compliance(ctx.topology, targets, load_rules(),
                        threshold=str(args.get("threshold", "low")), nr=_nornir(ctx),
                        store=Store(), fix=fix, commit=fix and not ctx.dry_run)
    failing = report.failing()
    unknown = [r.router for r in report.routers if r.compliant is None]
    drifted = [r.router for r in report.routers if r.compliant is False]
    ok = not failing and not unknown
    return Outcome(ok, f"score {report.score}%: {len(drifted)} drifted, {len(failing)} rule "
                   f"failures, {len(unknown)} unknown", {"drifted": drifted, "unknown": unknown,
                   "failing": [f"{r}: {v.rule}" for r, v in failing]},
                   changed=fix and not ctx.dry_run and bool(drifted))


@action("drill", required=("element",), optional=("kind", "mode", "gap_ms"))
def drill_step(ctx: Context, targets: list[str], args: dict[str, Any]) -> Outcome:
    """A measured failover drill in the lab (`kind: cut` for spans/SRLGs, `fail` for routers or
    sites); ok by the drill's verdict (`drill_targets.verdict`, as `ngk drill` and `ngk demo`):
    restored, every applicable target met and (if given) no gap above `gap_ms`."""
    from controller.services.drill_targets import verdict
    from controller.services.drills import DrillOptions, run_drill
    kind, mode = str(args.get("kind", "cut")), str(args.get("mode", "light"))
    if kind not in ("cut", "fail"):
        return Outcome(False, f"kind must be cut or fail, not {kind!r}")
    if ctx.dry_run:
        return Outcome(True, f"would drill: {kind} {args['element']} ({mode})")
    report = run_drill(kind, str(args["element"]), mode, DrillOptions(lab=ctx.lab))
    ctx.memory.setdefault("drills", []).append(report)
    limit = args.get("gap_ms")
    judged = verdict(report, None if limit is None else float(limit))
    affected = [f for f in report["flows"] if f["affected"]]
    gaps = [f["net_gap_ms"] for f in affected if f["net_gap_ms"] is not None]
    summary = (f"{kind} {args['element']} ({mode}): {len(affected)} affected flows, max gap "
               f"{max(gaps) if gaps else 0:.0f} ms"
               + (f", {len(report['stalls'])} prober stalls left out" if report["stalls"] else "")
               + ("" if judged["ok"] else f"; {len(judged['reasons'])} failed: "
                  + "; ".join(judged["reasons"])))
    return Outcome(judged["ok"], summary, {"report": report["artifacts"]["report"],
                                           "timeline": report["artifacts"]["timeline"],
                                           "reasons": judged["reasons"],
                                           "notes": judged["notes"]})
