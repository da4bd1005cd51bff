"""The on-call forwarder delivers what reaches the infrastructure topics to PagerDuty and Slack, with
the credentials Alertmanager uses, read from Secrets Manager (moto, in process) when it runs.

Receivers are a real HTTP server on loopback that records what it is sent. The messages are the
formats the publishing services document:
- CloudWatch alarm notifications (CloudWatch User Guide, "Using Amazon CloudWatch alarms", the JSON
  message with AlarmName, AlarmArn, NewStateValue, NewStateReason);
- EventBridge events of AWS Backup (AWS Backup Developer Guide, "Monitoring AWS Backup events using
  EventBridge": `source` aws.backup, `detail-type` "Backup Job State Change", `detail.state`);
- RDS event notifications (RDS User Guide, "Amazon RDS event notification": the JSON message with
  "Event Source", "Source ID", "Event ID", "Event Message").
PagerDuty's side is its Events API v2 (`routing_key`, `event_action` trigger/resolve, `dedup_key`,
`payload.summary/source/severity`), Slack's an incoming webhook (`text`).
"""

from __future__ import annotations

import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from envspec import names_for
from stacks.observability import oncall, oncall_forwarder
from tests.conftest import SPECS, Synthesis, resources_of

ROUTING_KEY = "R0UT1NGKEYFORTESTSONLY00000000000"  # a test value for moto, never a real key
ALARM_TOPIC = "arn:aws:sns:ap-northeast-1:333333333333:ai-subsidy-production-infrastructure-alarms"
NOTICE_TOPIC = "arn:aws:sns:ap-northeast-1:333333333333:ai-subsidy-production-infrastructure-notices"


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]] = []
    status = 202

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Receiver.received.append((self.path, body))
        self.send_response(Receiver.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _receivers(env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The forwarder's world for one environment: moto holds exactly the receiver secrets the
    environment's stack lets the function read (no PagerDuty key where the environment does not page)."""
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    Receiver.received, Receiver.status = [], 202
    names = names_for(SPECS[env])
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
        client = boto3.client("secretsmanager", region_name="ap-northeast-1")
        if names.pagerduty_secret:
            client.create_secret(Name=names.pagerduty_secret.remote_name, SecretString=json.dumps({"routing-key": ROUTING_KEY}))
        client.create_secret(Name=names.slack_secret.remote_name, SecretString=json.dumps({"webhook-url": f"{base}/slack"}))
        monkeypatch.setattr(oncall_forwarder, "PAGERDUTY_EVENTS_URL", f"{base}/pagerduty")
        monkeypatch.setattr(oncall_forwarder, "_secrets", {})
        for variable in ("PAGERDUTY_SECRET_ID",):
            monkeypatch.delenv(variable, raising=False)
        for variable, value in oncall.function_environment(SPECS[env], names, critical_topic_arns=ALARM_TOPIC).items():
            monkeypatch.setenv(variable, value)
        yield Receiver.received
    server.shutdown()


@pytest.fixture
def receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    yield from _receivers("production", monkeypatch)


@pytest.fixture
def staging_receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    yield from _receivers("staging", monkeypatch)


def _sns_event(
    topic: str, message: dict[str, Any] | str, subject: str | None = None, *, sent_at: str = "2026-12-01T09:00:00.000Z"
) -> dict[str, Any]:
    """An SNS-to-Lambda event of one record, with the fields the Lambda Developer Guide's example shows
    ("Using Lambda with Amazon SNS": TopicArn, Message, Subject, MessageId, Timestamp, ...)."""
    body = message if isinstance(message, str) else json.dumps(message)
    record = {"TopicArn": topic, "Message": body, "Subject": subject, "MessageId": "m-1", "Timestamp": sent_at}
    return {"Records": [{"Sns": record}]}


def _alarm(state: str) -> dict[str, Any]:
    return {
        "AlarmName": "ai-subsidy-production-rds-cpu",
        "AlarmArn": "arn:aws:cloudwatch:ap-northeast-1:333333333333:alarm:ai-subsidy-production-rds-cpu",
        "AlarmDescription": "CPU",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 3 datapoints were greater than the threshold (80.0).",
        "Region": "Asia Pacific (Tokyo)",
    }


def test_an_alarm_pages_and_its_recovery_resolves(receivers: list, caplog: pytest.LogCaptureFixture) -> None:
    oncall_forwarder.handler(_sns_event(ALARM_TOPIC, _alarm("ALARM")), None)
    oncall_forwarder.handler(_sns_event(ALARM_TOPIC, _alarm("OK")), None)
    pagerduty = [body for path, body in receivers if path == "/pagerduty"]
    slack = [body["text"] for path, body in receivers if path == "/slack"]
    trigger, resolve = pagerduty
    assert trigger["routing_key"] == resolve["routing_key"] == ROUTING_KEY
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == _alarm("OK")["AlarmArn"]
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"].startswith("ai-subsidy-production-rds-cpu is ALARM")
    assert slack[0].startswith("[CRITICAL] production: ai-subsidy-production-rds-cpu") and slack[1].startswith("[RESOLVED]")
    assert ROUTING_KEY not in caplog.text and "/slack" not in caplog.text, "a credential reached the log"


def test_a_failed_backup_job_pages(receivers: list) -> None:
    event = {
        "version": "0",
        "id": "e-1",
        "detail-type": "Backup Job State Change",
        "source": "aws.backup",
        "resources": ["arn:aws:rds:ap-northeast-1:333333333333:db:ai-subsidy-production"],
        "detail": {
            "backupJobId": "4a3e2f10-0000-4000-8000-000000000001",
            "state": "FAILED",
            "resourceType": "RDS",
            "resourceArn": "arn:aws:rds:ap-northeast-1:333333333333:db:ai-subsidy-production",
            "statusMessage": "Insufficient privileges to perform this action.",
        },
    }
    oncall_forwarder.handler(_sns_event(ALARM_TOPIC, event), None)
    (pagerduty,) = [body for path, body in receivers if path == "/pagerduty"]
    assert pagerduty["dedup_key"] == "aws.backup/4a3e2f10-0000-4000-8000-000000000001"
    assert "FAILED" in pagerduty["payload"]["summary"] and "Insufficient privileges" in pagerduty["payload"]["summary"]


def test_rds_maintenance_on_the_notice_topic_only_warns_in_slack(receivers: list) -> None:
    message = {
        "Event Source": "db-instance",
        "Event Time": "2026-12-01 03:00:00.000",
        "Identifier Link": "https://console.aws.amazon.com/rds/home?region=ap-northeast-1#dbinstance:id=ai-subsidy-production",
        "Source ID": "ai-subsidy-production",
        "Source ARN": "arn:aws:rds:ap-northeast-1:333333333333:db:ai-subsidy-production",
        "Event ID": "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#RDS-EVENT-0026",
        "Event Message": "Applying off-line patches to DB instance",
    }
    oncall_forwarder.handler(_sns_event(NOTICE_TOPIC, message, "RDS Notification Message"), None)
    assert [path for path, _ in receivers] == ["/slack"]
    expected = "[WARNING] production: RDS ai-subsidy-production RDS-EVENT-0026: Applying off-line patches to DB instance"
    assert receivers[0][1]["text"] == expected


def test_a_vault_notification_in_text_still_pages(receivers: list) -> None:
    oncall_forwarder.handler(_sns_event(ALARM_TOPIC, "An S3 object failed to back up.\nDetails ...", "Notification from AWS Backup"), None)
    assert [path for path, _ in receivers] == ["/pagerduty", "/slack"]


def test_a_receiver_failure_raises_so_lambda_retries(receivers: list) -> None:
    Receiver.status = 500
    with pytest.raises(Exception, match=r"HTTP|500"):
        oncall_forwarder.handler(_sns_event(ALARM_TOPIC, _alarm("ALARM")), None)


def test_where_the_environment_does_not_page_a_critical_alarm_goes_to_slack_only(staging_receivers: list) -> None:
    """Development and staging never page (`alerting.page_on_call`; they have no PagerDuty key at all):
    the forwarder, like Alertmanager there, posts critical notifications to Slack only, and its role
    reads no PagerDuty secret."""
    oncall_forwarder.handler(_sns_event(ALARM_TOPIC, _alarm("ALARM")), None)
    assert [path for path, _ in staging_receivers] == ["/slack"]
    assert staging_receivers[0][1]["text"].startswith("[CRITICAL] staging: ai-subsidy-production-rds-cpu")


@pytest.mark.parametrize("env", sorted(SPECS))
def test_the_function_reads_exactly_the_receivers_its_environment_has(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    expected = {binding.remote_name for binding in (names.slack_secret, names.pagerduty_secret) if binding}
    stack = synthesis.stack(f"{env}-observability")
    (function,) = resources_of(stack, "aws_lambda_function").values()
    variables = function["environment"]["variables"]
    assert {variables.get("PAGERDUTY_SECRET_ID"), variables["SLACK_SECRET_ID"]} - {None} == expected
    reads = [
        resource
        for document in stack["data"]["aws_iam_policy_document"].values()
        for statement in document.get("statement", [])
        if statement.get("sid") == "ReadReceiverCredentials"
        for resource in statement["resources"]
    ]
    assert sorted(reads) == sorted(names.secret_arn(secret) for secret in expected)


def test_the_package_is_reproducible_and_is_what_the_stack_deploys(synthesis: Synthesis) -> None:
    first, second = oncall.package(), oncall.package()
    assert first == second
    with zipfile.ZipFile(first[0]) as archive:
        assert archive.namelist() == ["oncall_forwarder.py"]
        assert archive.read("oncall_forwarder.py") == oncall.HANDLER_SOURCE.read_bytes()
    (function,) = resources_of(synthesis.stack("production-observability"), "aws_lambda_function").values()
    assert function["source_code_hash"] == f'${{filebase64sha256("{function["filename"]}")}}'
    assert function["handler"] == "oncall_forwarder.handler"
    assert (synthesis.stack_file("production-observability").parent / function["filename"]).read_bytes() == first[0].read_bytes()
