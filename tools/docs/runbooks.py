"""The alert index of docs/runbooks/README.md, from the alert definitions themselves: each alert's
name, runbook page, severity and one-line meaning (`Alert.meaning`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envspec import load_environments

if TYPE_CHECKING:
    from charts.observability.rules import Alert

# The Karpenter alerts' thresholds come from the spec; the index shows production's.
KARPENTER_INDEX_ENVIRONMENT = "production"


def _table(items: list[Alert] | tuple[Alert, ...]) -> str:
    lines = ["| alert | severity | fires when |", "| --- | --- | --- |"]
    lines += [f"| [{alert.name}]({alert.runbook}.md) | {alert.severity} | {alert.meaning} |" for alert in items]
    return "\n".join(lines) + "\n"


def application_alerts() -> str:
    from charts.observability.rules import alerts  # loads cdk8s (jsii): only when the index is rendered
    from charts.observability.slo import slo_alerts
    from envspec.slo import ServiceLevels

    return _table([*alerts(), *slo_alerts(ServiceLevels())])


def node_autoscaling_alerts() -> str:
    from charts.karpenter_monitoring import karpenter_alerts

    spec = load_environments(only=[KARPENTER_INDEX_ENVIRONMENT])[KARPENTER_INDEX_ENVIRONMENT]
    return (
        f"Thresholds as in `{KARPENTER_INDEX_ENVIRONMENT}`; `node_autoscaling.pending_alert_minutes` and "
        "`node_autoscaling.limit_alert_percent` set them per environment.\n\n" + _table(karpenter_alerts(spec))
    )
