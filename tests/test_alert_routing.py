"""Alert routing: the AlertmanagerConfigs, rendered to the alertmanager.yml the operator makes of them,
checked by amtool: only production pages, and only for critical alerts that mean users or data are at
risk (never for kube-prometheus-stack's default rules); everything goes to Slack; Watchdog goes to the
heartbeat. Receiver credentials only ever by reference to Secrets that ExternalSecrets produce."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from charts.observability.routing import ALERTMANAGER_CONFIG, HEARTBEAT_CONFIG, HEARTBEAT_INTERVAL
from envspec import names_for
from envspec.naming import CLUSTER_SECRET_STORE, MONITORING_NAMESPACE, MONITORING_SELECTOR_LABELS
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, require_binary
from tests.default_rules import alerts, enabled_groups
from tests.prometheus import run
from tools.alertmanager_config import render

PAGERDUTY = f"{MONITORING_NAMESPACE}/{ALERTMANAGER_CONFIG}/pagerduty"
SLACK = f"{MONITORING_NAMESPACE}/{ALERTMANAGER_CONFIG}/slack"
HEARTBEAT = f"{MONITORING_NAMESPACE}/{HEARTBEAT_CONFIG}/heartbeat"
PAGING = [env for env in ENVIRONMENTS if SPECS[env].alerting.page_on_call]


@pytest.fixture(scope="module")
def amtool() -> str:
    return require_binary("amtool", "install Debian's `prometheus-alertmanager` package (.ci/run does)")


def _config(synthesis: Synthesis, env: str, name: str = ALERTMANAGER_CONFIG) -> dict[str, Any]:
    (config,) = synthesis.find(env, "AlertmanagerConfig", name)
    return config


def _render(synthesis: Synthesis, env: str, path: Path) -> Path:
    configs = synthesis.find(env, "AlertmanagerConfig")
    path.write_text(yaml.safe_dump(render(configs, secret_dir=str(path.parent / "secrets"))))
    return path


@pytest.fixture
def alertmanager_yml(synthesis: Synthesis, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return _render(synthesis, request.param, tmp_path / "alertmanager.yml")


def _receivers(amtool: str, config: Path, labels: dict[str, str]) -> set[str]:
    args = [f"{key}={value}" for key, value in labels.items()]
    result = run(amtool, "config", "routes", "test", f"--config.file={config}", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return set(result.stdout.strip().split(","))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_configs_are_where_alertmanager_selects_them(env: str, synthesis: Synthesis) -> None:
    configs = synthesis.find(env, "AlertmanagerConfig")
    assert sorted(config["metadata"]["name"] for config in configs) == [ALERTMANAGER_CONFIG, HEARTBEAT_CONFIG]
    for config in configs:
        assert config["metadata"]["namespace"] == MONITORING_NAMESPACE
        assert MONITORING_SELECTOR_LABELS.items() <= config["metadata"]["labels"].items()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_grouping_and_inhibition(env: str, synthesis: Synthesis) -> None:
    spec = _config(synthesis, env)["spec"]
    assert spec["route"]["groupBy"] == ["alertname", "namespace"]
    (inhibit,) = spec["inhibitRules"]
    assert inhibit["sourceMatch"] == [{"name": "severity", "value": "critical"}]
    assert inhibit["targetMatch"] == [{"name": "severity", "value": "warning"}]
    assert "alertname" in inhibit["equal"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_credentials_come_from_secrets_that_external_secrets_produce(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    produced = {}
    for external in synthesis.find(env, "ExternalSecret"):
        if external["metadata"]["namespace"] != MONITORING_NAMESPACE:
            continue
        spec = external["spec"]
        assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": CLUSTER_SECRET_STORE}
        produced[spec["target"]["name"]] = {
            item["secretKey"]: (item["remoteRef"]["key"], item["remoteRef"]["property"]) for item in spec["data"]
        }
    monitoring_secrets = (*names.alerting_secrets, names.grafana_admin_secret)
    assert produced == {b.kubernetes_name: {key: (b.remote_name, key) for key in b.keys} for b in monitoring_secrets}

    receivers = {receiver["name"]: receiver for receiver in _config(synthesis, env)["spec"]["receivers"]}
    (slack,) = receivers["slack"]["slackConfigs"]
    selectors = [slack["apiURL"]]
    if env in PAGING:
        (pagerduty,) = receivers["pagerduty"]["pagerdutyConfigs"]
        selectors.append(pagerduty["routingKey"])
    else:
        assert set(receivers) == {"slack"}, "an environment that never pages has no PagerDuty receiver to break"
        assert "alertmanager-pagerduty" not in produced
    ((heartbeat,),) = [receiver["webhookConfigs"] for receiver in _config(synthesis, env, HEARTBEAT_CONFIG)["spec"]["receivers"]]
    selectors.append(heartbeat["urlSecret"])
    for selector in selectors:
        assert selector["key"] in produced[selector["name"]], selector
    assert slack["channel"] == SPECS[env].alerting.slack.channel
    text = json.dumps(synthesis.find(env, "AlertmanagerConfig"))
    assert "hooks.slack.com" not in text and "events.pagerduty.com" not in text and "https://" not in text


@pytest.mark.parametrize("alertmanager_yml", ENVIRONMENTS, indirect=True)
def test_amtool_check_config(alertmanager_yml: Path, amtool: str) -> None:
    result = run(amtool, "check-config", str(alertmanager_yml))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    receivers = 4 if "pagerduty" in alertmanager_yml.read_text() else 3  # null, slack, heartbeat (+ pagerduty)
    assert f"{receivers} receivers" in result.stdout and "3 inhibit rules" in result.stdout, result.stdout


USERS_HURT = {"namespace": "ai-subsidy", "severity": "critical", "impact": "users"}
# (labels, receivers where the environment pages, receivers where it does not)
ROUTES = [
    ({"alertname": "ErrorBudgetFastBurn", **USERS_HURT, "job": "ai-subsidy-backend", "slo": "availability"}, {PAGERDUTY, SLACK}, {SLACK}),
    ({"alertname": "ErrorBudgetSlowBurn", "severity": "warning", "namespace": "ai-subsidy", "slo": "latency"}, {SLACK}, {SLACK}),
    # A ticket since the error-budget page covers it.
    ({"alertname": "HighErrorRate", "severity": "warning", "namespace": "ai-subsidy"}, {SLACK}, {SLACK}),
    ({"alertname": "ApplicationDown", **USERS_HURT}, {PAGERDUTY, SLACK}, {SLACK}),
    ({"alertname": "DatabaseConnectionFailure", **USERS_HURT, "impact": "data"}, {PAGERDUTY, SLACK}, {SLACK}),
    # Critical without an impact: the node is in trouble, users are not (yet).
    ({"alertname": "HighMemoryUsage", "severity": "critical", "instance": "ip-10-0-1-23"}, {SLACK}, {SLACK}),
    ({"alertname": "HighResponseTime", "severity": "warning", "namespace": "ai-subsidy"}, {SLACK}, {SLACK}),
    ({"alertname": "MonitoringSecretNotReady", "severity": "warning", "name": "alertmanager-slack"}, {SLACK}, {SLACK}),
    # The cluster's own alerts from kube-prometheus-stack's default rules, in other namespaces.
    ({"alertname": "KubeNodeNotReady", "severity": "warning", "namespace": "kube-system"}, {SLACK}, {SLACK}),
    ({"alertname": "KubeletDown", "severity": "critical", "namespace": "kube-system"}, {SLACK}, {SLACK}),
    # The dead man's switch; InfoInhibitor and info alerts are never notified.
    ({"alertname": "Watchdog", "severity": "none"}, {HEARTBEAT, "null"}, {HEARTBEAT, "null"}),
    ({"alertname": "InfoInhibitor", "severity": "none", "namespace": "ai-subsidy"}, {"null"}, {"null"}),
    ({"alertname": "CPUThrottlingHigh", "severity": "info", "namespace": "ai-subsidy"}, {"null"}, {"null"}),
]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_production_pages_and_only_when_users_or_data_are_at_risk(env: str, synthesis: Synthesis, amtool: str, tmp_path: Path) -> None:
    config = _render(synthesis, env, tmp_path / "alertmanager.yml")
    for labels, paging, not_paging in ROUTES:
        expected = paging if env in PAGING else not_paging
        assert _receivers(amtool, config, labels) == expected, f"{env} {labels}"


def test_a_development_critical_alert_goes_to_slack_not_pagerduty(synthesis: Synthesis, amtool: str, tmp_path: Path) -> None:
    assert not SPECS["development"].alerting.page_on_call
    config = _render(synthesis, "development", tmp_path / "alertmanager.yml")
    assert _receivers(amtool, config, {"alertname": "HighErrorRate", **USERS_HURT}) == {SLACK}
    assert "pagerduty" not in config.read_text()


@pytest.mark.parametrize("env", PAGING)
def test_no_default_rule_critical_alert_pages(env: str, synthesis: Synthesis, amtool: str, tmp_path: Path) -> None:
    """Every critical alert kube-prometheus-stack 88.2.0's default rules (tests/data) can raise with our
    values is posted to Slack, not paged: none of them says users or data are at risk."""
    (application,) = synthesis.find(env, "Application", "kube-prometheus-stack")
    critical = sorted(
        {a["alert"] for a in alerts(enabled_groups(application["spec"]["source"]["helm"]["valuesObject"])) if a["severity"] == "critical"}
    )
    assert {"KubeletDown", "KubeAPIErrorBudgetBurn", "NodeFilesystemAlmostOutOfSpace", "PrometheusBadConfig"} <= set(critical)
    config = _render(synthesis, env, tmp_path / "alertmanager.yml")
    for name in critical:
        assert _receivers(amtool, config, {"alertname": name, "severity": "critical", "namespace": "monitoring"}) == {SLACK}, name


def test_the_heartbeat_is_frequent_and_never_resolves(synthesis: Synthesis) -> None:
    """A heartbeat check counts every call as a sign of life: a `resolved` call after Prometheus stops
    sending Watchdog would be one more, so only firing notifications are sent."""
    spec = _config(synthesis, "production", HEARTBEAT_CONFIG)["spec"]
    assert spec["route"]["repeatInterval"] == HEARTBEAT_INTERVAL == "5m"
    ((webhook,),) = [receiver["webhookConfigs"] for receiver in spec["receivers"]]
    assert webhook["sendResolved"] is False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_broken_receiver_secret_stops_the_heartbeat(env: str, synthesis: Synthesis) -> None:
    """The operator drops an AlertmanagerConfig whose Secret is missing or invalid, with only an event
    (prometheus-operator v0.93.0, pkg/alertmanager/operator.go: `checkAlertmanagerConfigResource`
    fails on `store.GetSecretKey` or an invalid URL, the object is skipped and counted in
    `prometheus_operator_managed_resources{state="rejected"}`). The heartbeat config, which depends
    on no other Secret than its own, mutes Watchdog then, so the check outside raises the alarm."""
    names = names_for(SPECS[env])
    rendered = render(synthesis.find(env, "AlertmanagerConfig"))
    sources = [rule["source_matchers"] for rule in rendered["inhibit_rules"] if rule["target_matchers"] == ['alertname="Watchdog"']]
    receivers = "|".join(binding.kubernetes_name for binding in names.alerting_secrets)
    assert sources == [
        ['alertname="MonitoringSecretNotReady"', f'name=~"{receivers}"'],
        ['alertname="PrometheusOperatorRejectedResources"', 'resource="AlertmanagerConfig"'],
    ]
    assert all(rule.get("equal") is None for rule in rendered["inhibit_rules"][1:])


def test_without_continue_critical_alerts_would_only_page(synthesis: Synthesis, amtool: str, tmp_path: Path) -> None:
    """The PagerDuty route's `continue` is what also posts critical alerts to Slack; the route test sees its absence."""
    config = yaml.safe_load(yaml.safe_dump(_config(synthesis, "production")))
    (paging,) = [route for route in config["spec"]["route"]["routes"] if route["receiver"] == "pagerduty"]
    del paging["continue"]
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(render([config], secret_dir=str(tmp_path))))
    assert _receivers(amtool, path, {"alertname": "HighErrorRate", **USERS_HURT}) == {PAGERDUTY}


SAMPLE_NOTIFICATION = {
    "receiver": SLACK,
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighErrorRate", "severity": "critical", "namespace": "ai-subsidy", "job": "ai-subsidy-backend"},
            "annotations": {
                "summary": "More than 10% of backend requests fail with 5xx",
                "description": "12% of ai-subsidy-backend requests have been answered with a 5xx status (threshold 10%) for 5 minutes.",
                "runbook_url": "https://github.com/ai-subsidy/infrastructure/blob/main/docs/runbooks/high-error-rate.md",
            },
            "startsAt": "2025-01-01T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": "0",
        }
    ],
    "groupLabels": {"alertname": "HighErrorRate", "namespace": "ai-subsidy"},
    "commonLabels": {"alertname": "HighErrorRate", "severity": "critical", "namespace": "ai-subsidy"},
    "commonAnnotations": {
        "summary": "More than 10% of backend requests fail with 5xx",
        "runbook_url": "https://github.com/ai-subsidy/infrastructure/blob/main/docs/runbooks/high-error-rate.md",
    },
    "externalURL": "http://alertmanager.monitoring:9093",
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_notification_templates_render(env: str, synthesis: Synthesis, amtool: str, tmp_path: Path) -> None:
    receivers = {receiver["name"]: receiver for receiver in _config(synthesis, env)["spec"]["receivers"]}
    (slack,) = receivers["slack"]["slackConfigs"]
    (tmp_path / "data.json").write_text(json.dumps(SAMPLE_NOTIFICATION))
    (tmp_path / "none.tmpl").write_text('{{ define "unused" }}{{ end }}')

    def rendered(template: str) -> str:
        result = run(
            amtool,
            "template",
            "render",
            f"--template.glob={tmp_path / 'none.tmpl'}",
            f"--template.data={tmp_path / 'data.json'}",
            f"--template.text={template}",
        )
        assert result.returncode == 0, f"{template!r}: {result.stderr}"
        return result.stdout

    assert rendered(slack["title"]) == f"[{env}] [FIRING:1] HighErrorRate"
    assert rendered(slack["text"]) == (
        "*CRITICAL* More than 10% of backend requests fail with 5xx\n"
        "12% of ai-subsidy-backend requests have been answered with a 5xx status (threshold 10%) for 5 minutes.\n"
        "Runbook: https://github.com/ai-subsidy/infrastructure/blob/main/docs/runbooks/high-error-rate.md\n"
    )
    assert rendered(slack["color"]) == "danger"
    if env not in PAGING:
        return
    (pagerduty,) = receivers["pagerduty"]["pagerdutyConfigs"]
    assert rendered(pagerduty["description"]) == f"[{env}] HighErrorRate: More than 10% of backend requests fail with 5xx"
    assert rendered(pagerduty["pagerDutyLinkConfigs"][0]["href"]).endswith("/docs/runbooks/high-error-rate.md")
