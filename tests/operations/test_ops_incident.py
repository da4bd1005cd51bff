"""`ops incident collect|notify|recover` against moto, the emulated Kubernetes API and a local
HTTP receiver standing in for Slack and PagerDuty."""

from __future__ import annotations

import io
import json
import re
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from envspec import Names, names_for
from ops.incident.notify import Incident, receivers
from tests.conftest import SPECS
from tests.operations.conftest import ENV, World
from tests.operations.kubernetes_emulator import ClusterState, KubernetesEmulator
from tests.operations.terminal import run_at_terminal

SLACK_PATH = "/services/T0EXAMPLE/B0EXAMPLE/Xy12AbCdEfGhIjKlMnOpQrSt"
ROUTING_KEY = "R0ut1ngKeyNeverPrinted0000000000"


# --- collect ---------------------------------------------------------------------------------


def _bundle(names: Names, output: str) -> tuple[str, dict[str, bytes]]:
    uri = output.strip().splitlines()[-1]
    match = re.fullmatch(rf"s3://{names.bucket('diagnostics')}/(incidents/.+\.tar\.gz)", uri)
    assert match, uri
    body = boto3.client("s3", "ap-northeast-1").get_object(Bucket=names.bucket("diagnostics"), Key=match.group(1))["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        files = {member.name: archive.extractfile(member).read() for member in archive.getmembers() if member.isfile()}  # type: ignore[union-attr]
    return match.group(1), files


def test_collect_uploads_a_bundle_with_pods_descriptions_events_logs_and_alerts(
    world: World, run, names: Names, kube: KubernetesEmulator
) -> None:
    result = run("incident", "collect", "--env", ENV, "--component", "backend", "--tail-lines", "5")
    assert result.code == 0, result.text
    key, files = _bundle(names, result.out)
    stamp = re.fullmatch(r"incidents/ai-subsidy-backend/production-ai-subsidy-backend-(\d{8}t\d{6}z)\.tar\.gz", key)
    assert stamp, key
    root = f"production-ai-subsidy-backend-{stamp.group(1)}"
    crashing, healthy = "ai-subsidy-backend-6f8b9c7d5-7xk2p", "ai-subsidy-backend-6f8b9c7d5-q9d4m"
    assert sorted(name.removeprefix(f"{root}/") for name in files) == sorted(
        [
            "summary.txt",
            "deployments.yaml",
            "pods.yaml",
            "events.yaml",
            f"describe/{crashing}.txt",
            f"describe/{healthy}.txt",
            f"logs/{crashing}/ai-subsidy-backend.log",
            f"logs/{crashing}/ai-subsidy-backend.previous.log",  # it restarted: the crash is in the previous log
            f"logs/{healthy}/ai-subsidy-backend.log",
            "prometheus/alerts.json",
            "prometheus/targets.json",
        ]
    )
    pods = yaml.safe_load(files[f"{root}/pods.yaml"])
    assert {pod["metadata"]["name"] for pod in pods} == {crashing, healthy}
    assert len(files[f"{root}/logs/{healthy}/ai-subsidy-backend.log"].splitlines()) == 5
    assert b"JavaScript heap out of memory" in files[f"{root}/logs/{crashing}/ai-subsidy-backend.previous.log"]
    description = files[f"{root}/describe/{crashing}.txt"].decode()
    assert "Last State:     Terminated (OOMKilled, exit code 137)" in description and "Restart Count:  3" in description
    assert "Readiness probe failed" in description
    events = yaml.safe_load(files[f"{root}/events.yaml"])
    assert "unrelated-debug-pod" not in {event["involvedObject"]["name"] for event in events}
    targets = json.loads(files[f"{root}/prometheus/targets.json"])
    assert {target["labels"]["job"] for target in targets} == {"ai-subsidy-backend"}
    summary = files[f"{root}/summary.txt"].decode()
    assert "firing alerts: HighErrorRate" in summary and f"1 not ready: {crashing}" in summary
    (proxy,) = [r for r in kube.state.requests if r.path.endswith("/proxy/api/v1/alerts")]
    assert proxy.path == "/api/v1/namespaces/monitoring/services/kube-prometheus-stack-prometheus:http-web/proxy/api/v1/alerts"


def test_collect_still_uploads_when_prometheus_does_not_answer(
    world: World, run, names: Names, kube: KubernetesEmulator, cluster: ClusterState
) -> None:
    cluster.prometheus.clear()
    result = run("incident", "collect", "--env", ENV, "--component", "frontend")
    assert result.code == 0, result.text
    _, files = _bundle(names, result.out)
    error = next(body for name, body in files.items() if name.endswith("prometheus/error.txt"))
    assert b"503" in error
    assert "note: prometheus: ServiceException: 503" in result.out


def test_collect_without_a_cluster_context_is_refused(world: World, run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty-kubeconfig").write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "empty-kubeconfig"))
    result = run("incident", "collect", "--env", ENV)
    assert result.code == 3
    assert "aws eks update-kubeconfig --region ap-northeast-1 --name ai-subsidy-production" in result.err


# --- notify ----------------------------------------------------------------------------------


@dataclass
class Receiver:
    url: str
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.received.append((self.path, body))
            self.send_response(state.status if self.path != "/v2/enqueue" else 202)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def alerting(world: World, names: Names, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Receiver:
    """The alerting secrets as operators fill them, pointing at the local receiver."""
    secretsmanager = boto3.client("secretsmanager", "ap-northeast-1")
    slack, pagerduty = names.slack_secret, names.pagerduty_secret
    assert pagerduty is not None, "production pages"
    secretsmanager.create_secret(Name=slack.remote_name, SecretString=json.dumps({"webhook-url": receiver.url + SLACK_PATH}))
    secretsmanager.create_secret(Name=pagerduty.remote_name, SecretString=json.dumps({"routing-key": ROUTING_KEY}))
    monkeypatch.setenv("OPS_PAGERDUTY_EVENTS_URL", receiver.url + "/v2/enqueue")
    return receiver


def _never_shows_credentials(text: str) -> None:
    assert SLACK_PATH not in text and ROUTING_KEY not in text and "127.0.0.1" not in text


def test_a_minor_incident_goes_to_slack_only(alerting: Receiver, run, kube: KubernetesEmulator) -> None:
    result = run("incident", "notify", "--env", ENV, "--severity", "minor", "--component", "frontend", "--message", "slow pages")
    assert result.code == 0, result.text
    ((path, body),) = alerting.received
    assert path == SLACK_PATH
    assert body["text"].startswith("[MINOR] production / frontend: slow pages (incident production-frontend-")
    assert body["channel"] == "#ai-subsidy-alerts"
    _never_shows_credentials(result.text)


def test_a_critical_incident_also_pages_and_never_restarts(alerting: Receiver, run, kube: KubernetesEmulator) -> None:
    result = run(
        "incident", "notify", "--env", ENV, "--severity", "critical", "--component", "backend",
        "--message", "HighErrorRate firing", "--incident-id", "INC-42",
    )  # fmt: skip
    assert result.code == 0, result.text
    assert [path for path, _ in alerting.received] == [SLACK_PATH, "/v2/enqueue"]
    event = alerting.received[1][1]
    assert event["routing_key"] == ROUTING_KEY and event["event_action"] == "trigger" and event["dedup_key"] == "INC-42"
    assert event["payload"]["severity"] == "critical" and event["payload"]["source"] == "ai-subsidy-production"
    assert not [request for request in kube.state.requests if request.method == "PATCH"]
    _never_shows_credentials(result.text)


def test_a_failing_webhook_is_reported_without_its_url(alerting: Receiver, run) -> None:
    alerting.status = 404
    result = run("incident", "notify", "--env", ENV, "--severity", "major", "--component", "backend", "--message", "x")
    assert result.code == 1
    assert result.err == "error: Slack webhook answered HTTP 404\n"
    _never_shows_credentials(result.text)


def test_an_empty_alerting_secret_is_refused_with_how_to_fill_it(world: World, names: Names, run) -> None:
    slack = names.slack_secret
    boto3.client("secretsmanager", "ap-northeast-1").create_secret(Name=slack.remote_name, SecretString="{}")
    result = run("incident", "notify", "--env", ENV, "--severity", "minor", "--component", "backend", "--message", "x")
    assert result.code == 3
    assert f"secret {slack.remote_name} has no 'webhook-url' property; put it with `aws secretsmanager put-secret-value" in result.err


def test_a_plain_http_webhook_is_refused_without_echoing_it(world: World, names: Names, run) -> None:
    slack = names.slack_secret
    value = {"webhook-url": "http://hooks.example.com/services/secret-path"}
    boto3.client("secretsmanager", "ap-northeast-1").create_secret(Name=slack.remote_name, SecretString=json.dumps(value))
    result = run("incident", "notify", "--env", ENV, "--severity", "minor", "--component", "backend", "--message", "x")
    assert result.code == 3
    assert result.err == "error: Slack webhook is not an https URL; fix the secret value\n"


def test_notify_dry_run_checks_credentials_and_sends_nothing(alerting: Receiver, run) -> None:
    result = run("incident", "notify", "--env", ENV, "--severity", "critical", "--component", "backend", "--message", "x", "--dry-run")
    assert result.code == 0, result.text
    assert not alerting.received
    assert "would notify slack #ai-subsidy-alerts (credentials present)" in result.out
    assert "would notify pagerduty (credentials present)" in result.out


def test_environments_that_never_page_have_no_pagerduty_secret_and_post_critical_incidents_to_slack() -> None:
    development = names_for(SPECS["development"])
    assert development.pagerduty_secret is None
    incident = Incident("development", "critical", "backend", "x", "INC-1")
    assert receivers(incident, pages=development.pagerduty_secret is not None) == ["slack"]
    assert receivers(incident, pages=True) == ["slack", "pagerduty"]


# --- recover ---------------------------------------------------------------------------------


def test_recover_dry_run_changes_nothing(world: World, run, kube: KubernetesEmulator, cluster: ClusterState) -> None:
    result = run("incident", "recover", "--env", ENV, "--component", "backend", "--severity", "major")
    assert result.code == 0, result.text
    assert "dry run: would restart deployment/ai-subsidy-backend" in result.out
    assert not cluster.patches("/deployments/")


def test_recover_restarts_like_kubectl_and_waits_until_ready(world: World, run, kube: KubernetesEmulator, cluster: ClusterState) -> None:
    cluster.rollout_reads = 3
    result = run("incident", "recover", "--env", ENV, "--component", "backend", "--severity", "major", "--poll-seconds", "0", "--execute")
    assert result.code == 0, result.text
    (patch,) = cluster.patches("/apis/apps/v1/namespaces/ai-subsidy/deployments/ai-subsidy-backend")
    assert patch.content_type == "application/strategic-merge-patch+json"
    annotations = patch.body["spec"]["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", annotations["kubectl.kubernetes.io/restartedAt"])
    progress = [line for line in result.out.splitlines() if "deployment/ai-subsidy-backend:" in line]
    assert "1 of 2 new replicas updated" in progress[0] and "rolled out: 2 of 2 replicas available" in progress[-1]
    status = cluster.deployments[("ai-subsidy", "ai-subsidy-backend")]["status"]
    assert status["observedGeneration"] == 8 and status["updatedReplicas"] == 2


def test_recover_reports_a_rollout_that_cannot_progress(world: World, run, kube: KubernetesEmulator, cluster: ClusterState) -> None:
    cluster.stuck.add("ai-worker")
    result = run("incident", "recover", "--env", ENV, "--component", "ai-worker", "--severity", "minor", "--poll-seconds", "0", "--execute")
    assert result.code == 1
    assert result.err.startswith("error: deployment ai-worker exceeded its progress deadline")


def test_a_critical_incident_is_never_restarted_without_a_person(
    world: World, run, kube: KubernetesEmulator, cluster: ClusterState
) -> None:
    result = run("incident", "recover", "--env", ENV, "--component", "backend", "--severity", "critical", "--execute")
    assert result.code == 2
    assert "critical incidents are never restarted automatically" in result.err
    assert not cluster.patches("/deployments/")


def test_a_person_at_a_terminal_can_restart_during_a_critical_incident(
    world: World, kube: KubernetesEmulator, cluster: ClusterState
) -> None:
    """A real `python -m ops` on a pseudo-terminal, typing the confirmation; AWS through moto's server."""
    result = run_at_terminal(
        ("incident", "recover", "--env", ENV, "--component", "backend", "--severity", "critical", "--poll-seconds", "0", "--execute"),
        typed="ai-subsidy-backend",
    )
    assert result.code == 0, result.text
    assert len(cluster.patches("/deployments/ai-subsidy-backend")) == 1
