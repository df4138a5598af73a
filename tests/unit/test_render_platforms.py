"""Intended config for the production platforms junos and eos: golden files and properties."""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from controller.credentials import SECRETS_FILE_ENV
from controller.config.management import SecretsError, load_snmp_user, native_interface
from controller.redact import redact
from controller.config.render import POLICY, render_config
from controller.config.rules import check, load_rules
from controller.model.load import REFERENCE_TOPOLOGY, load_topology
from controller.model.source import InputError

GOLDEN = Path(__file__).parent / "golden"
PLATFORM = {"osl-cr1": "junos", "ham-pe1": "junos", "trd-cr1": "eos", "amk-ce1": "eos"}
# fixed fake test values, never real secrets
FAKE = {"NGK_SNMP_USER": "ngk-test", "NGK_SNMP_AUTH_KEY": "fake-auth-0123",
        "NGK_SNMP_PRIV_KEY": "fake-priv-4567"}


@pytest.fixture
def topo(tmp_path, monkeypatch):
    """The reference topology with some routers switched to junos/eos, and fake secrets."""
    text = REFERENCE_TOPOLOGY.read_text()
    for router, platform in PLATFORM.items():
        text, n = re.subn(rf"(id: {router},.*?platform: )frr", rf"\g<1>{platform}", text)
        assert n == 1
    (tmp_path / "ngk.yaml").write_text(text)
    for var in (*FAKE, SECRETS_FILE_ENV):
        monkeypatch.delenv(var, raising=False)
    for var, value in FAKE.items():
        monkeypatch.setenv(var, value)
    return load_topology(tmp_path / "ngk.yaml")


@pytest.mark.parametrize("router", sorted(PLATFORM))
def test_full_config_matches_golden(topo, router):
    platform = topo.routers[router].platform
    assert platform == PLATFORM[router]
    assert render_config(topo, router) == (GOLDEN / platform / f"{router}.conf").read_text()


def test_native_interface_names(topo):
    assert [native_interface(topo, "junos", f"eth{n}") for n in (1, 2, 10)] == [
        "ge-0/0/0", "ge-0/0/1", "ge-0/0/9"]
    assert [native_interface(topo, "eos", f"eth{n}") for n in (1, 2, 10)] == [
        "Ethernet1", "Ethernet2", "Ethernet10"]
    assert native_interface(topo, "frr", "eth3") == "eth3"
    for bad in ("eth0", "ens3", "eth01"):
        with pytest.raises(InputError, match="cannot be mapped to a junos port"):
            native_interface(topo, "junos", bad)


def _junos_blocks(text: str, header: str) -> list[str]:
    """Bodies of every `header {` block (by brace depth) in a Junos config."""
    lines, out = text.splitlines(), []
    for i, line in enumerate(lines):
        if line.strip() == header + " {":
            depth, body = 1, []
            for inner in lines[i + 1:]:
                depth += inner.count("{") - inner.count("}")
                if depth == 0:
                    break
                body.append(inner.strip())
            out.append("\n".join(body))
    return out


def _eos_blocks(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("   ") and current is not None:
            out[current].append(line.strip())
        elif line and not line.startswith(" "):
            current = line if line != "!" else None
            if current is not None:
                out.setdefault(current, [])
    return out


@pytest.mark.parametrize("router", sorted(PLATFORM))
def test_every_link_interface_has_cost_bfd_timers(topo, router):
    platform = topo.routers[router].platform
    text = render_config(topo, router)
    r = topo.routers[router]
    ends = [(link, end, far) for link in topo.links.values()
            for end, far in ((link.a, link.b), (link.b, link.a)) if end.router == router]
    assert ends
    for link, end, far in ends:
        n = int(end.interface[3:])
        net = ipaddress.ip_network(f"{link.a.address.ip}/31", strict=False)
        assert end.address.network == net
        if platform == "junos":
            port = f"ge-0/0/{n - 1}"
            body, cos = _junos_blocks(text, port)  # interfaces, class-of-service interfaces
            assert cos.splitlines()[0] == "scheduler-map ngk-core;"
            assert f"address {end.address};" in body.splitlines()
            assert f'description "{link.id} to {far.router} ' in body
            assert f"(model {end.interface})" in body
            (ospf,) = _junos_blocks(text, f"interface {port}.0")
            assert ospf.splitlines() == [
                "interface-type p2p;", f"metric {link.metric};",
                f"hello-interval {POLICY.hello_s};", f"dead-interval {POLICY.dead_s};",
                f"retransmit-interval {POLICY.retransmit_s};", "bfd-liveness-detection {",
                "minimum-interval 50;", "multiplier 3;", "}"]
        else:
            body = _eos_blocks(text)[f"interface Ethernet{n}"]
            assert body[0].startswith(f"description {link.id} to {far.router} ")
            assert body[0].endswith(f"(model {end.interface})")
            for line in (f"ip address {end.address}", f"ip ospf cost {link.metric}",
                         "bfd interval 50 min-rx 50 multiplier 3", "ip ospf neighbor bfd",
                         "ip ospf network point-to-point", "ip ospf area 0.0.0.0",
                         "ip ospf hello-interval 1", "ip ospf dead-interval 4"):
                assert line in body, (router, line)
    if platform == "junos":
        assert f"router-id {r.loopback.ip};" in _junos_blocks(text, "routing-options")[0]
        assert f"address {r.loopback};" in _junos_blocks(text, "lo0")[0]
        assert f"host-name {router};" in text.splitlines()[1]
    else:
        assert _eos_blocks(text)["router ospf 1"][0] == f"router-id {r.loopback.ip}"
        assert _eos_blocks(text)["interface Loopback0"][0] == f"ip address {r.loopback}"
        assert f"hostname {router}" in text.splitlines()


@pytest.mark.parametrize("router", sorted(PLATFORM))
def test_management_is_ssh_only_snmpv3_mgmt_subnet(topo, router):
    text = render_config(topo, router)
    low = text.lower()
    assert "community" not in low and "telnet" not in low
    controller = str(next(topo.mgmt_subnet.hosts()))
    assert controller == "172.31.0.1"
    if topo.routers[router].platform == "junos":
        assert "authentication-sha {" in text and "privacy-aes128 {" in text
        assert "security-level privacy {" in text
        assert f"server {controller};" in text and f"host {controller} {{" in text
        assert "ssh {" in _junos_blocks(text, "services")[0]
        assert _junos_blocks(text, "prefix-list mgmt-subnet") == [str(topo.mgmt_subnet) + ";"]
        assert "input mgmt-only;" in _junos_blocks(text, "lo0")[0]
        assert 'message "' in _junos_blocks(text, "login")[0]
    else:
        assert "snmp-server user ngk-test ngk-ro v3 auth sha fake-auth-0123 priv aes " \
               "fake-priv-4567" in text
        assert "snmp-server group ngk-ro v3 priv read all" in text
        assert f"ntp server {controller}" in text and f"logging host {controller}" in text
        blocks = _eos_blocks(text)
        assert blocks["ip access-list standard mgmt-only"] == [f"10 permit {topo.mgmt_subnet}"]
        assert blocks["management ssh"] == ["ip access-group mgmt-only in"]
        assert "snmp-server ipv4 access-list mgmt-only" in text
        assert text.split("banner login\n")[1].split("\n")[1] == "EOF"
    assert text.count("{") == text.count("}")


def test_secrets_are_required_and_never_from_the_repo(topo, monkeypatch, tmp_path):
    monkeypatch.delenv("NGK_SNMP_PRIV_KEY")
    with pytest.raises(SecretsError, match="set NGK_SNMP_PRIV_KEY"):
        render_config(topo, "osl-cr1")
    assert render_config(topo, "osl-cr2").startswith("frr version")  # frr needs no secrets
    repo_file = Path(__file__).resolve().parents[2] / "secrets.yaml"
    with pytest.raises(SecretsError, match="inside a git checkout"):
        load_snmp_user({"NGK_SECRETS_FILE": str(repo_file)})
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("snmp: {user: filed, auth_key: file-auth-key, priv_key: file-priv-key}\n")
    secrets.chmod(0o644)
    with pytest.raises(SecretsError, match="accessible by group or others"):
        load_snmp_user({"NGK_SECRETS_FILE": str(secrets)})
    secrets.chmod(0o600)
    user = load_snmp_user({"NGK_SECRETS_FILE": str(secrets), "NGK_SNMP_USER": "env-user"})
    assert (user.user, user.auth_key, user.priv_key) == ("env-user", "file-auth-key",
                                                         "file-priv-key")
    assert "file-auth-key" not in repr(user)
    with pytest.raises(SecretsError, match="NGK_SNMP_AUTH_KEY must be 8-64"):
        load_snmp_user({**FAKE, "NGK_SNMP_AUTH_KEY": "short"})


@pytest.mark.parametrize("router", ["osl-cr1", "trd-cr1"])
def test_redact_masks_every_key(topo, router):
    text = render_config(topo, router)
    masked = redact(text)
    assert FAKE["NGK_SNMP_AUTH_KEY"] in text and FAKE["NGK_SNMP_PRIV_KEY"] in text
    assert FAKE["NGK_SNMP_AUTH_KEY"] not in masked and FAKE["NGK_SNMP_PRIV_KEY"] not in masked
    assert masked.count("<redacted>") == 2
    assert len(masked.splitlines()) == len(text.splitlines())


def test_drained_and_bare(topo):
    assert "overload;" in render_config(topo, "osl-cr1", drained=True)
    assert "max-metric router-lsa" in render_config(topo, "trd-cr1", drained=True)
    for router in ("osl-cr1", "trd-cr1"):
        bare = render_config(topo, router, routing=False)
        assert "ospf" not in bare and "bfd" not in bare
        assert "10.255.0." in bare


# Rules written in FRR syntax (interface names eth*, `ip ospf bfd`, `ospf router-id`, `log
# syslog`): they misfire on junos/eos and need `scope: {platforms: [frr]}` in rules/compliance.yaml.
FRR_SYNTAX_RULES = {"bfd-on-core-links", "ospf-point-to-point", "ospf-fast-timers",
                    "link-interfaces-enabled", "ospf-router-id", "logging-set"}


@pytest.mark.parametrize("router", sorted(PLATFORM))
def test_platform_neutral_rules_pass_on_production_configs(topo, router):
    r = topo.routers[router]
    text = render_config(topo, router)
    links = {e.interface for link in topo.links.values() for e in (link.a, link.b)
             if e.router == router}
    rules = load_rules()
    assert FRR_SYNTAX_RULES <= {rule.id for rule in rules}
    applying = [rule for rule in rules if rule.applies(r.role, r.platform)]
    assert {"no-telnet", "no-snmp-public-community"} <= {rule.id for rule in applying}
    for rule in applying:
        if rule.id not in FRR_SYNTAX_RULES:
            assert check(rule, text, links) == [], rule.id
    assert check(next(x for x in rules if x.id == "no-telnet"), text + "telnet server enable\n")
