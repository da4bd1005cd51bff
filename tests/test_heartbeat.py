"""The dead man's switch, run in a real Alertmanager (Debian's `prometheus-alertmanager`).

The rendered production configuration (tools/alertmanager_config.py, the operator's conversion) is
loaded with the heartbeat URL pointed at a local HTTP server. Watchdog reaches the heartbeat; while
a receiver's ExternalSecret is not Ready or the operator rejects an AlertmanagerConfig, Alertmanager
reports Watchdog inhibited, so no further heartbeat is sent and the check outside raises the alarm
(docs/runbooks/monitoring-secret-not-ready.md). Grafana's login failing does not stop it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from charts.observability.routing import HEARTBEAT_WAIT
from tests.conftest import Synthesis, require_binary
from tools.alertmanager_config import WEBHOOK_PLACEHOLDER, render


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Heartbeats(BaseHTTPRequestHandler):
    calls: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Heartbeats.calls.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def alertmanager(synthesis: Synthesis, tmp_path: Path) -> Iterator[str]:
    binary = require_binary("prometheus-alertmanager", "install Debian's `prometheus-alertmanager` package (.ci/run does)")
    server = HTTPServer(("127.0.0.1", 0), Heartbeats)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Heartbeats.calls = []
    text = yaml.safe_dump(render(synthesis.find("production", "AlertmanagerConfig"), secret_dir=str(tmp_path / "secrets")))
    assert text.count(WEBHOOK_PLACEHOLDER) == 1
    config = tmp_path / "alertmanager.yml"
    config.write_text(text.replace(f"{WEBHOOK_PLACEHOLDER}/alertmanager-heartbeat/url", f"http://127.0.0.1:{server.server_port}/ping"))
    port = _free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _get(f"{url}/-/ready") is not None, "Alertmanager to start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        server.shutdown()


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback Alertmanager
            body = response.read()
            return json.loads(body) if body.strip().startswith((b"[", b"{")) else body
    except OSError:
        return None


def _post_alerts(url: str, *alerts: dict[str, str]) -> None:
    body = json.dumps([{"labels": labels} for labels in alerts]).encode()
    request = urllib.request.Request(f"{url}/api/v2/alerts", data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback Alertmanager
        assert response.status == 200


def _wait(condition: Any, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _watchdog_inhibited_by(url: str) -> list[str]:
    alerts = _get(f'{url}/api/v2/alerts?filter=alertname="Watchdog"')
    ((watchdog,),) = [alerts]
    return watchdog["status"]["inhibitedBy"]


WATCHDOG = {"alertname": "Watchdog", "severity": "none"}


def test_watchdog_reaches_the_heartbeat(alertmanager: str) -> None:
    _post_alerts(alertmanager, WATCHDOG)
    _wait(lambda: bool(Heartbeats.calls), f"the first heartbeat (group_wait {HEARTBEAT_WAIT})")
    (call,) = Heartbeats.calls
    assert call["status"] == "firing" and [alert["labels"]["alertname"] for alert in call["alerts"]] == ["Watchdog"]
    assert call["receiver"] == "monitoring/ai-subsidy-heartbeat/heartbeat"
    assert _watchdog_inhibited_by(alertmanager) == []


@pytest.mark.parametrize(
    "broken",
    [
        {"alertname": "MonitoringSecretNotReady", "severity": "warning", "name": "alertmanager-slack"},
        {"alertname": "MonitoringSecretNotReady", "severity": "warning", "name": "alertmanager-heartbeat"},
        {"alertname": "PrometheusOperatorRejectedResources", "severity": "warning", "resource": "AlertmanagerConfig"},
    ],
)  # fmt: skip
def test_a_broken_alerting_path_mutes_the_heartbeat(alertmanager: str, broken: dict[str, str]) -> None:
    _post_alerts(alertmanager, WATCHDOG, broken)
    _wait(lambda: _watchdog_inhibited_by(alertmanager) != [], "Watchdog to be inhibited")


def test_grafanas_login_failing_keeps_the_heartbeat(alertmanager: str) -> None:
    grafana = {"alertname": "MonitoringSecretNotReady", "severity": "warning", "name": "grafana-admin", "exported_namespace": "monitoring"}
    rejected_elsewhere = {"alertname": "PrometheusOperatorRejectedResources", "severity": "warning", "resource": "ServiceMonitor"}
    _post_alerts(alertmanager, WATCHDOG, grafana, rejected_elsewhere)
    _wait(lambda: bool(Heartbeats.calls), "the heartbeat")
    assert _watchdog_inhibited_by(alertmanager) == []
