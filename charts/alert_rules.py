"""The `alert-rules` chart: the PrometheusRules `ai-subsidy-alerts` (charts/observability/rules.py) and
`ai-subsidy-slos` (the error-budget rules of the spec's objectives, charts/observability/slo.py)."""

from __future__ import annotations

from typing import Any

from cdk8s import ApiObjectMetadata
from constructs import Construct

from charts.base import EnvironmentChart
from charts.observability.rules import rule_groups
from charts.observability.slo import SLO_RULE, slo_rule_groups
from envspec import EnvironmentSpec
from envspec.naming import MONITORING_NAMESPACE, MONITORING_SELECTOR_LABELS, PROMETHEUS_RULE
from imports.com.coreos import monitoring as prom


def prometheus_rule_spec(groups: list[dict[str, Any]]) -> prom.PrometheusRuleSpec:
    """A PrometheusRule's spec from rendered rule groups (recording rules and alerts)."""
    return prom.PrometheusRuleSpec(
        groups=[
            prom.PrometheusRuleSpecGroups(
                name=group["name"],
                rules=[
                    prom.PrometheusRuleSpecGroupsRules(
                        record=rule.get("record"),
                        alert=rule.get("alert"),
                        expr=prom.PrometheusRuleSpecGroupsRulesExpr.from_string(rule["expr"]),
                        for_=rule.get("for"),
                        labels=rule.get("labels"),
                        annotations=rule.get("annotations"),
                    )
                    for rule in group["rules"]
                ],
            )
            for group in groups
        ]
    )


class AlertRulesChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "alert-rules", spec=spec, namespace=MONITORING_NAMESPACE)
        self.rule: prom.PrometheusRule | None = None
        if self.names.is_standby and not spec.dr.application_runs_idle:
            # A pilot-light standby runs no application: its rules (targets absent, no ready replica) would page
            # while it stands by. The chart stays, empty; failover brings the rules (docs/disaster-recovery.md).
            return
        self.rule = prom.PrometheusRule(
            self,
            "rules",
            metadata=ApiObjectMetadata(name=PROMETHEUS_RULE, labels=dict(MONITORING_SELECTOR_LABELS)),
            spec=prometheus_rule_spec(rule_groups(self.names)),
        )
        self.slo_rule = prom.PrometheusRule(
            self,
            "slos",
            metadata=ApiObjectMetadata(name=SLO_RULE, labels=dict(MONITORING_SELECTOR_LABELS)),
            spec=prometheus_rule_spec(slo_rule_groups(self.names)),
        )
