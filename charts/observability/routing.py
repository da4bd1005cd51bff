"""Where alerts go: Slack always; PagerDuty only where the environment pages, and only for critical
alerts that mean users or data are at risk; the always-firing Watchdog to a dead man's switch.

kube-prometheus-stack runs the operator with `alertmanagerConfigMatcherStrategy: {type: None}`, so
these AlertmanagerConfigs (in `monitoring`) route alerts from every namespace: the application's and
the cluster's own (kube-prometheus-stack's default rules).

- `ai-subsidy`: `critical` and `warning` alerts to Slack. Where `alerting.page_on_call` (production),
  a critical alert also pages if its rule says what is at risk (label `impact`: users or data); the
  default rules set no `impact`, so a cluster component's critical alert is a Slack post, not a page.
  Other severities (InfoInhibitor, `info`) stay with the base configuration's `null` receiver.
  Notifications are grouped by alert name and namespace; a warning is held back while a critical
  alert of the same name fires in the same namespace.
- `ai-subsidy-heartbeat`: Watchdog to a heartbeat check outside the cluster, which raises its own
  alarm when the calls stop. The prometheus-operator drops an AlertmanagerConfig whose Secrets are
  missing or invalid (pkg/alertmanager/operator.go, `checkAlertmanagerConfigResource`, v0.93.0) with
  only an event: so this one is separate from the Slack and PagerDuty one, and it mutes Watchdog
  (the calls stop, the check raises the alarm) while a receiver's ExternalSecret is not Ready or the
  operator reports a rejected AlertmanagerConfig. See docs/runbooks/monitoring-secret-not-ready.md.

Receiver credentials are never here: the operator reads them from the Secrets named below, which
External Secrets produces from Secrets Manager (`names.alerting_secrets`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from charts.observability.severity import LABEL as SEVERITY
from charts.observability.severity import Severity
from envspec import Names
from envspec.naming import SecretBinding

ALERTMANAGER_CONFIG = "ai-subsidy"
HEARTBEAT_CONFIG = "ai-subsidy-heartbeat"
GROUP_BY = ("alertname", "namespace")
# PagerDuty's dedup key is the notification group's key (alertmanager v0.25 notify/pagerduty:
# `dedup_key: key.Hash()`): one group per namespace makes every paging alert of the application one
# incident, however many rules see it (an error-budget burn and the database failure behind it).
PAGING_GROUP_BY = ("namespace",)
CRITICAL = Severity.CRITICAL
WARNING = Severity.WARNING
SLACK = "slack"
PAGERDUTY = "pagerduty"
HEARTBEAT = "heartbeat"
# The label an alert rule sets when its alert means users or data are at risk; only those page.
IMPACT = "impact"
USERS = "users"
DATA = "data"
WATCHDOG = "Watchdog"
# Our alert on the monitoring namespace's ExternalSecrets, and kube-prometheus-stack's on rejected objects.
MONITORING_SECRET_NOT_READY = "MonitoringSecretNotReady"
OPERATOR_REJECTED_RESOURCES = "PrometheusOperatorRejectedResources"
# A heartbeat: called soon after Watchdog arrives, then every HEARTBEAT_INTERVAL; the check outside
# expects a call at least that often (set its period to it, its grace to twice it).
HEARTBEAT_WAIT = "10s"
HEARTBEAT_GROUP_INTERVAL = "1m"
HEARTBEAT_INTERVAL = "5m"


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    match_type: str = "="  # =, !=, =~, !~


@dataclass(frozen=True)
class Route:
    receiver: str
    matchers: tuple[Matcher, ...]
    continue_: bool = False
    repeat_interval: str | None = None
    group_by: tuple[str, ...] = ()  # empty: the parent's
    routes: tuple[Route, ...] = field(default=())


@dataclass(frozen=True)
class Inhibition:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


@dataclass(frozen=True)
class Routing:
    route: Route
    group_by: tuple[str, ...]
    group_wait: str
    group_interval: str
    inhibitions: tuple[Inhibition, ...]
    slack: SecretBinding
    pagerduty: SecretBinding | None  # None: the environment never pages
    slack_channel: str
    environment: str

    # Notification texts (Alertmanager templates); the alert rules fill summary, description and runbook_url.
    @property
    def slack_title(self) -> str:
        return (
            f"[{self.environment}] "
            '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
            "{{ .CommonLabels.alertname }}"
        )

    slack_text = (
        "{{ range .Alerts }}*{{ .Labels.severity | toUpper }}* {{ .Annotations.summary }}\n"
        "{{ .Annotations.description }}\n"
        "Runbook: {{ .Annotations.runbook_url }}\n"
        "{{ end }}"
    )
    slack_color = (
        '{{ if eq .Status "firing" }}{{ if eq .CommonLabels.severity "'
        + CRITICAL
        + '" }}danger{{ else }}warning{{ end }}{{ else }}good{{ end }}'
    )

    @property
    def pagerduty_description(self) -> str:
        return f"[{self.environment}] {{{{ .CommonLabels.alertname }}}}: {{{{ .CommonAnnotations.summary }}}}"

    @property
    def pagerduty_client(self) -> str:
        return f"Alertmanager ({self.environment})"

    pagerduty_runbook_link = "{{ .CommonAnnotations.runbook_url }}"


def severity_is(value: Severity) -> Matcher:
    return Matcher(SEVERITY, str(value))


def routing_for(names: Names) -> Routing:
    """The `ai-subsidy` AlertmanagerConfig: Slack, and PagerDuty where the environment pages."""
    pagerduty = names.pagerduty_secret
    paging = (
        Route(
            PAGERDUTY,
            (severity_is(CRITICAL), Matcher(IMPACT, f"{USERS}|{DATA}", "=~")),
            continue_=True,
            repeat_interval="4h",
            group_by=PAGING_GROUP_BY,
        ),
    )
    return Routing(
        route=Route(
            receiver=SLACK,
            matchers=(Matcher(SEVERITY, "|".join(Severity), "=~"),),
            repeat_interval="12h",
            routes=(
                *(paging if pagerduty else ()),
                Route(SLACK, (severity_is(CRITICAL),), repeat_interval="4h"),
                Route(SLACK, (severity_is(WARNING),), repeat_interval="12h"),
            ),
        ),
        group_by=GROUP_BY,
        group_wait="30s",
        group_interval="5m",
        inhibitions=(Inhibition(source=(severity_is(CRITICAL),), target=(severity_is(WARNING),), equal=GROUP_BY),),
        slack=names.slack_secret,
        pagerduty=pagerduty,
        slack_channel=names.spec.alerting.slack.channel,
        environment=names.env,
    )


@dataclass(frozen=True)
class Heartbeat:
    """The `ai-subsidy-heartbeat` AlertmanagerConfig: Watchdog to the dead man's switch."""

    route: Route
    group_wait: str
    group_interval: str
    inhibitions: tuple[Inhibition, ...]
    secret: SecretBinding


def heartbeat_for(names: Names) -> Heartbeat:
    receiver_secrets = "|".join(binding.kubernetes_name for binding in names.alerting_secrets)
    watchdog = (Matcher("alertname", WATCHDOG),)
    return Heartbeat(
        route=Route(HEARTBEAT, watchdog, repeat_interval=HEARTBEAT_INTERVAL),
        group_wait=HEARTBEAT_WAIT,
        group_interval=HEARTBEAT_GROUP_INTERVAL,
        inhibitions=(
            # A receiver's Secret is missing or stale: its AlertmanagerConfig may be dropped, so stop the heartbeat.
            Inhibition(
                source=(Matcher("alertname", MONITORING_SECRET_NOT_READY), Matcher("name", receiver_secrets, "=~")),
                target=watchdog,
                equal=(),
            ),
            # The operator dropped an AlertmanagerConfig (ours or anyone's): some alerts reach nobody.
            Inhibition(
                source=(Matcher("alertname", OPERATOR_REJECTED_RESOURCES), Matcher("resource", "AlertmanagerConfig")),
                target=watchdog,
                equal=(),
            ),
        ),
        secret=names.heartbeat_secret,
    )
