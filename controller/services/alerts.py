"""Alert sinks: where monitor events go besides the store. A sink is any object with
`send(event: dict) -> None`; `Alerts` runs them off the event loop and records their failures."""
from __future__ import annotations

import json
import logging
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)
ALERT_KINDS = frozenset({"router_down", "router_up", "reboot", "link_down", "link_up",
                         "coldStart", "warmStart", "linkDown", "linkUp", "store_error"})


class Sink(Protocol):
    def send(self, event: dict[str, Any]) -> None: ...


class LogFileSink:
    """One JSON object per line, appended."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def send(self, event: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(event, default=str) + "\n")


class WebhookSink:
    """POST the event as JSON to a URL."""

    def __init__(self, url: str, timeout: float = 5.0):
        self.url, self.timeout = url, timeout

    def send(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, default=str).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            resp.read()


def sink(spec: str) -> Sink:
    """`http(s)://...` -> webhook, `file:PATH` or a bare path -> JSON-lines log file."""
    if spec.startswith(("http://", "https://")):
        return WebhookSink(spec)
    return LogFileSink(spec.removeprefix("file:"))


class Alerts:
    def __init__(self, sinks: list[Sink], kinds: frozenset[str] = ALERT_KINDS):
        self.sinks, self.kinds = sinks, kinds
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ngk-alert")
        self.failures: list[tuple[float, str]] = []
        self.sent = 0

    def dispatch(self, event: dict[str, Any]) -> None:
        if event.get("kind") not in self.kinds:
            return
        for s in self.sinks:
            self.pool.submit(self._send, s, event)

    def _send(self, s: Sink, event: dict[str, Any]) -> None:
        try:
            s.send(event)
            self.sent += 1
        except Exception as exc:  # a sink must never take the monitor down
            log.warning("alert sink %s failed: %s", type(s).__name__, exc)
            self.failures.append((time.time(), f"{type(s).__name__}: {exc}"))
            del self.failures[:-100]

    def close(self) -> None:
        self.pool.shutdown(wait=True)
