"""A topology file with its management subnet moved, so a lab can run beside other labs."""
from __future__ import annotations

from pathlib import Path

import yaml

from controller.model.load import topology_path


def with_mgmt_subnet(subnet: str, out: Path, source: str | Path | None = None) -> Path:
    """Write `source` (default: the embedded topology) to `out` with management pool `subnet`
    (e.g. "172.31.200.0/24"); router management addresses are re-assigned from it in order."""
    doc = yaml.safe_load(topology_path(source).read_text())
    doc.setdefault("addressing", {})["mgmt"] = subnet
    for router in doc.get("routers") or []:
        router.pop("mgmt", None)
    out.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return out
