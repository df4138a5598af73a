"""Debian's real `prometheus` scrapes a real `ngk monitor` process on loopback and evaluates the
shipped rules (prometheus/ngk-rules.yml): the series it scraped and the recording rules built on
them are queried through its HTTP API, and stopping the router's SNMP agent makes the
NgkDeviceUnreachable alert go pending for that router (its `for: 1m` is not waited out)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from test_monitor_snmpd import Agent, free_port, host, write_inventory

from conftest import wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "prometheus" / "ngk-rules.yml"
ROUTER = "osl-cr1"


class Prometheus:
    """A private prometheus server: its own config, TSDB dir and loopback port."""

    def __init__(self, tmp: Path, target_port: int):
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus is not installed: run scripts/bootstrap --test")
        tmp.mkdir(parents=True, exist_ok=True)
        config = tmp / "prometheus.yml"
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{"job_name": "ngk-monitor", "static_configs": [
                {"targets": [f"127.0.0.1:{target_port}"]}]}]}))
        self.port = free_port(kind=1)  # SOCK_STREAM
        self.log = (tmp / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def api(self, path: str, **params: str) -> object:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        body = json.loads(urllib.request.urlopen(url, timeout=5).read())
        assert body["status"] == "success", body
        return body["data"]

    def value(self, query: str) -> dict[str, float]:
        """The instant vector of `query`: {router label (or ''): value}."""
        result = self.api("query", query=query)["result"]  # type: ignore[index]
        return {r["metric"].get("router", ""): float(r["value"][1]) for r in result}

    def ready(self) -> bool:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready",
                                          timeout=1).status == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def test_prometheus_scrapes_the_monitor_and_the_rules_fire(tmp_path):
    agent = Agent(tmp_path / "agent", free_port()).start()
    inv = write_inventory(tmp_path / "inv", {ROUTER: host(agent.port, community=agent.community)})
    metrics_port = free_port(kind=1)
    monitor = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "monitor", "--interval", "0.5", "--inventory",
         str(inv), "--store", str(tmp_path / "m.db"), "--metrics-port", str(metrics_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    prom = Prometheus(tmp_path / "prom", metrics_port)
    try:
        wait_for(prom.ready, 30, what="prometheus ready")
        # scraped series, and the recording rules built on them
        wait_for(lambda: prom.value("ngk:snmp_up:active") == {ROUTER: 1.0}, 30,
                 what="ngk:snmp_up:active = 1 for the router")
        assert prom.value('up{job="ngk-monitor"}') == {"": 1.0}
        assert prom.value("ngk_monitor_active") == {"": 1.0}
        assert prom.value("ngk:monitors_active:sum") == {"": 1.0}
        assert prom.value("ngk:devices_polled:sum") == {"": 1.0}
        assert prom.value("ngk_link_up")  # the topology's links, from the monitor's model
        assert prom.value("ngk:routers_unreachable:count") == {"": 0.0}

        agent.stop()  # the router stops answering: the alert rule sees it
        wait_for(lambda: prom.value("ngk:routers_unreachable:count") == {"": 1.0}, 30,
                 what="the router counted unreachable")

        def pending() -> list[dict]:
            alerts = prom.api("alerts")["alerts"]  # type: ignore[index]
            return [a for a in alerts if a["labels"]["alertname"] == "NgkDeviceUnreachable"]

        alert = wait_for(pending, 10, what="NgkDeviceUnreachable pending")[0]
        assert alert["state"] == "pending" and alert["labels"]["router"] == ROUTER
        assert alert["labels"]["severity"] == "critical"
    finally:
        prom.stop()
        monitor.terminate()
        _, err = monitor.communicate(timeout=10)
        agent.stop()
    assert b"Traceback" not in err, err.decode()
