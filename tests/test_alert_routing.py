"""Alert routing: the AlertmanagerConfig, rendered to the alertmanager.yml the operator makes of it,
checked by amtool, with critical alerts proven to reach PagerDuty and Slack and warnings Slack only;
receiver credentials only ever by reference to Secrets that ExternalSecrets produce."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from charts.observability.routing import ALERTMANAGER_CONFIG
from envspec import names_for
from envspec.naming import CLUSTER_SECRET_STORE, MONITORING_NAMESPACE, MONITORING_SELECTOR_LABELS
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, require_binary
from tests.prometheus import run
from tools.alertmanager_config import render

PAGERDUTY = f"{MONITORING_NAMESPACE}/{ALERTMANAGER_CONFIG}/pagerduty"
SLACK = f"{MONITORING_NAMESPACE}/{ALERTMANAGER_CONFIG}/slack"


@pytest.fixture(scope="module")
def amtool() -> str:
    return require_binary("amtool", "install Debian's `prometheus-alertmanager` package (.ci/run does)")


def _config(synthesis: Synthesis, env: str) -> dict[str, Any]:
    (config,) = synthesis.find(env, "AlertmanagerConfig")
    return config


@pytest.fixture
def alertmanager_yml(synthesis: Synthesis, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(render([_config(synthesis, request.param)], secret_dir=str(tmp_path / "secrets"))))
    return path


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_config_is_where_alertmanager_selects_it(env: str, synthesis: Synthesis) -> None:
    config = _config(synthesis, env)
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
    (pagerduty,) = receivers["pagerduty"]["pagerdutyConfigs"]
    for selector in (slack["apiURL"], pagerduty["routingKey"]):
        assert selector["key"] in produced[selector["name"]], selector
    assert slack["channel"] == SPECS[env].alerting.slack.channel
    text = json.dumps(_config(synthesis, env))
    assert "hooks.slack.com" not in text and "events.pagerduty.com" not in text


@pytest.mark.parametrize("alertmanager_yml", ENVIRONMENTS, indirect=True)
def test_amtool_check_config(alertmanager_yml: Path, amtool: str) -> None:
    result = run(amtool, "check-config", str(alertmanager_yml))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "3 receivers" in result.stdout and "1 inhibit rules" in result.stdout


ROUTES = [
    ({"alertname": "HighErrorRate", "severity": "critical", "namespace": "ai-subsidy"}, {PAGERDUTY, SLACK}),
    ({"alertname": "ApplicationDown", "severity": "critical", "namespace": "ai-subsidy"}, {PAGERDUTY, SLACK}),
    ({"alertname": "HighResponseTime", "severity": "warning", "namespace": "ai-subsidy"}, {SLACK}),
    ({"alertname": "HighCPUUsage", "severity": "warning"}, {SLACK}),
    # The cluster's own alerts from kube-prometheus-stack's default rules, in other namespaces.
    ({"alertname": "KubeNodeNotReady", "severity": "warning", "namespace": "kube-system"}, {SLACK}),
    ({"alertname": "TargetDown", "severity": "critical", "namespace": "monitoring"}, {PAGERDUTY, SLACK}),
    # Never notified: the always-firing Watchdog, InfoInhibitor and info alerts.
    ({"alertname": "Watchdog", "severity": "none"}, {"null"}),
    ({"alertname": "InfoInhibitor", "severity": "none", "namespace": "ai-subsidy"}, {"null"}),
    ({"alertname": "CPUThrottlingHigh", "severity": "info", "namespace": "ai-subsidy"}, {"null"}),
]


@pytest.mark.parametrize("alertmanager_yml", ENVIRONMENTS, indirect=True)
def test_critical_pages_and_posts_warning_only_posts(alertmanager_yml: Path, amtool: str) -> None:
    for labels, receivers in ROUTES:
        args = [f"{key}={value}" for key, value in labels.items()]
        result = run(amtool, "config", "routes", "test", f"--config.file={alertmanager_yml}", *args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert set(result.stdout.strip().split(",")) == receivers, f"{labels}: {result.stdout}"


def test_without_continue_critical_alerts_would_only_page(synthesis: Synthesis, amtool: str, tmp_path: Path) -> None:
    """The PagerDuty route's `continue` is what also posts critical alerts to Slack; the route test sees its absence."""
    config = yaml.safe_load(yaml.safe_dump(_config(synthesis, "production")))
    (paging,) = [route for route in config["spec"]["route"]["routes"] if route["receiver"] == "pagerduty"]
    del paging["continue"]
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(render([config], secret_dir=str(tmp_path))))
    result = run(amtool, "config", "routes", "test", f"--config.file={path}", "severity=critical", "alertname=HighErrorRate")
    assert result.stdout.strip() == PAGERDUTY


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
    (pagerduty,) = receivers["pagerduty"]["pagerdutyConfigs"]
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
    assert rendered(pagerduty["description"]) == f"[{env}] HighErrorRate: More than 10% of backend requests fail with 5xx"
    assert rendered(pagerduty["pagerDutyLinkConfigs"][0]["href"]).endswith("/docs/runbooks/high-error-rate.md")
