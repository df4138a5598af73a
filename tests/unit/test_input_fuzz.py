"""Property-based fuzzing of every input loader and of the CLI that reads the same files.

Seeds are the files ngk ships (controller/data, docs/schedule.example.yaml, a small Topology
Zoo GraphML) plus small synthetic demands and secrets files. Each example mutates one seed
(lines deleted / duplicated / swapped, truncation, a scalar replaced by other text / a number /
a list / a mapping / null / a huge string, control characters, a billion-laughs alias bomb,
random bytes) and feeds it to the loader. A loader may accept the input or reject it with the
typed user errors of controller/errors.py (NgkError); anything else (KeyError, TypeError,
RecursionError, a yaml error ...) fails the test, and so does one input taking more than 10 s.

A few examples per kind also run the real CLI in a subprocess: never a traceback on stderr,
and exit 0 exactly when the Python loader accepted the input (non-zero when it rejected it).
Run with `-s` to see how many inputs each kind tried and rejected cleanly.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.config.rules import load_rules
from controller.credentials import load_secrets
from controller.errors import NgkError
from controller.model.demands import load_demands
from controller.model.importer import import_graphml
from controller.model.load import load_topology
from controller.playbook.model import load_playbook
from controller.services.schedule import load_schedule
from controller.southbound.snmp.inventory import load_inventory

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "controller" / "data"
TOPOLOGY = DATA / "topology" / "ngk.yaml"
HANG_SECONDS = 10
TOPO = load_topology(TOPOLOGY)

DEMANDS_SEED = """\
priority_share: 0.3
demands:
  - {src: osl-cr1, dst: trd-cr1, gbps: 2.5, class: clinical}
  - {src: "site:ahus", dst: "service:kjernejournal", gbps: 1, class: priority}
  - {src: tos, dst: helsenorge, gbps: 0.5}
gravity:
  gbps_per_size: 0.5
  sizes: {ahus: 2, hauk: 1, unn: 1.5}
  classes: {priority: 0.1, clinical: 0.6, best-effort: 0.3}
  services:
    kjernejournal: {weight: 2, class: clinical}
    e-resept: {weight: 1}
"""
SECRETS_SEED = """\
ssh:
  username: ngk
  password: "s3cret-ssh"
netconf:
  username: ngk
  key_file: /etc/ngk/netconf.key
snmp:
  user: ngkmon
  auth_key: "auth-key-123"
  priv_key: "priv-key-456"
hosts:
  osl-cr1:
    ssh: {username: admin, password: other}
"""


def _read(path: Path) -> bytes:
    return path.read_bytes()


SEEDS: dict[str, list[bytes]] = {
    "topology": [_read(TOPOLOGY)],
    "graphml": [_read(ROOT / "tests" / "data" / "zoo" / "Sunet.graphml"),
                _read(ROOT / "tests" / "data" / "zoo" / "Nordu2010.graphml")],
    "playbook": [_read(p) for p in sorted((DATA / "playbooks").glob("*.yaml"))],
    "rules": [_read(DATA / "rules" / "compliance.yaml")],
    "schedule": [_read(ROOT / "docs" / "schedule.example.yaml")],
    # the shipped inventory points at /etc/ngk/secrets.yaml: a test secrets file instead
    "inventory": [_read(DATA / "inventory" / n).replace(b"/etc/ngk/secrets.yaml",
                                                        b"../inv-secrets.yaml")
                  for n in ("hosts.yaml", "groups.yaml", "defaults.yaml")],
    "demands": [DEMANDS_SEED.encode()],
    "secrets": [SECRETS_SEED.encode()],
}
INVENTORY_FILES = ("hosts.yaml", "groups.yaml", "defaults.yaml")

# kind -> Counter(tried, rejected, accepted, cli)
STATS: dict[str, Counter] = {kind: Counter() for kind in SEEDS}
CLI_BUDGET = {"topology": 8, "playbook": 6, "rules": 6, "schedule": 6, "graphml": 5,
              "demands": 5}
CLI_USED: Counter = Counter()


# --- mutations --------------------------------------------------------------------------------
BOMB = "x-bomb:\n  - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9))
XML_BOMB = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
            + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 9}">\n'
                      for i in range(1, 10))
            + "]>\n")
SCALAR = re.compile(rb"(:[ \t]+|-[ \t]+|>)([^\s<#\[\]{},][^\n<#]*)")
CONTROL = [chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 0x7f, 0x85, 0x2028, 0x202e)]

replacement = st.one_of(
    st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.text(max_size=20).map(lambda s: ('"' + s.replace("\\", "\\\\").replace('"', '\\"')
                                        + '"').encode("utf-8", "surrogatepass")),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(lambda i: str(i).encode()),
    st.floats(allow_nan=True).map(lambda f: repr(f).encode()),
    st.sampled_from([b"[1, 2, [3]]", b"{a: 1, b: [x]}", b"null", b"~", b"[]", b"{}", b"true",
                     b".nan", b"-.inf", b"0x1F", b"1e999", b"2001-02-30", b"!!binary aGk=",
                     b"!!python/object:os.system ls", b"*undefined", b"&a", b"? x", b"'",
                     b"|", b">-", b"!!set {a, b}", b"!!omap [a: 1]", b"<<: *x",
                     b"{<<: {a: 1}}", b"[*x]"]),
    st.integers(min_value=10_000, max_value=2_000_000).map(lambda n: b"y" * n),
)


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


@st.composite
def mutated(draw, seeds: list[bytes], xml: bool = False) -> bytes:
    """One seed with one to three mutations applied."""
    data = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "truncate", "scalar",
                                   "scalar", "scalar", "control", "bomb", "bytes", "indent"]))
        lines = _lines(data)
        n = len(lines)
        if op == "delete":
            i = draw(st.integers(0, n - 1))
            k = draw(st.integers(1, 5))
            del lines[i:i + k]
            data = b"\n".join(lines)
        elif op == "duplicate":
            i = draw(st.integers(0, n - 1))
            lines[i:i] = [lines[i]] * draw(st.integers(1, 3))
            data = b"\n".join(lines)
        elif op == "swap":
            i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
        elif op == "indent":
            i = draw(st.integers(0, n - 1))
            lines[i] = draw(st.sampled_from([b"  ", b"\t", b"    ", b""])) + lines[i].lstrip()
            data = b"\n".join(lines)
        elif op == "truncate":
            data = data[:draw(st.integers(0, len(data)))]
        elif op == "scalar":
            spots = list(SCALAR.finditer(data))
            if spots:
                m = draw(st.sampled_from(spots))
                new = draw(replacement)
                if xml:
                    new = new.replace(b"<", b"&lt;") if draw(st.booleans()) else new
                data = data[:m.start(2)] + new + data[m.end(2):]
        elif op == "control":
            at = draw(st.integers(0, len(data)))
            ch = draw(st.sampled_from(CONTROL)).encode("utf-8")
            data = data[:at] + ch * draw(st.integers(1, 3)) + data[at:]
        elif op == "bomb":
            if xml:
                body = data.split(b"?>", 1)[-1]
                data = XML_BOMB.encode() + body.replace(b"</graphml>",
                                                        b"<x>&lol9;</x></graphml>", 1)
            else:
                spots = list(SCALAR.finditer(data))
                if spots and draw(st.booleans()):
                    m = draw(st.sampled_from(spots))
                    data = data[:m.start(2)] + b"*a8" + data[m.end(2):]
                data = BOMB.encode() + data
        elif op == "bytes":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:]
    return data


# --- running one input ------------------------------------------------------------------------
class Hang(Exception):
    pass


@contextmanager
def time_bound(what: str):
    """Fail an input that takes more than HANG_SECONDS (SIGALRM in the main thread, else timing)."""
    main = threading.current_thread() is threading.main_thread()
    if main:
        def alarm(signum, frame):
            raise Hang(f"{what}: no result after {HANG_SECONDS} s")
        old = signal.signal(signal.SIGALRM, alarm)
        signal.alarm(HANG_SECONDS)
    start = time.monotonic()
    try:
        yield
    finally:
        if main:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    took = time.monotonic() - start
    assert took <= HANG_SECONDS, f"{what}: took {took:.1f} s (bound {HANG_SECONDS} s)"


def run_loader(kind: str, call) -> bool:
    """Run a loader; True if it accepted the input, False if it raised an NgkError. Any other
    exception propagates and fails the example (Hypothesis shrinks and shows it)."""
    STATS[kind]["tried"] += 1
    try:
        with time_bound(kind):
            result = call()
    except NgkError as exc:
        assert str(exc).strip(), f"{kind}: {type(exc).__name__} with an empty message"
        STATS[kind]["rejected"] += 1
        return False
    if kind == "inventory" and result[1]:  # per-host diagnostics: a clean rejection too
        STATS[kind]["rejected"] += 1
        return False
    STATS[kind]["accepted"] += 1
    return True


CLI_ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


def run_cli(kind: str, argv: list[str], accepted: bool, workdir: Path) -> None:
    """The real CLI on the same input: no traceback, exit 0 exactly when the loader accepted."""
    if CLI_USED[kind] >= CLI_BUDGET.get(kind, 0):
        return
    CLI_USED[kind] += 1
    STATS[kind]["cli"] += 1
    env = {**CLI_ENV, "NGK_STATE_DIR": str(workdir / "state"), "NGK_TOPOLOGY": str(TOPOLOGY)}
    try:
        proc = subprocess.run([sys.executable, "-m", "controller.cli", *argv], cwd=workdir,
                              env=env, capture_output=True, text=True, errors="replace",
                              timeout=HANG_SECONDS + 20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"ngk {' '.join(argv)}: hung")
    assert "Traceback" not in proc.stderr, f"ngk {' '.join(argv)}:\n{proc.stderr[-3000:]}"
    if accepted:
        return  # a valid file may still fail later for other reasons (no lab, no routers)
    assert proc.returncode != 0, (f"ngk {' '.join(argv)} exited 0 on a file the loader "
                                  f"rejected:\n{proc.stdout[-1500:]}")


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workdir():
    base = Path(tempfile.mkdtemp(prefix="ngk-fuzz-"))  # outside any git checkout (secrets)
    (base / "state").mkdir()
    (base / "configs").mkdir()
    _write(base / "inv-secrets.yaml", SECRETS_SEED.encode()).chmod(0o600)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    for kind, c in STATS.items():
        if c["tried"]:
            print(f"\nfuzz {kind}: {c['tried']} inputs tried, {c['rejected']} rejected cleanly, "
                  f"{c['accepted']} accepted, {c['cli']} also through the CLI, 0 tracebacks")


FUZZ = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- the loaders ------------------------------------------------------------------------------
@FUZZ
@given(data=mutated(SEEDS["topology"]))
def test_topology(workdir, data):
    path = _write(workdir / "topology.yaml", data)
    accepted = run_loader("topology", lambda: load_topology(path))
    run_cli("topology", ["topology", "validate", str(path)], accepted, workdir)


@settings(FUZZ, max_examples=60)
@given(data=mutated(SEEDS["graphml"], xml=True))
def test_graphml(workdir, data):
    path = _write(workdir / "zoo.graphml", data)
    accepted = run_loader("graphml", lambda: import_graphml(path))
    run_cli("graphml", ["topology", "import", str(path), "--out", str(workdir / "imported.yaml")],
            accepted, workdir)


@FUZZ
@given(data=mutated(SEEDS["playbook"]))
def test_playbook(workdir, data):
    path = _write(workdir / "playbook.yaml", data)
    accepted = run_loader("playbook", lambda: load_playbook(path, topo=TOPO))
    run_cli("playbook", ["play", str(path), "--dry-run", "--topology", str(TOPOLOGY)], accepted,
            workdir)


@FUZZ
@given(data=mutated(SEEDS["rules"]))
def test_rules(workdir, data):
    path = _write(workdir / "rules.yaml", data)
    accepted = run_loader("rules", lambda: load_rules(path))
    run_cli("rules", ["compliance", "--rules", str(path), "--from", str(workdir / "configs"),
                      "--topology", str(TOPOLOGY), "--no-history"], accepted, workdir)


@FUZZ
@given(data=mutated(SEEDS["schedule"]))
def test_schedule(workdir, data):
    path = _write(workdir / "schedule.yaml", data)
    accepted = run_loader("schedule", lambda: load_schedule(path))
    run_cli("schedule", ["schedule", "--config", str(path), "--list"], accepted, workdir)


@FUZZ
@given(which=st.sampled_from(INVENTORY_FILES), data=st.data())
def test_inventory(workdir, which, data):
    inv = workdir / "inventory"
    inv.mkdir(exist_ok=True)
    for name, seed in zip(INVENTORY_FILES, SEEDS["inventory"]):
        (inv / name).write_bytes(seed)
    seed = SEEDS["inventory"][INVENTORY_FILES.index(which)]
    _write(inv / which, data.draw(mutated([seed])))
    run_loader("inventory", lambda: load_inventory(inv))


@FUZZ
@given(data=mutated(SEEDS["demands"]))
def test_demands(workdir, data):
    path = _write(workdir / "demands.yaml", data)
    accepted = run_loader("demands", lambda: load_demands(path, TOPO))
    run_cli("demands", ["capacity", "--demands", str(path), "--depth", "0", "--json"], accepted,
            workdir)


@FUZZ
@given(data=mutated(SEEDS["secrets"]))
def test_secrets(workdir, data):
    path = _write(workdir / "secrets.yaml", data)
    path.chmod(0o600)
    run_loader("secrets", lambda: load_secrets(env={}, path=path))


def test_seeds_are_accepted(workdir):
    """The unmutated seeds load: the fuzzing starts from valid files."""
    load_topology(TOPOLOGY)
    for seed in SEEDS["playbook"]:
        load_playbook(_write(workdir / "seed-playbook.yaml", seed), topo=TOPO)
    load_rules(DATA / "rules" / "compliance.yaml")
    load_schedule(ROOT / "docs" / "schedule.example.yaml")
    import_graphml(ROOT / "tests" / "data" / "zoo" / "Sunet.graphml")
    inv = workdir / "seed-inventory"
    inv.mkdir(exist_ok=True)
    for name, seed in zip(INVENTORY_FILES, SEEDS["inventory"]):
        _write(inv / name, seed)
    assert load_inventory(inv)[1] == []
    load_demands(_write(workdir / "seed-demands.yaml", SEEDS["demands"][0]), TOPO)
    secrets = _write(workdir / "seed-secrets.yaml", SEEDS["secrets"][0])
    secrets.chmod(0o600)
    load_secrets(env={}, path=secrets)


def test_demands_bad_endpoints_are_all_reported(workdir):
    """Found by this fuzzing: a bare service id resolved to nothing and `site:<unknown>` escaped
    the checker (resolve_site raises UnknownName, the code expected KeyError), so a demands file
    reported only its first bad endpoint instead of every one."""
    path = _write(workdir / "bad-demands.yaml", b"demands:\n"
                  b"  - {src: 'site:nope', dst: osl-cr1, gbps: 1}\n"
                  b"  - {src: 'service:nada', dst: helsenorge, gbps: 1}\n")
    with pytest.raises(NgkError) as err:
        load_demands(path, TOPO)
    assert len(err.value.diagnostics) == 2, str(err.value)
