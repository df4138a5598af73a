"""Select routers from the model: the CLI's `--limit` and a playbook step's `targets`.

Both speak the same filter keys, matched per router by `router_matches`:

- `site`: site id or site name;  `role`, `platform`: exact;  `kind`: the site's kind;
- `group`: `site_<id>`, `role_<role>`, `region_<region>`, or a plain site id or role;
- `host`: router id or glob (`osl-*`).

They combine differently: `select_limit` takes the UNION of its terms (each must match a router),
`select_targets` the INTERSECTION of its keys (any value within a key).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase

from controller.errors import InputError, UnknownName
from controller.model.topology import Topology

KEYS = ("site", "role", "platform", "group", "host", "kind")


def router_matches(topo: Topology, router: str, key: str, values: Iterable[str]) -> bool:
    """Whether `router` matches any of `values` under filter `key` (UnknownName on unknown keys)."""
    r = topo.routers[router]
    site = topo.sites[r.site]
    wanted = set(values)
    if key == "site":
        return r.site in wanted or site.name in wanted
    if key == "role":
        return r.role in wanted
    if key == "platform":
        return r.platform in wanted
    if key == "group":
        groups = {f"site_{r.site}", f"role_{r.role}", r.site, r.role}
        if site.region:
            groups.add(f"region_{site.region}")
        return bool(groups & wanted)
    if key == "host":
        return any(fnmatchcase(r.id, v) for v in wanted)
    if key == "kind":
        return site.kind in wanted
    raise UnknownName(f"unknown router filter {key!r} (use {', '.join(KEYS)})")


def select_limit(topo: Topology, limit: str | None) -> list[str]:
    """Sorted router ids for a `--limit`: comma-separated terms, each a router id or glob or
    KEY=VALUE (a key of `KEYS`); the UNION of the terms. No limit selects every router; a term
    with an unknown key or matching no router is an UnknownName error naming it."""
    if not limit:
        return sorted(topo.routers)
    chosen: set[str] = set()
    for term in (t.strip() for t in limit.split(",") if t.strip()):
        key, _, value = term.partition("=")
        if not value:
            key, value = "host", term
        elif key not in KEYS:
            raise InputError(f"--limit {term!r}: use {', '.join(k + '=' for k in KEYS[:-1])} "
                           f"or {KEYS[-1]}=")
        hits = {r for r in topo.routers if router_matches(topo, r, key, [value])}
        if not hits:
            raise UnknownName(f"--limit {term!r} matches no router")
        chosen |= hits
    return sorted(chosen)


def select_targets(topo: Topology, targets: Mapping[str, Sequence[str]],
                   limit: Iterable[str] | None = None) -> list[str]:
    """Sorted router ids matching EVERY key of `targets` (any value within a key; no keys selects
    every router), narrowed to `limit` (router ids or globs) when given. A filter that matches
    nothing selects nothing; an unknown key is an UnknownName error."""
    for key in targets:
        if key not in KEYS:
            raise UnknownName(f"unknown router filter {key!r} (use {', '.join(KEYS)})")
    narrow = list(limit) if limit else None
    return sorted(r for r in topo.routers
                  if all(router_matches(topo, r, k, v) for k, v in targets.items())
                  and (narrow is None or router_matches(topo, r, "host", narrow)))
