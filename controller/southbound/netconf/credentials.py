"""The NETCONF login: the `netconf:` secrets (falling back to `ssh:`) of the one secrets loader.

See controller.credentials for the file format and the environment variables. A login without a
user, or without a key and a password, is refused here with a message that names what to set.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from controller.credentials import Login, load_secrets
from controller.southbound.netconf.errors import CredentialsError

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


def load_credentials(env: Mapping[str, str] | None = None, *, insecure: bool = False,
                     known_hosts: str | None = None) -> Login:
    """The NETCONF login from `env` (default os.environ) and the secrets file it names."""
    login = load_secrets(env).login("netconf")
    if not login.username:
        raise CredentialsError("no NETCONF username: set NGK_NETCONF_USERNAME or a "
                               "'netconf:' (or 'ssh:') section in NGK_SECRETS_FILE")
    if not login.key_file and not login.password:
        raise CredentialsError("no NETCONF key or password: set NGK_NETCONF_KEY_FILE, "
                               "NGK_NETCONF_PASSWORD or NGK_SECRETS_FILE")
    return replace(login, insecure=insecure,
                   known_hosts=known_hosts or login.known_hosts or DEFAULT_KNOWN_HOSTS)
