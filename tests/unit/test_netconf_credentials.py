"""Credentials from env / a secrets file outside the repo; host keys from a known_hosts file."""
from __future__ import annotations

import json
from pathlib import Path

import paramiko
import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.model.load import load_topology
from controller.southbound.netconf import Target, load_credentials, push, render_interfaces
from controller.southbound.netconf.client import known_host_key
from controller.credentials import Login, load_secrets
from controller.errors import SecretsError
from controller.southbound.netconf.errors import CredentialsError, HostKeyError

REPO = Path(__file__).resolve().parents[2]

KEY = paramiko.RSAKey.generate(1024)  # only its public half is written; never used to log in


def secrets(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "secrets.yaml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_environment_wins_over_file(tmp_path):
    path = secrets(tmp_path, "netconf: {username: filer, password: p1, known_hosts: /k}\n")
    creds = load_credentials({"NGK_SECRETS_FILE": str(path), "NGK_NETCONF_USERNAME": "envy"})
    assert (creds.username, creds.password, creds.known_hosts) == ("envy", "p1", "/k")
    assert not creds.insecure


def test_password_never_in_repr(tmp_path):
    creds = load_credentials({"NGK_NETCONF_USERNAME": "u", "NGK_NETCONF_PASSWORD": "s3cr3t!"})
    assert "s3cr3t" not in repr(creds) and creds.password == "s3cr3t!"


@pytest.mark.parametrize("env,text,mode,error,message", [
    ({}, None, 0o600, CredentialsError, "no NETCONF username"),
    ({"NGK_NETCONF_USERNAME": "u"}, None, 0o600, CredentialsError, "no NETCONF key or password"),
    ({}, "netconf: {username: u, password: p}\n", 0o644, SecretsError,
     "accessible by group or others"),
    ({}, "other: {}\n", 0o600, SecretsError, "unknown section 'other'"),
    ({}, "netconf: {username: u, password: p, token: t}\n", 0o600, SecretsError,
     "secrets.yaml:1: error: netconf.token: unknown key 'token'"),
    ({}, "netconf: {username: u, password: [p4ssw0rd-x]}\n", 0o600, SecretsError,
     "netconf.password: must be a string"),
    ({}, "netconf: {username: u, password: 'p4ssw0rd-x}\n", 0o600, SecretsError,
     "YAML syntax error"),
])
def test_bad_credentials_are_clear_and_never_echo_a_value(tmp_path, env, text, mode, error,
                                                          message):
    env = {"HOME": str(tmp_path), **env}  # no default secrets file of the operator's
    if text is not None:
        env = {**env, "NGK_SECRETS_FILE": str(secrets(tmp_path, text, mode))}
    with pytest.raises(error, match=message) as exc:
        load_credentials(env)
    assert "p4ssw0rd" not in str(exc.value)


def test_netconf_login_falls_back_to_the_ssh_section(tmp_path):
    path = secrets(tmp_path, "ssh: {username: ops, key_file: /k/id}\nnetconf: {password: pw}\n")
    login = load_credentials({"NGK_SECRETS_FILE": str(path)})
    assert (login.username, login.key_file, login.password) == ("ops", "/k/id", "pw")


def test_secrets_file_inside_repo_is_refused():
    with pytest.raises(SecretsError, match="inside a git checkout"):
        load_credentials({"NGK_SECRETS_FILE": str(REPO / "pyproject.toml")})


def _known_hosts(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(line)
    return path


@pytest.mark.parametrize("entry,port", [("[192.0.2.7]:830", 830), ("192.0.2.7", 22),
                                        ("192.0.2.7", 830)])
def test_known_host_key_lookup(tmp_path, entry, port):
    path = _known_hosts(tmp_path, f"{entry} ssh-rsa {KEY.get_base64()}\n")
    assert known_host_key(path, "192.0.2.7", port).get_base64() == KEY.get_base64()


def test_unknown_host_is_refused_before_connecting(tmp_path):
    path = _known_hosts(tmp_path, f"[192.0.2.8]:830 ssh-rsa {KEY.get_base64()}\n")
    with pytest.raises(HostKeyError, match=r"\[192.0.2.7\]:830 has no key"):
        known_host_key(path, "192.0.2.7", 830)
    with pytest.raises(HostKeyError, match="cannot read known_hosts"):
        known_host_key(tmp_path / "absent", "192.0.2.7", 830)
    result = push(Target("r", "192.0.2.7"), render_interfaces(load_topology(), "osl-cr1"),
                  Login("u", password="p", known_hosts=str(path)), commit=True)
    assert result.status == "failed" and result.error["kind"] == "host-key"
    assert set(result.seconds) == set()  # failed before any network traffic


def test_login_without_known_hosts_is_refused_before_connecting():
    result = push(Target("r", "192.0.2.7"), render_interfaces(load_topology(), "osl-cr1"),
                  Login("u", password="p"), commit=True)
    assert result.status == "failed" and result.error["kind"] == "host-key"
    assert "no known_hosts file" in result.error["message"] and set(result.seconds) == set()


def test_cli_render_matches_payload():
    out = CliRunner().invoke(app, ["netconf", "render", "osl-cr1"])
    assert out.exit_code == 0
    assert out.stdout == render_interfaces(load_topology(), "osl-cr1").xml


def test_cli_errors_are_messages_not_tracebacks(tmp_path, monkeypatch):
    runner = CliRunner()
    out = runner.invoke(app, ["netconf", "render", "nope"])
    assert out.exit_code == 2 and "unknown router 'nope'" in out.output
    for var in ("NGK_NETCONF_USERNAME", "NGK_NETCONF_PASSWORD", "NGK_NETCONF_KEY_FILE",
                "NGK_SECRETS_FILE"):
        monkeypatch.delenv(var, raising=False)
    out = runner.invoke(app, ["netconf", "push", "osl-cr1"])
    assert out.exit_code == 2 and "no NETCONF username" in out.output
    monkeypatch.setenv("NGK_NETCONF_USERNAME", "u")
    monkeypatch.setenv("NGK_NETCONF_PASSWORD", "pw-not-shown")
    known = _known_hosts(tmp_path, "")
    out = runner.invoke(app, ["netconf", "push", "osl-cr1", "--known-hosts", str(known),
                              "--json"])
    assert out.exit_code == 1
    data = json.loads(out.stdout)
    assert (data["router"], data["status"], data["changed"], data["diff"]) == (
        "osl-cr1", "failed", False, "")
    assert data["error"]["kind"] == "host-key" and "172.31.0.11" in data["error"]["message"]
    assert "pw-not-shown" not in out.output and "Traceback" not in out.output


@pytest.mark.parametrize("name,reason", [
    ("a" * 300, "file name too long"),
    ("missing/secrets.yaml", "does not exist"),
    ("x\0y", "embedded null byte"),
    (".", "not a regular file"),
])
def test_unreadable_secrets_path_is_a_secrets_error(tmp_path, name, reason):
    with pytest.raises(SecretsError, match=reason):
        load_secrets(env={}, path=tmp_path / name)
    with pytest.raises(SecretsError, match=reason):  # named by the environment
        load_secrets(env={"NGK_SECRETS_FILE": str(tmp_path / name)})
