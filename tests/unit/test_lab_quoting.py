"""Hostile strings in every topology field that reaches a file the lab writes (snmpd.conf,
sshd_config, frr.conf, the NETCONF test server's sshd_config, nft and `ip -batch` input) stay
data: each file parses into exactly the intended statements, or the lab refuses to write it.

Model validation is bypassed on purpose (the model objects are edited after loading): the
lab's quoting must hold on its own. sshd_config is checked with the real parser (`sshd -T`);
snmpd.conf with the rules of net-snmp's reader (one directive per line, no continuation, '#'
comments only at line start, `"..."` tokens with backslash escapes), which the integration test
test_lab_quoting_lab.py confirms against a running snmpd.
"""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from controller.config.render import render_config
from controller.errors import LabError
from controller.lab import creds as credentials
from controller.lab import daemons, netconf_server, quoting
from controller.lab.state import RouterState
from controller.lab.system import ip_batch
from controller.model.load import load_topology
from controller.model.topology import Topology

CONTROL = ["A\nextend evil /bin/sh -c id", "A\rrwcommunity evil", "A\x00rwcommunity evil",
           "A\u2028extend evil", "A\u2029x", "A\u0085x", "A\x1b[2J", "A\u202ex", "A\x7f",
           "A\vx", "A\fx", "\n"]
TRICKY = ['Oslo "DC" \\ # extend evil /bin/sh', "#rwcommunity evil", "  padded  ",
          "Tromsø ☃ 'single'", "$(reboot) `id`; && | > /etc/x", "%h %u %% \\n \\", '"', "\\"]
BAD_WORDS = ["r1\nshutdown", "r1 x", "r1!", "r1\x00", "r1\u2028", "", "-r1", "r1;id", 'r"1']
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"



# --- parsers of the target syntaxes -----------------------------------------------------------
def snmpd_directives(text: str) -> list[tuple[str, str]]:
    """(directive, rest of line) per statement, as net-snmp's read_config splits them."""
    out = []
    for line in text.split("\n"):
        line = line.strip(" \t")
        if line and not line.startswith("#"):
            token, _, rest = line.partition(" ")
            out.append((token, rest.strip()))
    return out


def snmpd_words(rest: str) -> list[str]:
    """Tokens as net-snmp's copy_nword reads them: "..." quoting, \\" and \\\\ escapes."""
    words, i = [], 0
    while i < len(rest):
        if rest[i] in " \t":
            i += 1
            continue
        word, quote = "", rest[i] if rest[i] in "\"'" else None
        i += 1 if quote else 0
        while i < len(rest) and (quote or rest[i] not in " \t"):
            if quote and rest[i] == quote:
                i += 1
                break
            if rest[i] == "\\" and i + 1 < len(rest) and rest[i + 1] in "\"'\\":
                i += 1
            word += rest[i]
            i += 1
        words.append(word)
    return words


def sshd_effective(config: Path) -> dict[str, str]:
    """`sshd -T`: the configuration sshd really uses (lower-case keyword -> value)."""
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    out = subprocess.run([SSHD, "-T", "-f", str(config)], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def topo() -> Topology:
    return load_topology()


def with_site_name(topo: Topology, router: str, name: str) -> Topology:
    site = topo.routers[router].site
    return dataclasses.replace(topo, sites={**topo.sites, site: dataclasses.replace(
        topo.sites[site], name=name)})


def with_link_field(topo: Topology, router: str, field: str, value: str) -> Topology:
    """The first link of `router` with its id, or its end's interface/router, set to `value`."""
    link = topo.router_links(router)[0]
    end = link.a if link.a.router == router else link.b
    if field == "id":
        new = dataclasses.replace(link, id=value)
    else:
        new_end = dataclasses.replace(end, **{field: value})
        new = dataclasses.replace(link, **{"a" if end is link.a else "b": new_end})
    links = {(value if k == link.id and field == "id" else k): (new if k == link.id else v)
             for k, v in topo.links.items()}
    return dataclasses.replace(topo, links=links)


def write_router(topo: Topology, router: str, base: Path, frr_conf: str | None = None) -> Path:
    """Run the lab's `prepare` for one router into `base`; returns the router directory.
    `frr_conf` stands in for the renderer's output (which refuses hostile values itself)."""
    base.mkdir(parents=True, exist_ok=True)
    creds = credentials.generate(base)
    rdir = base / "routers" / "r"
    rs = RouterState(netns="x-r", uts=str(rdir / "uts"), mgmt_veth="x-m0", dir=str(rdir))
    daemons.prepare(topo, topo.routers[router], rs, creds, "172.31.0.1",
                    render_config(topo, router) if frr_conf is None else frr_conf)
    return rdir


def first_router(topo: Topology) -> str:
    return next(iter(topo.routers))


# --- snmpd.conf -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", TRICKY)
def test_snmpd_conf_keeps_a_tricky_site_name_as_data(topo, tmp_path, name):
    router = first_router(topo)
    baseline = snmpd_directives(
        (write_router(topo, router, tmp_path / "plain") / "snmp" / "snmpd.conf").read_text())
    text = (write_router(with_site_name(topo, router, name), router, tmp_path / "tricky")
            / "snmp" / "snmpd.conf").read_text()
    got = snmpd_directives(text)
    assert [d for d, _ in got] == [d for d, _ in baseline]  # same directives, same order
    location = dict(got)["sysLocation"]
    assert location == name.strip() or (not name.strip() and location == "-")
    others = [(d, r) for d, r in got if d != "sysLocation"]
    assert len(others) == len([b for b in baseline if b[0] != "sysLocation"])


@pytest.mark.parametrize("name", CONTROL)
def test_snmpd_conf_refuses_control_characters(topo, tmp_path, name):
    router = first_router(topo)
    with pytest.raises(LabError, match="control character"):
        write_router(with_site_name(topo, router, name), router, tmp_path)
    assert not list(tmp_path.glob("routers/*/snmp/snmpd.conf"))  # nothing half-written
    with pytest.raises(LabError):
        quoting.check_topology(with_site_name(topo, router, name))


@pytest.mark.parametrize("secret", TRICKY + ["pa\"ss\\wo rd#1"])
def test_snmpd_quoted_round_trips(secret):
    assert snmpd_words(f"createUser u SHA {quoting.snmpd_quoted('auth', secret)} AES x") == [
        "createUser", "u", "SHA", secret, "AES", "x"]


@pytest.mark.parametrize("value", BAD_WORDS + ["a b", 'x"y'])
def test_snmpd_names_must_be_words(value):
    with pytest.raises(LabError):
        quoting.snmpd_word("community", value)


def test_a_long_site_name_is_cut_below_net_snmps_limit():
    value = quoting.snmpd_rest("site", "ø" * 300)
    assert len(value.encode()) <= 255 and set(value) == {"ø"}


# --- frr.conf and the kernel-facing batches ---------------------------------------------------
@pytest.mark.parametrize("field, value", [
    *((f, v) for f in ("id", "interface", "router") for v in BAD_WORDS + ["eth1\n shutdown"]),
    ("interface", "e/1"), ("interface", "x" * 16), ("interface", "1eth")])
def test_identifiers_that_are_not_plain_words_are_refused(topo, tmp_path, field, value):
    router = first_router(topo)
    bad = with_link_field(topo, router, field, value)
    with pytest.raises(LabError, match="plain identifier"):
        quoting.check_topology(bad)
    if field != "router":  # the edited router end no longer names `router`
        with pytest.raises(LabError, match="plain identifier"):
            write_router(bad, router, tmp_path, frr_conf="")  # the lab refuses on its own
        assert not (tmp_path / "routers" / "r" / "frr" / "frr.conf").exists()


@pytest.mark.parametrize("value", BAD_WORDS[:5])
def test_router_ids_that_are_not_plain_words_are_refused(topo, value):
    router = topo.routers[first_router(topo)]
    bad = dataclasses.replace(topo, routers={**topo.routers,
                                             router.id: dataclasses.replace(router, id=value)})
    with pytest.raises(LabError, match="plain identifier"):
        quoting.check_topology(bad)


def frr_statements(text: str) -> list[str]:
    """frr.conf statements with every identifier of the model replaced by its role."""
    return [line.split()[0] + ("  (indented)" if line.startswith(" ") else "")
            for line in text.splitlines() if line.strip() and line.strip() != "!"]


def test_frr_conf_statements_do_not_depend_on_names(topo, tmp_path):
    """Odd but plain identifiers and a tricky site name change no statement of frr.conf."""
    router = first_router(topo)
    odd = with_link_field(with_site_name(topo, router, TRICKY[0]), router, "id", "l.9_-X")
    odd = with_link_field(odd, router, "interface", "e-1.2_x")
    plain = (write_router(topo, router, tmp_path / "a") / "frr" / "frr.conf").read_text()
    tricky = (write_router(odd, router, tmp_path / "b") / "frr" / "frr.conf").read_text()
    assert sorted(frr_statements(tricky)) == sorted(frr_statements(plain))
    assert " description l.9_-X to " in tricky and "interface e-1.2_x\n" in tricky


@pytest.mark.parametrize("command", ["link set eth1 down\nlink del eth2", "netns add x\r",
                                     "link set x\0 up"])
def test_ip_batch_refuses_line_breaks(command):
    with pytest.raises(LabError, match="line break"):
        ip_batch([command], check=False)


# --- sshd_config, read back by sshd itself ----------------------------------------------------
HOSTILE_DIR = 'dir "q" \\ #x %h %%'


def test_sshd_config_paths_are_read_back_exactly(topo, tmp_path):
    router = first_router(topo)
    rdir = write_router(with_site_name(topo, router, TRICKY[0]), router, tmp_path / HOSTILE_DIR)
    ssh = rdir / "ssh"
    conf = sshd_effective(ssh / "sshd_config")
    assert conf["hostkey"] == str(ssh / "ssh_host_ed25519_key")
    assert conf["pidfile"] == str(ssh / "sshd.pid")
    assert conf["authorizedkeysfile"].replace("%%", "%") == str(ssh / "authorized_keys")
    assert conf["listenaddress"] == f"{topo.routers[router].mgmt.ip}:22"
    assert conf["passwordauthentication"] == "no" and conf["allowusers"] == "root"


@pytest.mark.parametrize("path", ["/tmp/a\nPermitEmptyPasswords yes", "/tmp/a\x00b",
                                  "/tmp/a\u2028b"])
def test_sshd_quoted_refuses_control_characters(path):
    with pytest.raises(LabError, match="control character"):
        quoting.sshd_quoted("path", path)


def test_netconf_server_sshd_config_is_read_back_exactly(tmp_path):
    work = tmp_path / HOSTILE_DIR
    work.mkdir()
    credentials.keypair(work / "host_key", "t")
    sock = work / "ncx sock"
    (work / "sshd_config").write_text(netconf_server._sshd_config(work, "198.19.240.2", sock))
    conf = sshd_effective(work / "sshd_config")
    assert conf["hostkey"] == str(work / "host_key")
    assert conf["subsystem"].startswith("netconf /usr/sbin/netconf-subsystem ")
    # the subsystem command runs through a shell: one argument, the socket path intact
    args = subprocess.run(["sh", "-c", "printf '%s\\n' " + conf["subsystem"].split(" ", 2)[2]],
                          capture_output=True, text=True, check=True).stdout
    assert args == f"--ncxserver-sockname=830@{sock}\n"


def test_a_bad_community_is_refused_without_echoing_it():
    with pytest.raises(LabError) as exc:
        quoting.snmpd_word("community", "-Vsecret9")  # snmpd would read -V as an option
    assert "secret9" not in str(exc.value)
