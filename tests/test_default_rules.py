"""kube-prometheus-stack's default rules on EKS: no alert the values leave enabled can fire forever.

Source: prometheus-community/helm-charts, tag kube-prometheus-stack-88.2.0,
charts/kube-prometheus-stack/templates/prometheus/rules-1.14/*.yaml and values.yaml, extracted into
tests/data/ (see its README). What EKS exposes: the control plane (scheduler, controller manager,
etcd) runs outside the cluster, with no pod the chart's Services could select (EKS user guide,
"Fetch control plane raw metrics in Prometheus format": only the API server serves them, under
/apis/metrics.eks.amazonaws.com); the kube-proxy add-on's `kube-proxy-config` sets
`metricsBindAddress: 127.0.0.1:10249` (aws/containers-roadmap#657), so a scrape of the pod IP is
refused. A target that is never discovered makes `absent(up{job=...})` true forever; one that is
refused makes `up == 0` true forever. promtool evaluates the enabled groups against exactly that
cluster and reports which alerts fire.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from charts.addons import EKS_DISABLED_RULE_GROUPS, EKS_UNSCRAPEABLE_COMPONENTS, KUBE_PROMETHEUS_CHART
from envspec.naming import KUBE_PROMETHEUS_RELEASE
from tests.conftest import ENVIRONMENTS, Synthesis, require_binary
from tests.default_rules import DEFAULT_RULES, alerts, enabled_groups, rule_file_groups
from tests.prometheus import metric_names, promtool_unit_tests, run, write_rule_file

UP, REFUSED, UNDISCOVERED = "answers", "refused", "undiscovered"
# Each scrape job the chart can create, as EKS serves it: (namespace, targets, state).
EKS_JOBS = {
    "apiserver": ("default", 2, UP),
    "kubelet": ("kube-system", 3, UP),
    "coredns": ("kube-system", 2, UP),
    "kube-state-metrics": ("monitoring", 1, UP),
    "node-exporter": ("monitoring", 3, UP),
    f"{KUBE_PROMETHEUS_RELEASE}-prometheus": ("monitoring", 1, UP),
    f"{KUBE_PROMETHEUS_RELEASE}-alertmanager": ("monitoring", 1, UP),
    f"{KUBE_PROMETHEUS_RELEASE}-operator": ("monitoring", 1, UP),
    "kube-proxy": ("kube-system", 3, REFUSED),
    "kube-scheduler": ("kube-system", 0, UNDISCOVERED),
    "kube-controller-manager": ("kube-system", 0, UNDISCOVERED),
    "kube-etcd": ("kube-system", 0, UNDISCOVERED),
}
# The chart component (values key, `enabled` true by default) whose Service and ServiceMonitor make each
# job; both templates render only if `<component>.enabled` (templates/exporters/<component>/service.yaml).
COMPONENT_JOBS = {
    "kubeApiServer": "apiserver",
    "kubelet": "kubelet",
    "coreDns": "coredns",
    "kubeProxy": "kube-proxy",
    "kubeScheduler": "kube-scheduler",
    "kubeControllerManager": "kube-controller-manager",
    "kubeEtcd": "kube-etcd",
}
KUBELET_PATHS = ("/metrics", "/metrics/cadvisor", "/metrics/probes")
NODES = tuple(f"ip-10-0-{zone}-23.ap-northeast-1.compute.internal" for zone in (1, 2, 3))
MINUTES = 60
OTHERS_FIRING = 'ALERTS{alertstate="firing", alertname!="Watchdog"}'
# The default rule groups our values leave enabled (the chart renders the per-resource
# `k8s.rules.container_{cpu,memory}_{limits,requests}` and Windows groups only if asked)...
ENABLED_GROUPS = {
    "alertmanager.rules", "config-reloaders", "general.rules",
    "k8s.rules.container_cpu_usage_seconds_total", "k8s.rules.container_memory_cache", "k8s.rules.container_memory_rss",
    "k8s.rules.container_memory_swap", "k8s.rules.container_memory_working_set_bytes", "k8s.rules.container_resource",
    "k8s.rules.pod_owner", "kube-apiserver-availability.rules", "kube-apiserver-burnrate.rules", "kube-apiserver-histogram.rules",
    "kube-apiserver-slos", "kube-prometheus-general.rules", "kube-prometheus-node-recording.rules", "kube-state-metrics",
    "kubelet.rules", "kubernetes-apps", "kubernetes-resources", "kubernetes-storage", "kubernetes-system",
    "kubernetes-system-apiserver", "kubernetes-system-kubelet", "node-exporter", "node-exporter.rules", "node-network",
    "node.rules", "prometheus", "prometheus-operator",
}  # fmt: skip
# ...and those they turn off that the chart's defaults render.
TURNED_OFF = {
    "etcd", "kube-scheduler.rules", "kubernetes-system-scheduler", "kubernetes-system-controller-manager", "kubernetes-system-kube-proxy",
}  # fmt: skip
# The chart's defaults on this cluster, as promtool finds them below.
FOREVER_WITH_CHART_DEFAULTS = {"KubeSchedulerDown", "KubeControllerManagerDown", "KubeProxyInstanceUnreachable", "TargetDown"}


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool", "install Debian's `prometheus` package (.ci/run does)")


def _values(synthesis: Synthesis, env: str) -> dict[str, Any]:
    (application,) = synthesis.find(env, "Application", KUBE_PROMETHEUS_RELEASE)
    return application["spec"]["source"]["helm"]["valuesObject"]


def _scraped_jobs(values: dict[str, Any]) -> set[str]:
    off = {job for component, job in COMPONENT_JOBS.items() if (values.get(component) or {}).get("enabled") is False}
    return set(EKS_JOBS) - off


def _selects(rule: dict[str, Any], job: str) -> bool:
    return any(re.fullmatch(selector[2:], job) if selector.startswith("=~") else selector == job for selector in rule["jobs"])


def _input_series(jobs: set[str]) -> list[dict[str, str]]:
    series = []
    for job in sorted(jobs):
        namespace, targets, state = EKS_JOBS[job]
        value = "1" if state == UP else "0"
        paths = KUBELET_PATHS if job == "kubelet" else (None,)
        for index in range(targets):
            for path in paths:
                labels = f'job="{job}", namespace="{namespace}", service="{job}", instance="10.0.{index}.10:443"'
                labels += f', metrics_path="{path}"' if path else ""
                series.append({"series": f"up{{{labels}}}", "values": f"{value}x{MINUTES + 10}"})
    series += [{"series": f'kube_node_info{{job="kube-state-metrics", node="{node}"}}', "values": f"1x{MINUTES + 10}"} for node in NODES]
    return series


def _firing_forever(values: dict[str, Any], promtool: str, tmp_path: Path) -> set[str]:
    """Alerts firing after an hour on an EKS cluster where every scrapeable target answers."""
    write_rule_file(tmp_path / "rules.yaml", rule_file_groups(enabled_groups(values)))
    test = {
        "interval": "1m",
        "input_series": _input_series(_scraped_jobs(values)),
        "promql_expr_test": [
            {"expr": f"count by (alertname) ({OTHERS_FIRING})", "eval_time": f"{MINUTES}m", "exp_samples": []},
            {"expr": 'ALERTS{alertname="Watchdog", alertstate="firing"}', "eval_time": f"{MINUTES}m",
             "exp_samples": [{"labels": 'ALERTS{alertname="Watchdog", alertstate="firing", severity="none"}', "value": 1}]},
        ],
    }  # fmt: skip
    result = promtool_unit_tests(promtool, tmp_path, [test])
    output = result.stdout + result.stderr
    assert 'ALERTS{alertname=\\"Watchdog\\"' not in output, output  # the pipeline's own alert fires as it should
    got = output.split("got:", 1)[1] if "got:" in output else ""
    firing = set(re.findall(r'alertname="(\w+)"', got))
    assert (result.returncode == 0) == (not firing), output
    return firing


def test_the_data_is_the_pinned_charts_and_promtool_reads_it(promtool: str, tmp_path: Path) -> None:
    assert DEFAULT_RULES["source"]["tag"] == f"{KUBE_PROMETHEUS_CHART.name}-{KUBE_PROMETHEUS_CHART.version}"
    every = rule_file_groups(DEFAULT_RULES["groups"])
    assert sum(1 for group in every for rule in group["rules"] if "alert" in rule) == 155
    result = run(promtool, "check", "rules", str(write_rule_file(tmp_path / "rules.yaml", every)))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_what_eks_cannot_scrape_is_off_with_its_rule_groups(env: str, synthesis: Synthesis) -> None:
    values = _values(synthesis, env)
    unscrapeable = {job for job, (_, _, state) in EKS_JOBS.items() if state != UP}
    assert unscrapeable == {COMPONENT_JOBS[component] for component in EKS_UNSCRAPEABLE_COMPONENTS}
    assert _scraped_jobs(values).isdisjoint(unscrapeable)
    rules = values["defaultRules"]["rules"]
    assert {group: rules[group] for group in EKS_DISABLED_RULE_GROUPS} == dict.fromkeys(EKS_DISABLED_RULE_GROUPS, False)
    for alert in alerts(enabled_groups(values)):
        assert not any(_selects(alert, job) for job in unscrapeable), f"{alert['alert']} watches {alert['jobs']}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_enabled_default_alert_fires_forever_on_eks(env: str, synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    groups = enabled_groups(_values(synthesis, env))
    assert {group["name"] for group in groups} == ENABLED_GROUPS
    assert {group["name"] for group in enabled_groups({})} - ENABLED_GROUPS == TURNED_OFF
    assert _firing_forever(_values(synthesis, env), promtool, tmp_path) == set()


def test_the_charts_defaults_would_fire_forever(promtool: str, tmp_path: Path) -> None:
    """Without our values the same cluster fires these from the first hour: two of them critical."""
    firing = _firing_forever({}, promtool, tmp_path)
    assert firing == FOREVER_WITH_CHART_DEFAULTS
    severities = {alert["alert"]: alert["severity"] for alert in alerts(enabled_groups({}))}
    assert {name for name in firing if severities[name] == "critical"} == {"KubeSchedulerDown", "KubeControllerManagerDown"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_enabled_rule_reads_recordings_an_enabled_group_makes(env: str, synthesis: Synthesis) -> None:
    """Turning a group off must not leave another's alert reading a series nobody records (an alert
    that can never fire). The chart records some series in two files (k8s.rules.container_resource
    and the per-resource ones its values leave off), so this is checked, not assumed."""
    groups = enabled_groups(_values(synthesis, env))
    recorded = {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}
    for group in groups:
        for rule in group["rules"]:
            expr = "\n".join(line for line in rule["expr"].splitlines() if not line.lstrip().startswith("#"))
            unrecorded = {name for name in metric_names(expr) if ":" in name} - recorded
            assert not unrecorded, f"{rule.get('alert') or rule.get('record')} reads {unrecorded}"
