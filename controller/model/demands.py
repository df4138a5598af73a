"""Traffic demands: who sends how many Gbps to whom, in which class (docs/capacity.md).

A demand runs from one endpoint to another. An endpoint is a router, a site or a service:
`router:ID`, `site:ID`, `service:ID` or a bare id (router, else site, else service; a site may be
named). A site or service is reached through all of its live routers (a service through the
routers of its datacentres), so traffic to it goes to the nearest one by IGP cost, and moves when
that one fails.

A demands file lists demands and/or a `gravity` section that generates them from member sizes
and service placement; `load_demands` validates it with file:line diagnostics like the topology.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.errors import Diagnostic, InputError
from controller.model.source import DocPath, Document, load_yaml
from controller.model.topology import Topology

CLASSES = ("priority", "clinical", "best-effort")
PRIORITY_SHARE = 0.33  # the priority queue's share of a link (the usual LLQ limit of a third)
GRAVITY_GBPS_PER_SIZE = 0.5
CLASS_MIX = {"priority": 0.1, "clinical": 0.6, "best-effort": 0.3}
SECTIONS = {"priority_share", "demands", "gravity"}
DEMAND_FIELDS = ({"src", "dst", "gbps"}, {"class"})
GRAVITY_FIELDS = {"gbps_per_size", "sizes", "classes", "services"}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A traffic endpoint: kind in router/site/service, its id and the routers that serve it."""

    kind: str
    id: str
    routers: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class Demand:
    src: Endpoint
    dst: Endpoint
    gbps: float
    cls: str  # one of CLASSES


@dataclass(frozen=True)
class Demands:
    demands: tuple[Demand, ...]
    priority_share: float = PRIORITY_SHARE
    source: str = "gravity"


def endpoint(topo: Topology, ref: str) -> Endpoint:
    """Resolve 'kind:id' or a bare id to an Endpoint; KeyError with the reason otherwise."""
    kind, ident = ref.split(":", 1) if ":" in ref else ("", ref)
    if kind not in ("", "router", "site", "service"):
        raise KeyError(f"unknown endpoint kind {kind!r} (use router, site or service)")
    if kind in ("", "router") and ident in topo.routers:
        return Endpoint("router", ident, (ident,))
    if kind in ("", "site"):
        try:
            site = topo.resolve_site(ident)
        except (KeyError, InputError):  # resolve_site raises UnknownName (an InputError)
            if kind:
                raise
        else:
            routers = tuple(sorted(r.id for r in topo.routers_at(site)))
            if not routers:
                raise KeyError(f"site {site!r} has no router")
            return Endpoint("site", site, routers)
    if kind in ("", "service") and ident in topo.services:
        service = topo.services[ident]
        return Endpoint("service", ident, tuple(sorted(
            r.id for dc in service.datacentres for r in topo.routers_at(dc))))
    raise KeyError(f"unknown {kind or 'router, site or service'} {ident!r}")


def gravity(topo: Topology, gbps_per_size: float = GRAVITY_GBPS_PER_SIZE,
            sizes: dict[str, float] | None = None, classes: dict[str, float] | None = None,
            services: dict[str, dict[str, Any]] | None = None,
            priority_share: float = PRIORITY_SHARE) -> Demands:
    """Member -> service demands: each member sends `gbps_per_size` x its size (default 1),
    shared among the services it uses by their weight (default 1), split into classes by the
    mix (or all in the service's own class), to the service's nearest live replica."""
    sizes, mix, services = sizes or {}, classes or CLASS_MIX, services or {}
    users: dict[str, list[str]] = {}
    for svc in sorted(topo.services.values(), key=lambda svc: svc.id):
        for m in svc.members:
            users.setdefault(m, []).append(svc.id)
    out = []
    for member, used in sorted(users.items()):
        src = endpoint(topo, f"site:{member}")
        weights = {s: float(services.get(s, {}).get("weight", 1.0)) for s in used}
        total = sum(weights.values())
        for s in used:
            gbps = gbps_per_size * sizes.get(member, 1.0) * weights[s] / total
            own = services.get(s, {}).get("class")
            for cls in CLASSES:
                share = (1.0 if cls == own else 0.0) if own else mix.get(cls, 0.0)
                if gbps * share > 0:
                    out.append(Demand(src, endpoint(topo, f"service:{s}"), gbps * share, cls))
    return Demands(tuple(out), priority_share, "gravity")


def load_demands(path: str | Path, topo: Topology) -> Demands:
    """Read and validate a demands file; raises InputError listing every error."""
    doc = load_yaml(path)
    return _Checker(doc, topo).build()


class _Checker:
    def __init__(self, doc: Document, topo: Topology):
        self.doc, self.topo = doc, topo
        self.diags: list[Diagnostic] = []

    def error(self, path: DocPath, message: str) -> None:
        self.diags.append(self.doc.diag(path, message))

    def number(self, path: DocPath, value: Any, lo: float = 0.0, hi: float | None = None,
               strict: bool = True) -> float | None:
        bad = isinstance(value, bool) or not isinstance(value, (int, float))
        if not bad and ((value <= lo if strict else value < lo) or (hi is not None and value > hi)):
            bad = True
        if bad:
            bound = f"> {lo}" if strict else f">= {lo}"
            self.error(path, f"must be a number {bound}{f' and <= {hi}' if hi else ''}, "
                             f"got {value!r}")
            return None
        return float(value)

    def mapping(self, path: DocPath, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.error(path, "must be a mapping")
            return {}
        return value

    def build(self) -> Demands:
        data = self.doc.data
        if not isinstance(data, dict):
            raise InputError([self.doc.diag((), "a demands file must be a mapping with "
                                                "'demands' and/or 'gravity'")])
        for key in sorted(data.keys() - SECTIONS, key=str):
            self.error((str(key),), f"unknown section {key!r}"
                       f" (known: {', '.join(sorted(SECTIONS))})")
        if "demands" not in data and "gravity" not in data:
            self.error((), "no 'demands' and no 'gravity' section: nothing to route")
        share = PRIORITY_SHARE
        if "priority_share" in data:
            share = self.number(("priority_share",), data["priority_share"], 0.0, 1.0) or share
        out = list(self.gravity(data["gravity"], share)) if "gravity" in data else []
        raw = data.get("demands", [])
        if not isinstance(raw, list):
            self.error(("demands",), "must be a list")
            raw = []
        for i, entry in enumerate(raw):
            demand = self.demand(("demands", i), entry)
            if demand:
                out.append(demand)
        if self.diags:
            raise InputError(self.diags)
        return Demands(tuple(out), share, self.doc.file)

    def demand(self, path: DocPath, entry: Any) -> Demand | None:
        if not isinstance(entry, dict):
            self.error(path, "must be a mapping with src, dst, gbps and class")
            return None
        required, optional = DEMAND_FIELDS
        for key in sorted(required - entry.keys()):
            self.error(path, f"missing required field {key!r}")
        for key in sorted(entry.keys() - required - optional, key=str):
            self.error(path + (str(key),), f"unknown field {key!r}")
        ends = [self.endpoint(path + (k,), entry[k]) for k in ("src", "dst") if k in entry]
        gbps = self.number(path + ("gbps",), entry["gbps"]) if "gbps" in entry else None
        cls = entry.get("class", "best-effort")
        if cls not in CLASSES:
            self.error(path + ("class",), f"class must be one of {', '.join(CLASSES)}, got {cls!r}")
            return None
        if len(ends) != 2 or None in ends or gbps is None:
            return None
        if set(ends[0].routers) == set(ends[1].routers):  # type: ignore[union-attr]
            self.error(path, "src and dst are the same routers: the demand crosses no link")
            return None
        return Demand(ends[0], ends[1], gbps, cls)  # type: ignore[arg-type]

    def endpoint(self, path: DocPath, ref: Any) -> Endpoint | None:
        if not isinstance(ref, str):
            self.error(path, f"must be a router, site or service id, got {ref!r}")
            return None
        try:
            return endpoint(self.topo, ref)
        except (KeyError, InputError) as exc:
            self.error(path, str(exc.args[0]))
            return None

    def gravity(self, raw: Any, share: float) -> tuple[Demand, ...]:
        path: DocPath = ("gravity",)
        raw = self.mapping(path, raw or {})
        for key in sorted(raw.keys() - GRAVITY_FIELDS, key=str):
            self.error(path + (str(key),), f"unknown field {key!r} (known: "
                                           f"{', '.join(sorted(GRAVITY_FIELDS))})")
        per = raw.get("gbps_per_size", GRAVITY_GBPS_PER_SIZE)
        per = self.number(path + ("gbps_per_size",), per) or GRAVITY_GBPS_PER_SIZE
        sizes = {}
        for site, size in self.mapping(path + ("sizes",), raw.get("sizes", {})).items():
            if site not in self.topo.sites or self.topo.sites[site].kind != "member":
                self.error(path + ("sizes", str(site)), f"{site!r} is not a member site")
            elif (num := self.number(path + ("sizes", site), size, strict=False)) is not None:
                sizes[site] = num
        classes = {}
        for cls, part in self.mapping(path + ("classes",), raw.get("classes", CLASS_MIX)).items():
            if cls not in CLASSES:
                self.error(path + ("classes", str(cls)), f"unknown class {cls!r}")
            elif (num := self.number(path + ("classes", cls), part, strict=False)) is not None:
                classes[cls] = num
        if classes and abs(sum(classes.values()) - 1.0) > 1e-9:
            self.error(path + ("classes",), f"class shares must add up to 1, got "
                                            f"{sum(classes.values()):g}")
        services: dict[str, dict[str, Any]] = {}
        for sid, spec in self.mapping(path + ("services",), raw.get("services", {})).items():
            spath = path + ("services", str(sid))
            spec = self.mapping(spath, spec)
            if sid not in self.topo.services:
                self.error(spath, f"unknown service {sid!r}")
                continue
            for key in sorted(spec.keys() - {"weight", "class"}, key=str):
                self.error(spath + (str(key),), f"unknown field {key!r} (known: class, weight)")
            if "weight" in spec:
                self.number(spath + ("weight",), spec["weight"])
            if "class" in spec and spec["class"] not in CLASSES:
                self.error(spath + ("class",), f"class must be one of {', '.join(CLASSES)}, "
                                               f"got {spec['class']!r}")
            services[sid] = spec
        if self.diags:
            return ()
        return gravity(self.topo, per, sizes, classes, services, share).demands
