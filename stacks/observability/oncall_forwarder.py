"""AWS Lambda handler: forwards what reaches the infrastructure topics to the cluster's on-call receivers.

Deployed by `stacks/observability/oncall.py` as the only file of its package (standard library plus the
boto3 of the Lambda Python runtime). Subscribed to two SNS topics:

- the alarm topic (CloudWatch alarms, AWS Backup job failures, RDS failover/failure/low-storage events,
  the budget's ACTUAL overrun): severity `critical`, sent to PagerDuty (Events API v2) and Slack, like
  Alertmanager's critical route;
- the notice topic (RDS maintenance and notification events, the budget's FORECASTED notification, Cost
  Anomaly Detection): severity `warning`, Slack only.

The PagerDuty routing key and the Slack webhook URL are read at run time from the same Secrets Manager
secrets External Secrets copies to Alertmanager, so no credential is in code, plan or state; they are
never logged. A delivery that fails raises, so Lambda retries it and finally puts it on the dead-letter
queue (whose alarm reaches the e-mail subscribers of the alarm topic).

Message formats (SNS `Message` bodies):
- CloudWatch alarm: JSON with `AlarmName`, `AlarmArn`, `NewStateValue` (ALARM, OK), `NewStateReason`;
  ALARM triggers and OK resolves the PagerDuty incident keyed by the alarm's ARN;
- EventBridge event (AWS Backup): JSON with `source`, `detail-type` and `detail.state`, job ids in
  `detail.backupJobId` / `detail.copyJobId`;
- RDS event notification: JSON with `Source ID`, `Event ID` (a link ending `#RDS-EVENT-nnnn`) and `Event Message`;
- Cost Anomaly Detection: JSON with `anomalyId`, `impact.totalImpact` (USD), `dimensionalValue` (the
  service), `anomalyStartDate`, `monitorArn` and `anomalyDetailsLink` (the console page), the fields of
  the Anomaly object (Cost Explorer API reference, Anomaly; Cost Management User Guide, the example
  "Anomaly Detected" event, whose detail names the dimension `dimensionValue`);
- AWS Budgets: text, not JSON, with `Key: value` lines (`Budget Name`, `Alert Type` Actual/Forecasted,
  `Alert Threshold`, `Actual Amount` or `Forecasted Amount`) under a "Dear AWS Customer" paragraph;
- anything else (AWS Backup vault notifications are text): the subject and the first line.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SECRET_CACHE_SECONDS = 300
SUMMARY_LIMIT = 1024  # PagerDuty's payload.summary limit
TIMEOUT_SECONDS = 10
ALLOWED_SCHEMES = ("https://", "http://")

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
_secrets: dict[str, tuple[float, dict[str, str]]] = {}


@dataclass(frozen=True)
class Notification:
    summary: str
    source: str
    dedup_key: str
    resolve: bool = False
    details: dict[str, Any] = field(default_factory=dict)


def parse(message: str, subject: str | None, message_id: str, *, sent_at: str) -> Notification | None:
    """What an SNS message says, or None when it asks for nothing (an alarm entering INSUFFICIENT_DATA).
    `sent_at` is the SNS record's `Timestamp` (ISO 8601, UTC)."""
    try:
        body = json.loads(message)
    except ValueError:
        body = None
    if isinstance(body, dict) and "AlarmName" in body and "NewStateValue" in body:
        state = body["NewStateValue"]
        if state not in ("ALARM", "OK"):
            return None
        return Notification(
            summary=f"{body['AlarmName']} is {state}: {body.get('NewStateReason', '')}",
            source=body.get("AlarmArn", body["AlarmName"]),
            dedup_key=body.get("AlarmArn", body["AlarmName"]),
            resolve=state == "OK",
            details={"description": body.get("AlarmDescription"), "region": body.get("Region")},
        )
    if isinstance(body, dict) and "detail-type" in body and "source" in body:
        detail = body.get("detail") or {}
        job = detail.get("backupJobId") or detail.get("copyJobId") or detail.get("restoreJobId") or body.get("id", message_id)
        resource = detail.get("resourceArn") or ", ".join(body.get("resources", []))
        return Notification(
            summary=f"{body['detail-type']}: {detail.get('state', '?')} for {resource}: {detail.get('statusMessage', '')}",
            source=resource or body["source"],
            dedup_key=f"{body['source']}/{job}",
            details={key: detail.get(key) for key in ("state", "statusMessage", "resourceType", "backupVaultName") if key in detail},
        )
    if isinstance(body, dict) and "Event Message" in body:
        event_id = str(body.get("Event ID", "")).rsplit("#", 1)[-1]
        return Notification(
            summary=f"RDS {body.get('Source ID', '?')} {event_id}: {body['Event Message']}",
            source=body.get("Source ARN") or body.get("Source ID", "rds"),
            dedup_key=f"rds/{body.get('Source ID', '?')}/{event_id}/{message_id}",
            details={"link": body.get("Identifier Link"), "time": body.get("Event Time")},
        )
    if isinstance(body, dict) and "anomalyId" in body and isinstance(body.get("impact"), dict):
        return _anomaly(body)
    budget = _budget_fields(message)
    if "Budget Name" in budget:
        amount = budget.get("Actual Amount") or budget.get("Forecasted Amount") or "?"
        kind, threshold = budget.get("Alert Type", "?"), budget.get("Alert Threshold", "?")
        return Notification(
            summary=f"AWS Budgets {budget['Budget Name']}: {kind.lower()} cost {amount}, alert threshold {threshold}",
            source=f"budgets/{budget['Budget Name']}",
            # A monthly budget starts again each calendar month: next month's overrun is a new incident,
            # not a repeat of this one (PagerDuty groups events by dedup_key into the open alert).
            dedup_key=f"budgets/{budget['Budget Name']}/{kind.lower()}/{sent_at[:7]}",
            details={key: budget[key] for key in ("Budget Type", "Budgeted Amount", "Alert Type", "Alert Threshold") if key in budget},
        )
    first_line = message.strip().splitlines()[0] if message.strip() else ""
    return Notification(summary=f"{subject or 'AWS notification'}: {first_line}", source="sns", dedup_key=message_id)


def _anomaly(body: dict[str, Any]) -> Notification:
    impact = body["impact"]
    where = body.get("dimensionalValue") or body.get("dimensionValue") or "?"
    link = body.get("anomalyDetailsLink", "")
    expected = impact.get("totalExpectedSpend")
    return Notification(
        summary=(
            f"Cost anomaly in {where}: ${float(impact.get('totalImpact', 0)):,.2f} above the expected"
            + (f" ${float(expected):,.2f}" if expected is not None else "")
            + f" since {str(body.get('anomalyStartDate', '?'))[:10]} {link}"
        ).strip(),
        source=body.get("monitorArn", "ce"),
        dedup_key=f"ce-anomaly/{body['anomalyId']}",
        details={
            "monitor": body.get("monitorName"),
            "root_causes": [
                {key: cause.get(key) for key in ("service", "region", "usageType") if key in cause} for cause in body.get("rootCauses", [])
            ],
            "link": link,
        },
    )


def _budget_fields(message: str) -> dict[str, str]:
    """`Key: value` lines of an AWS Budgets text notification (empty for any other text)."""
    if "AWS Budget" not in message:
        return {}
    fields = {}
    for line in message.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key.strip() and not key.startswith(("[", "http")):
            fields[key.strip()] = value.strip()
    return fields


def pagerduty_event(notification: Notification, routing_key: str) -> dict[str, Any]:
    """An Events API v2 event: trigger (critical) or resolve, deduplicated by the notification's key."""
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if notification.resolve else "trigger",
        "dedup_key": notification.dedup_key[:255],
    }
    if not notification.resolve:
        event["payload"] = {
            "summary": notification.summary[:SUMMARY_LIMIT],
            "source": notification.source,
            "severity": "critical",
            "custom_details": notification.details,
        }
    return event


def slack_message(notification: Notification, severity: str, environment: str) -> dict[str, str]:
    state = "RESOLVED" if notification.resolve else severity.upper()
    return {"text": f"[{state}] {environment}: {notification.summary}"}


def _secret(secret_id: str) -> dict[str, str]:
    cached = _secrets.get(secret_id)
    if cached and time.monotonic() - cached[0] < SECRET_CACHE_SECONDS:
        return cached[1]
    import boto3  # the Lambda runtime's; imported here so parsing needs no AWS SDK

    value = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
    _secrets[secret_id] = (time.monotonic(), value)
    return value


def _post(url: str, document: dict[str, Any], what: str) -> None:
    if not url.startswith(ALLOWED_SCHEMES):
        raise ValueError(f"{what}: refusing a URL that is not http(s)")
    body = json.dumps(document).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - scheme checked above
        status = response.status
    if status >= 300:
        raise RuntimeError(f"{what} answered HTTP {status}")
    LOG.info("delivered to %s (HTTP %s)", what, status)


def deliver(notification: Notification, severity: str) -> None:
    environment = os.environ["ENVIRONMENT"]
    # No PAGERDUTY_SECRET_ID where the environment does not page: critical goes to Slack only.
    if severity == "critical" and os.environ.get("PAGERDUTY_SECRET_ID"):
        routing_key = _secret(os.environ["PAGERDUTY_SECRET_ID"])["routing-key"]
        _post(PAGERDUTY_EVENTS_URL, pagerduty_event(notification, routing_key), "PagerDuty")
    webhook = _secret(os.environ["SLACK_SECRET_ID"])["webhook-url"]
    _post(webhook, slack_message(notification, severity, environment), "Slack")


def handler(event: dict[str, Any], context: object) -> None:
    critical_topics = set(os.environ["CRITICAL_TOPIC_ARNS"].split(","))
    for record in event["Records"]:
        sns = record["Sns"]
        notification = parse(sns["Message"], sns.get("Subject"), sns["MessageId"], sent_at=sns["Timestamp"])
        if notification is None:
            continue
        severity = "critical" if sns["TopicArn"] in critical_topics else "warning"
        LOG.info("%s %s: %s", severity, notification.dedup_key, notification.summary[:200])
        deliver(notification, severity)
