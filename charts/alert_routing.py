"""The `alert-routing` chart: the AlertmanagerConfigs and the ExternalSecrets holding their receivers' credentials.

External Secrets copies the Slack webhook URL, the PagerDuty routing key (where the environment
pages) and the heartbeat URL from Secrets Manager (`names.alerting_secrets`, created empty by the
data stack, filled by operators) into Secrets in `monitoring`; the AlertmanagerConfigs name those
Secrets and keys, and the Prometheus operator reads them when it renders Alertmanager's
configuration. No credential is in this repository. What goes where: `charts.observability.routing`.
"""

from __future__ import annotations

from typing import Any

from cdk8s import ApiObjectMetadata
from constructs import Construct

from charts.base import EnvironmentChart
from charts.external_secret import synced_secret
from charts.observability.routing import (
    ALERTMANAGER_CONFIG,
    CRITICAL,
    HEARTBEAT,
    HEARTBEAT_CONFIG,
    PAGERDUTY,
    SLACK,
    Heartbeat,
    Inhibition,
    Matcher,
    Route,
    Routing,
    heartbeat_for,
    routing_for,
)
from envspec import EnvironmentSpec
from envspec.naming import MONITORING_NAMESPACE, MONITORING_SELECTOR_LABELS, SecretBinding
from imports.com.coreos import monitoring as prom

REFRESH_INTERVAL = "1h"
# `matchType` defaults to "=" and is left out then: a bare `=` in YAML 1.1 is the `value` tag, which
# PyYAML-based tools refuse to read.
MATCH_TYPES = {"!=": "VALUE_NOT_EQUALS_TO", "=~": "VALUE_EQUAL_TILDE", "!~": "VALUE_NEGATION_TILDE"}


def _match_type(enum: Any, match_type: str) -> Any:
    return enum[MATCH_TYPES[match_type]] if match_type != "=" else None


def _route_matchers(matchers: tuple[Matcher, ...]) -> list[prom.AlertmanagerConfigSpecRouteMatchers]:
    return [
        prom.AlertmanagerConfigSpecRouteMatchers(
            name=m.name, value=m.value, match_type=_match_type(prom.AlertmanagerConfigSpecRouteMatchersMatchType, m.match_type)
        )
        for m in matchers
    ]


def _child_route(route: Route) -> dict[str, Any]:
    """Child routes are schemaless in the CRD (`x-kubernetes-preserve-unknown-fields`): written in its camelCase."""
    child: dict[str, Any] = {
        "receiver": route.receiver,
        "matchers": [
            {"name": m.name, "value": m.value, **({"matchType": m.match_type} if m.match_type != "=" else {})} for m in route.matchers
        ],
    }
    if route.continue_:
        child["continue"] = True
    if route.repeat_interval:
        child["repeatInterval"] = route.repeat_interval
    if route.group_by:
        child["groupBy"] = list(route.group_by)
    if route.routes:
        child["routes"] = [_child_route(item) for item in route.routes]
    return child


def _inhibit_rule(rule: Inhibition) -> prom.AlertmanagerConfigSpecInhibitRules:
    return prom.AlertmanagerConfigSpecInhibitRules(
        source_match=[
            prom.AlertmanagerConfigSpecInhibitRulesSourceMatch(
                name=m.name,
                value=m.value,
                match_type=_match_type(prom.AlertmanagerConfigSpecInhibitRulesSourceMatchMatchType, m.match_type),
            )
            for m in rule.source
        ],
        target_match=[
            prom.AlertmanagerConfigSpecInhibitRulesTargetMatch(
                name=m.name,
                value=m.value,
                match_type=_match_type(prom.AlertmanagerConfigSpecInhibitRulesTargetMatchMatchType, m.match_type),
            )
            for m in rule.target
        ],
        equal=list(rule.equal) or None,
    )


class AlertRoutingChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "alert-routing", spec=spec, namespace=MONITORING_NAMESPACE)
        self.external_secrets = {
            b.kubernetes_name: synced_secret(self, binding=b, refresh_interval=REFRESH_INTERVAL) for b in self.names.alerting_secrets
        }
        self.alertmanager_config = self._alertmanager_config(routing_for(self.names))
        self.heartbeat_config = self._heartbeat_config(heartbeat_for(self.names))

    def _alertmanager_config(self, routing: Routing) -> prom.AlertmanagerConfig:
        route = routing.route
        receivers = [self._slack(routing)]
        if routing.pagerduty is not None:
            receivers.append(self._pagerduty(routing, routing.pagerduty))
        return prom.AlertmanagerConfig(
            self,
            "alertmanager-config",
            metadata=ApiObjectMetadata(name=ALERTMANAGER_CONFIG, labels=dict(MONITORING_SELECTOR_LABELS)),
            spec=prom.AlertmanagerConfigSpec(
                route=prom.AlertmanagerConfigSpecRoute(
                    receiver=route.receiver,
                    matchers=_route_matchers(route.matchers),
                    group_by=list(routing.group_by),
                    group_wait=routing.group_wait,
                    group_interval=routing.group_interval,
                    repeat_interval=route.repeat_interval,
                    routes=[_child_route(child) for child in route.routes],
                ),
                receivers=receivers,
                inhibit_rules=[_inhibit_rule(rule) for rule in routing.inhibitions],
            ),
        )

    @staticmethod
    def _slack(routing: Routing) -> prom.AlertmanagerConfigSpecReceivers:
        (slack_key,) = routing.slack.keys
        return prom.AlertmanagerConfigSpecReceivers(
            name=SLACK,
            slack_configs=[
                prom.AlertmanagerConfigSpecReceiversSlackConfigs(
                    api_url=prom.AlertmanagerConfigSpecReceiversSlackConfigsApiUrl(name=routing.slack.kubernetes_name, key=slack_key),
                    channel=routing.slack_channel,
                    send_resolved=True,
                    title=routing.slack_title,
                    text=routing.slack_text,
                    color=routing.slack_color,
                )
            ],
        )

    @staticmethod
    def _pagerduty(routing: Routing, secret: SecretBinding) -> prom.AlertmanagerConfigSpecReceivers:
        (pagerduty_key,) = secret.keys
        return prom.AlertmanagerConfigSpecReceivers(
            name=PAGERDUTY,
            pagerduty_configs=[
                prom.AlertmanagerConfigSpecReceiversPagerdutyConfigs(
                    routing_key=prom.AlertmanagerConfigSpecReceiversPagerdutyConfigsRoutingKey(
                        name=secret.kubernetes_name, key=pagerduty_key
                    ),
                    send_resolved=True,
                    severity=str(CRITICAL),  # PagerDuty's event severity: every page is critical
                    description=routing.pagerduty_description,
                    client=routing.pagerduty_client,
                    pager_duty_link_configs=[
                        prom.AlertmanagerConfigSpecReceiversPagerdutyConfigsPagerDutyLinkConfigs(
                            href=routing.pagerduty_runbook_link, alt="Runbook"
                        )
                    ],
                )
            ],
        )

    def _heartbeat_config(self, heartbeat: Heartbeat) -> prom.AlertmanagerConfig:
        (url_key,) = heartbeat.secret.keys
        route = heartbeat.route
        return prom.AlertmanagerConfig(
            self,
            "heartbeat-config",
            metadata=ApiObjectMetadata(name=HEARTBEAT_CONFIG, labels=dict(MONITORING_SELECTOR_LABELS)),
            spec=prom.AlertmanagerConfigSpec(
                route=prom.AlertmanagerConfigSpecRoute(
                    receiver=route.receiver,
                    matchers=_route_matchers(route.matchers),
                    group_wait=heartbeat.group_wait,
                    group_interval=heartbeat.group_interval,
                    repeat_interval=route.repeat_interval,
                ),
                receivers=[
                    prom.AlertmanagerConfigSpecReceivers(
                        name=HEARTBEAT,
                        webhook_configs=[
                            prom.AlertmanagerConfigSpecReceiversWebhookConfigs(
                                url_secret=prom.AlertmanagerConfigSpecReceiversWebhookConfigsUrlSecret(
                                    name=heartbeat.secret.kubernetes_name, key=url_key
                                ),
                                # Watchdog resolves only when Prometheus stops sending it: a "resolved"
                                # call would look like one more heartbeat.
                                send_resolved=False,
                                max_alerts=1,
                            )
                        ],
                    )
                ],
                inhibit_rules=[_inhibit_rule(rule) for rule in heartbeat.inhibitions],
            ),
        )
