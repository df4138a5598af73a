"""`ngk capacity plan`: the cheapest capacity upgrades so that no single failure pushes a link over
a threshold and the priority class never exceeds its share (docs/capacity.md).

Routing follows the OSPF metrics only, never the capacities, so every scenario's loads are the
same whatever is upgraded. Each link's conditions (in every scenario and both directions: load
<= threshold x capacity, priority load <= share x capacity) involve its own capacity only, and
the cost is a sum over links: the cheapest plan is every link's fewest sufficient steps, chosen
independently. That optimum is exact, without a solver (an integer program over the same
conditions has the same optimum). IGP metric changes couple the links and are searched apart
(capacity_metrics.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from controller.analysis.capacity import analyse
from controller.errors import InputError
from controller.model.demands import Demands
from controller.model.source import DocPath, load_yaml
from controller.model.topology import Topology

EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Step:
    """One upgrade step of a link: Gbps added (None: the link's own capacity, i.e. one more
    identical circuit) and its cost."""

    gbps: float | None = None
    cost: float = 1.0


def load_steps(path: str | Path, topo: Topology) -> tuple[Step, dict[str, Step]]:
    """A steps file: `default: {step_gbps, cost}` and `links: {ID: {step_gbps, cost}}`."""
    doc = load_yaml(path)
    diags = []

    def step(where: DocPath, raw: Any) -> Step:
        if not isinstance(raw, dict):
            diags.append(doc.diag(where, "must be a mapping with step_gbps and/or cost"))
            return Step()
        for key in sorted(raw.keys() - {"step_gbps", "cost"}, key=str):
            diags.append(doc.diag(where + (str(key),), f"unknown field {key!r} "
                                                       "(known: cost, step_gbps)"))
        vals = {}
        for key in ("step_gbps", "cost"):
            v = raw.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                                  or v <= 0):
                diags.append(doc.diag(where + (key,), f"must be a number > 0, got {v!r}"))
            elif v is not None:
                vals[key] = float(v)
        return Step(vals.get("step_gbps"), vals.get("cost", 1.0))

    data = doc.data if isinstance(doc.data, dict) else {}
    if not isinstance(doc.data, dict):
        diags.append(doc.diag((), "a steps file must be a mapping with 'default' and/or 'links'"))
    for key in sorted(data.keys() - {"default", "links"}, key=str):
        diags.append(doc.diag((str(key),), f"unknown section {key!r} (known: default, links)"))
    default = step(("default",), data["default"]) if "default" in data else Step()
    links = data.get("links", {})
    if not isinstance(links, dict):
        diags.append(doc.diag(("links",), "must be a mapping of link id to a step"))
        links = {}
    steps = {}
    for lid, raw in links.items():
        if lid not in topo.links:
            diags.append(doc.diag(("links", str(lid)), f"unknown link {lid!r}"))
        else:
            steps[lid] = step(("links", lid), raw)
    if diags:
        raise InputError(diags)
    return default, steps


def plan(topo: Topology, demands: Demands, threshold: float, kinds: Iterable[str],
         default: Step = Step(), steps: dict[str, Step] | None = None) -> dict[str, Any]:
    """The cheapest upgrades for every single failure of `kinds` (the JSON of the command)."""
    if not 0 < threshold <= 1:
        raise InputError(f"threshold must be > 0 and <= 1, got {threshold:g}")
    steps = steps or {}
    data = analyse(topo, demands, 1, kinds)
    share = data["priority_share"]
    upgrades, after = [], 0.0
    for lk in data["links"]:
        cap = lk["capacity_gbps"]
        worst = lk["worst_utilisation"] * cap
        need = max(worst / threshold, lk["by_class"]["priority"] / share)
        step = steps.get(lk["id"], default)
        size = step.gbps or cap
        n = max(0, math.ceil((need - cap) / size - EPS))
        new = cap + n * size
        after = max(after, worst / new)
        if n:
            upgrades.append({
                "id": lk["id"], "capacity_gbps": cap, "new_capacity_gbps": new, "steps": n,
                "step_gbps": size, "cost": n * step.cost,
                "worst_utilisation": lk["worst_utilisation"],
                "new_worst_utilisation": round(worst / new, 9),
                "worst_failure": lk["worst_failure"]})
    upgrades.sort(key=lambda u: (-u["cost"], u["id"]))
    return {"threshold": threshold, "kinds": data["kinds"], "priority_share": share,
            "upgrades": upgrades,
            "summary": {"links_upgraded": len(upgrades),
                        "total_cost": sum(u["cost"] for u in upgrades),
                        "added_gbps": sum(u["new_capacity_gbps"] - u["capacity_gbps"]
                                          for u in upgrades),
                        "scenarios": data["summary"]["scenarios"],
                        "max_utilisation_before": data["summary"]["max_utilisation"],
                        "max_utilisation_after": round(after, 9)}}
