"""One incident pages once: a real Alertmanager (Debian's prometheus-alertmanager 0.25) runs the
production routing rendered from our AlertmanagerConfigs, with its PagerDuty and Slack receivers
pointed at a local HTTP server, and is sent the alerts an outage of the database raises: the
error-budget page, DatabaseConnectionFailure and, minutes later, ApplicationDown.

PagerDuty opens one incident per `dedup_key`, and Alertmanager sets it to the notification group's
key (alertmanager v0.25.0 `notify/pagerduty/pagerduty.go`: `DedupKey: key.Hash()` with the key from
`notify.ExtractGroupKey`). The PagerDuty route groups by namespace only, so every paging alert of the
application lands in one incident; without that grouping (the route inheriting `alertname,
namespace`) the same alerts open three. Slack still gets one message per alert name.

Only timings are shortened for the test (group_wait, group_interval): they decide when, not how
alerts are grouped.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib import request

import pytest
import yaml

from tests.conftest import Synthesis, require_binary
from tools.alertmanager_config import render

PAGERDUTY = "monitoring/ai-subsidy/pagerduty"
SLACK = "monitoring/ai-subsidy/slack"
OUTAGE = [
    {"alertname": "ErrorBudgetFastBurn", "severity": "critical", "impact": "users", "job": "ai-subsidy-backend", "slo": "availability"},
    {"alertname": "DatabaseConnectionFailure", "severity": "critical", "impact": "data", "job": "ai-subsidy-backend"},
]
LATER = {"alertname": "ApplicationDown", "severity": "critical", "impact": "users", "job": "ai-subsidy-backend", "pod": "p-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.path, body))  # type: ignore[attr-defined]
        self.send_response(202 if self.path == "/pagerduty" else 200)
        self.end_headers()
        self.wfile.write(b"{}" if self.path == "/pagerduty" else b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _local_config(synthesis: Synthesis, tmp_path: Path, receiver_url: str, page_group_by: bool = True) -> Path:
    secrets = tmp_path / "secrets"
    config = render(synthesis.find("production", "AlertmanagerConfig"), secret_dir=str(secrets))
    for receiver in config["receivers"]:
        for slack in receiver.get("slack_configs", []):
            Path(slack["api_url_file"]).parent.mkdir(parents=True, exist_ok=True)
            Path(slack["api_url_file"]).write_text(f"{receiver_url}/slack")
        for pagerduty in receiver.get("pagerduty_configs", []):
            Path(pagerduty["routing_key_file"]).parent.mkdir(parents=True, exist_ok=True)
            Path(pagerduty["routing_key_file"]).write_text("test-routing-key")
            pagerduty["url"] = f"{receiver_url}/pagerduty"
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = f"{receiver_url}/heartbeat"

    def shorten(route: dict[str, Any]) -> None:
        for key, value in (("group_wait", "1s"), ("group_interval", "2s")):
            if key in route:
                route[key] = value
        for child in route.get("routes", []):
            if not page_group_by and child.get("receiver") == PAGERDUTY:
                del child["group_by"]
            shorten(child)

    config["route"]["group_wait"], config["route"]["group_interval"] = "1s", "2s"
    shorten(config["route"])
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _post(url: str, alerts: list[dict[str, str]]) -> None:
    payload = [{"labels": {"namespace": "ai-subsidy", **labels}, "annotations": {"summary": labels["alertname"]}} for labels in alerts]
    req = request.Request(f"{url}/api/v2/alerts", data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})  # noqa: S310
    with request.urlopen(req, timeout=5) as response:  # noqa: S310 - loopback Alertmanager
        assert response.status == 200


def _run_outage(alertmanager: str, synthesis: Synthesis, tmp_path: Path, page_group_by: bool = True) -> list[tuple[str, dict[str, Any]]]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    config = _local_config(synthesis, tmp_path, f"http://127.0.0.1:{server.server_address[1]}", page_group_by)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            alertmanager,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                with request.urlopen(f"{url}/-/ready", timeout=1):  # noqa: S310 - loopback Alertmanager
                    break
            except OSError:
                time.sleep(0.1)
        _post(url, OUTAGE)
        time.sleep(2.5)
        _post(url, [*OUTAGE, LATER])
        time.sleep(4.5)
    finally:
        process.terminate()
        process.wait(timeout=10)
        server.shutdown()
    return server.received  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="module")
def alertmanager() -> str:
    return require_binary("prometheus-alertmanager", "install Debian's `prometheus-alertmanager` package (.ci/run does)")


def _pages(received: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [body for path, body in received if path == "/pagerduty"]


def test_one_outage_is_one_pagerduty_incident(synthesis: Synthesis, alertmanager: str, tmp_path: Path) -> None:
    received = _run_outage(alertmanager, synthesis, tmp_path)
    pages = _pages(received)
    assert pages and {page["event_action"] for page in pages} == {"trigger"}
    assert len({page["dedup_key"] for page in pages}) == 1, "every paging alert of the namespace is one incident"
    slack_titles = {body["attachments"][0]["title"] for path, body in received if path == "/slack"}
    assert {title.rsplit(" ", 1)[1] for title in slack_titles} == {"ErrorBudgetFastBurn", "DatabaseConnectionFailure", "ApplicationDown"}


def test_grouped_by_alert_name_the_same_outage_pages_three_times(synthesis: Synthesis, alertmanager: str, tmp_path: Path) -> None:
    received = _run_outage(alertmanager, synthesis, tmp_path, page_group_by=False)
    assert len({page["dedup_key"] for page in _pages(received)}) == 3
