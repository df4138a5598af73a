"""`ngk discover` against the live netns lab: nothing on the clean lab; then every kind of
difference planted by hand at once (two patch cords swapped, an OSPF cost set with vtysh, an
extra address, a router the model does not know running lldpd, a cable the model does not have,
a cut link, a router whose SSH is unreachable) and discover must report exactly those. Everything
is put back afterwards, pass or fail, and the lab is discovered clean again."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from controller.cli.main import app
from controller.lab import qos
from controller.lab.faults import lab_cut, lab_restore
from controller.lab.status import lab_wait
from controller.model.load import load_topology
from controller.services.discover import EXIT_DIFFERENT
from conftest import LAB, wait_for

pytestmark = pytest.mark.integration
ROGUE = "ngk-disc-rogue"  # netns of the unknown router (not a lab name: the lab never sees it)


def discover(lab, inventory: Path | None = None) -> tuple[int, dict]:
    inv = inventory or Path(lab.state.dir) / "inventory"
    res = CliRunner().invoke(app, ["discover", "-t", lab.state.topology, "-i", str(inv),
                                   "--json"])
    assert res.stdout.strip(), res.stderr
    return res.exit_code, json.loads(res.stdout)


def kinds(out: dict) -> set[tuple[str, str]]:
    return {(d["kind"], d["where"]) for d in out["differences"]}


def ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, timeout=20)


def vtysh(lab, router: str, *commands: str) -> None:
    rs = lab.state.routers[router]
    args = ["nsenter", f"--uts={rs.uts}", "vtysh", "-N", rs.netns]
    for cmd in commands:
        args += ["-c", cmd]
    subprocess.run(args, check=True, capture_output=True, timeout=20)


def cable(lab, a: tuple[str, str], b: tuple[str, str]) -> None:
    """Whatever is plugged into a and b is unplugged; a new cable (veth pair) joins them. A port
    of the model keeps its class-of-service policy, as `lab up` gave it (a router's is port
    config: recabling does not change it)."""
    (ra, ia), (rb, ib) = a, b
    na, nb = lab.state.routers[ra].netns, lab.state.routers[rb].netns
    ip("-n", na, "link", "del", ia, check=False)
    ip("-n", nb, "link", "del", ib, check=False)
    ip("link", "add", ia, "netns", na, "type", "veth", "peer", "name", ib, "netns", nb)
    rates = qos.link_rates(lab.topo)
    for router, iface, netns in ((ra, ia, na), (rb, ib, nb)):
        if iface in rates[router]:
            qos.install(netns, {iface: rates[router][iface]})
        ip("-n", netns, "link", "set", iface, "up")


@contextmanager
def swap_cords(lab) -> Iterator[None]:
    """At ham-pe1 the cords of osl-ham-1 (eth1) and osl-ham-2 (eth2) are swapped."""
    try:
        cable(lab, ("osl-cr1", "eth2"), ("ham-pe1", "eth2"))
        cable(lab, ("osl-cr2", "eth2"), ("ham-pe1", "eth1"))
        yield
    finally:  # as the lab built them
        cable(lab, ("osl-cr1", "eth2"), ("ham-pe1", "eth1"))
        cable(lab, ("osl-cr2", "eth2"), ("ham-pe1", "eth2"))


@contextmanager
def cost(lab) -> Iterator[None]:
    """brg-pe1 eth2 (link brg-aal) gets OSPF cost 4242 by hand."""
    vtysh(lab, "brg-pe1", "configure terminal", "interface eth2", "ip ospf cost 4242")
    try:
        yield
    finally:
        vtysh(lab, "brg-pe1", "configure terminal", "interface eth2",
              f"ip ospf cost {lab.topo.links['brg-aal'].metric}")


@contextmanager
def address(lab) -> Iterator[None]:
    """aal-pe1 eth3 (link aal-ham) gets a second address by hand."""
    netns = lab.state.routers["aal-pe1"].netns
    ip("-n", netns, "addr", "add", "192.0.2.1/32", "dev", "eth3")
    try:
        yield
    finally:
        ip("-n", netns, "addr", "del", "192.0.2.1/32", "dev", "eth3", check=False)


@contextmanager
def extra_cable(lab) -> Iterator[None]:
    """A cable the model does not have: krs-ce1 eth9 to unn-ce1 eth9 (no addresses)."""
    cable(lab, ("krs-ce1", "eth9"), ("unn-ce1", "eth9"))
    try:
        yield
    finally:
        ip("-n", lab.state.routers["krs-ce1"].netns, "link", "del", "eth9", check=False)


@contextmanager
def rogue(lab) -> Iterator[None]:
    """An unknown router: a netns running lldpd as `rogue-sw1`, cabled to amk-ce1 eth9."""
    ip("netns", "del", ROGUE, check=False)
    ip("netns", "add", ROGUE)
    # lldpd's unprivileged half must reach its socket: a 0755 directory (pytest's are 0700)
    tmp = Path(tempfile.mkdtemp(prefix=f"{ROGUE}-", dir="/run"))
    tmp.chmod(0o755)
    proc = None
    try:
        ip("link", "add", "eth9", "netns", lab.state.routers["amk-ce1"].netns, "type", "veth",
           "peer", "name", "eth0", "netns", ROGUE)
        ip("-n", lab.state.routers["amk-ce1"].netns, "link", "set", "eth9", "up")
        ip("-n", ROGUE, "link", "set", "eth0", "up")
        conf = tmp / "lldpd.conf"
        conf.write_text("configure system hostname rogue-sw1\nconfigure lldp tx-interval 1\n")
        with open(tmp / "lldpd.log", "ab") as log:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ROGUE, "/usr/sbin/lldpd", "-d", "-u",
                 str(tmp / "lldpd.socket"), "-O", str(conf), "-I", "eth0"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        yield
    finally:
        if proc is not None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        pids = subprocess.run(["ip", "netns", "pids", ROGUE], capture_output=True, text=True)
        for pid in pids.stdout.split():  # lldpd's privilege-separated child, if it stayed
            os.kill(int(pid), signal.SIGKILL)
        ip("-n", lab.state.routers["amk-ce1"].netns, "link", "del", "eth9", check=False)
        ip("netns", "del", ROGUE, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def cut(lab) -> Iterator[None]:
    lab_cut("unn-1", name=LAB)
    try:
        yield
    finally:
        lab_restore(["unn-1"], name=LAB)


def unreachable(tmp: Path, lab) -> Path:
    """A copy of the lab's inventory where tos-cr2's SSH port is closed."""
    src = Path(lab.state.dir) / "inventory"
    for name in ("groups.yaml", "defaults.yaml"):
        (tmp / name).write_text((src / name).read_text())
    hosts = yaml.safe_load((src / "hosts.yaml").read_text())
    hosts["tos-cr2"]["port"] = 9  # discard: nothing listens, the connection is refused
    (tmp / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    return tmp


PLANTED = {
    ("wrong-ports", "osl-ham-1"), ("wrong-ports", "osl-ham-2"),
    ("cost", "brg-pe1 eth2"), ("address", "aal-pe1 eth3"),
    ("unknown-router", "rogue-sw1"), ("extra-link", "krs-ce1 eth9 - unn-ce1 eth9"),
    ("missing-link", "unn-1"), ("unreachable-router", "tos-cr2"),
}


def test_clean_lab_as_modelled(lab_shared) -> None:
    code, out = discover(lab_shared)
    assert (code, out["differences"]) == (0, [])
    s = out["summary"]
    assert s["read"] == s["routers"] == len(lab_shared.topo.routers)
    assert s["links_seen"] == len(lab_shared.topo.links) and out["ok"] is True
    res = CliRunner().invoke(app, ["discover", "history", "--json"])  # the run was recorded
    assert out["run"] in [r["run"] for r in json.loads(res.stdout)["trend"]]


def test_import_from_clean_lab(lab_shared, tmp_path: Path) -> None:
    """`topology import --from-devices` on the clean lab gives the model's IP layer back."""
    lab, out = lab_shared, tmp_path / "as-is.yaml"
    res = CliRunner().invoke(app, ["topology", "import", "--from-devices", "-t",
                                   lab.state.topology, "-i", str(Path(lab.state.dir) /
                                                                 "inventory"),
                                   "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["valid"] and report["links"]["as_modelled"] == sorted(lab.topo.links)
    as_is = load_topology(out)
    assert as_is.links == lab.topo.links and as_is.spans == lab.topo.spans
    assert "cannot be discovered" in report["note"]


def test_planted_differences_exactly(lab_exclusive, tmp_path: Path) -> None:
    lab = lab_exclusive
    inv = unreachable(tmp_path, lab)
    with ExitStack() as stack:
        for plant in (swap_cords(lab), cost(lab), address(lab), extra_cable(lab),
                      rogue(lab), cut(lab)):
            stack.enter_context(plant)
        deadline = time.monotonic() + 45  # LLDP (1 s, TTL 4 s) and OSPF (dead 4 s) settle
        while True:
            code, out = discover(lab, inv)
            if kinds(out) == PLANTED or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert kinds(out) == PLANTED
        got = {(d["kind"], d["where"]): d for d in out["differences"]}
        assert code == EXIT_DIFFERENT and out["ok"] is False
        assert (got[("wrong-ports", "osl-ham-1")]["device"],
                got[("wrong-ports", "osl-ham-2")]["device"]) == (
            "ham-pe1 eth2 - osl-cr1 eth2", "ham-pe1 eth1 - osl-cr2 eth2")
        assert (got[("cost", "brg-pe1 eth2")]["model"],
                got[("cost", "brg-pe1 eth2")]["device"]) == (
            lab.topo.links["brg-aal"].metric, 4242)
        aal = str(lab.topo.links["aal-ham"].a.address)
        assert got[("address", "aal-pe1 eth3")]["device"] == f"{aal}, 192.0.2.1/32"
        assert got[("unknown-router", "rogue-sw1")]["device"] == "amk-ce1 eth9 (its port eth0)"
        assert out["summary"]["unreachable"] == 1
        res = CliRunner().invoke(app, ["topology", "import", "--from-devices", "-t",
                                       lab.state.topology, "-i", str(inv), "-o",
                                       str(tmp_path / "as-is.yaml"), "--json"])
        links = json.loads(res.stdout)["links"]
        assert (links["recabled"], links["added"], links["dropped"]) == (
            ["osl-ham-1", "osl-ham-2"], ["krs-ce1-unn-ce1-found-1"], ["unn-1"])
        as_is = load_topology(tmp_path / "as-is.yaml")
        assert as_is.links["osl-ham-1"].b.interface == "eth2"
        assert as_is.links["brg-aal"].metric == 4242
    lab_wait(LAB, timeout=60)

    def clean() -> tuple[int, dict] | None:
        code, out = discover(lab)
        return (code, out) if out["ok"] else None

    code, out = wait_for(clean, timeout=30, step=1, what="a clean discover after the restore")
    assert (code, out["differences"]) == (0, [])

