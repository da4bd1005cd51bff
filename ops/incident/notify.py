"""`ops incident notify`: Slack for every incident, PagerDuty as well for critical ones where the
environment pages (`alerting.page_on_call`: production).

The webhook URL and the routing key are read from Secrets Manager (envspec.naming's
`alerting_secrets`, the same secrets Alertmanager uses) at the moment of sending; they are never
printed, logged or put in an error message.
"""

from __future__ import annotations

import ipaddress
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from envspec.naming import SecretBinding
from ops.console import say
from ops.context import Target
from ops.errors import EnvironmentProblem, OpsError

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
# Override for PagerDuty's EU service region (https://events.eu.pagerduty.com/v2/enqueue) or a test server.
PAGERDUTY_URL_ENV = "OPS_PAGERDUTY_EVENTS_URL"
PAGERDUTY_SEVERITY = {"critical": "critical", "major": "error", "minor": "warning", "info": "info"}
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Incident:
    environment: str
    severity: str
    component: str
    message: str
    incident_id: str


def secret_value(target: Target, binding: SecretBinding) -> str:
    """The one key of an alerting secret; the value itself never leaves this function's caller."""
    key = binding.keys[0]
    hint = (
        f"put it with `aws secretsmanager put-secret-value --secret-id {binding.remote_name} "
        f'--secret-string file://<file with {{"{key}": ...}}>`'
    )
    try:
        response = target.aws.client("secretsmanager").get_secret_value(SecretId=binding.remote_name)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "ResourceNotFoundException":
            raise EnvironmentProblem(f"secret {binding.remote_name} has no value yet; {hint}") from None
        raise
    try:
        value = json.loads(response.get("SecretString") or "{}").get(key)
    except (json.JSONDecodeError, AttributeError):
        value = None
    if not isinstance(value, str) or not value.strip():
        raise EnvironmentProblem(f"secret {binding.remote_name} has no '{key}' property; {hint}")
    return value.strip()


def _check_url(url: str, what: str) -> None:
    """https, or plain http to a loopback address (local test receivers); never echo the URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise EnvironmentProblem(f"{what} is not an https URL; fix the secret value")


def post_json(url: str, payload: dict[str, Any], what: str) -> int:
    _check_url(url, what)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=json.dumps(payload).encode("utf-8"), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        raise OpsError(f"{what} answered HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise OpsError(f"{what} could not be reached ({type(reason).__name__})") from None


def slack_payload(incident: Incident, channel: str) -> dict[str, Any]:
    text = (
        f"[{incident.severity.upper()}] {incident.environment} / {incident.component}: {incident.message} (incident {incident.incident_id})"
    )
    return {
        "text": text,
        "channel": channel,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{incident.severity.upper()}* incident in *{incident.environment}*"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Component*\n{incident.component}"},
                    {"type": "mrkdwn", "text": f"*Incident*\n{incident.incident_id}"},
                ],
            },
            {"type": "section", "text": {"type": "plain_text", "text": incident.message}},
        ],
    }


def pagerduty_payload(incident: Incident, routing_key: str) -> dict[str, Any]:
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": incident.incident_id,
        "payload": {
            "summary": f"{incident.severity} incident in {incident.environment}/{incident.component}: {incident.message}"[:1024],
            "severity": PAGERDUTY_SEVERITY[incident.severity],
            "source": f"ai-subsidy-{incident.environment}",
            "component": incident.component,
            "group": incident.environment,
            "class": "incident",
        },
    }


def receivers(incident: Incident, pages: bool = True) -> list[str]:
    """Critical incidents also page, where the environment pages at all (`alerting.page_on_call`)."""
    return ["slack", "pagerduty"] if incident.severity == "critical" and pages else ["slack"]


def notify(target: Target, incident: Incident, dry_run: bool) -> list[str]:
    """Send the incident to its receivers; returns who was notified, in order.

    A dry run still reads and checks the credentials (never printing them), so it proves the
    configuration without sending anything.
    """
    slack_binding, pagerduty_binding = target.names.slack_secret, target.names.pagerduty_secret
    channel = target.spec.alerting.slack.channel
    sent = []
    for receiver in receivers(incident, pages=pagerduty_binding is not None):
        if receiver == "slack":
            url, payload, what = secret_value(target, slack_binding), slack_payload(incident, channel), "Slack webhook"
        elif pagerduty_binding is not None:
            url = os.environ.get(PAGERDUTY_URL_ENV, PAGERDUTY_EVENTS_URL)
            payload, what = pagerduty_payload(incident, secret_value(target, pagerduty_binding)), "PagerDuty Events API"
        _check_url(url, what)
        if dry_run:
            say(f"would notify {receiver}" + (f" {channel}" if receiver == "slack" else "") + " (credentials present)")
            continue
        status = post_json(url, payload, what)
        say(f"{receiver}: notified (HTTP {status})" + (f", dedup key {incident.incident_id}" if receiver == "pagerduty" else ""))
        sent.append(receiver)
    return sent
