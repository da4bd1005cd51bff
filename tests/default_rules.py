"""kube-prometheus-stack's default rules (tests/data, extracted from the pinned chart) and which of them
a set of Helm values leaves enabled, the way the chart's templates decide it.

Each template file renders only if every value in its `enabled_by` is true (an unset value is
false in Helm), and each rule only if its `requires` are true and `defaultRules.disabled.<alert>`
is not (templates/prometheus/rules-1.14/*.yaml at tag kube-prometheus-stack-88.2.0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from charts.addons import KUBE_PROMETHEUS_CHART
from tools.kube_prometheus_rules import lookup

DATA = Path(__file__).parent / "data" / f"kube-prometheus-stack-{KUBE_PROMETHEUS_CHART.version}-default-rules.yaml"
DEFAULT_RULES: dict[str, Any] = yaml.safe_load(DATA.read_text(encoding="utf-8"))


def _value(values: dict[str, Any], path: str) -> Any:
    """`values` over the chart's defaults, as Helm merges them."""
    given = lookup(values, path)
    return DEFAULT_RULES["defaults"].get(path) if given is None else given


def enabled_groups(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The default rule groups the chart renders with these values, each with its rendered rules."""
    disabled = lookup(values, "defaultRules.disabled") or {}
    groups = []
    for group in DEFAULT_RULES["groups"]:
        if not all(_value(values, ref) for ref in group["enabled_by"]):
            continue
        rules = [
            rule
            for rule in group["rules"]
            if all(_value(values, ref) for ref in rule.get("requires", ())) and not disabled.get(rule.get("alert", ""))
        ]
        groups.append({**group, "rules": rules})
    return groups


def alerts(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def rule_file_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The groups in Prometheus' rule-file format, as the operator loads them."""
    out = []
    for group in groups:
        rules = []
        for rule in group["rules"]:
            if "alert" in rule:
                item = {"alert": rule["alert"], "expr": rule["expr"], "labels": {"severity": rule["severity"]}}
                if "for" in rule:
                    item["for"] = rule["for"]
            else:
                item = {"record": rule["record"], "expr": rule["expr"], **({"labels": rule["labels"]} if "labels" in rule else {})}
            rules.append(item)
        out.append({"name": group["name"], **({"interval": group["interval"]} if "interval" in group else {}), "rules": rules})
    return out
