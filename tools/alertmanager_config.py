"""Render the plain `alertmanager.yml` the Prometheus operator makes of our AlertmanagerConfig.

`amtool check-config` and `amtool config routes test` read Alertmanager's own configuration, not the
operator's custom resource, so this reproduces the operator's conversion (prometheus-operator
`pkg/alertmanager/amcfg.go`, matcher strategy `None` as kube-prometheus-stack is configured here):

- receivers are renamed `<namespace>/<name>/<receiver>`;
- the resource's route becomes a first-level route with `continue: true`, placed before the base
  configuration's own routes; no namespace matcher is added (strategy `None`);
- inhibit rules are copied without a namespace matcher;
- credentials read from Secrets become `*_file` paths here (placeholders under `secret_dir`, never
  values); the operator inlines the Secret's value instead. A webhook's `urlSecret` becomes a
  placeholder `url` naming the Secret and key (amtool 0.25 knows no `url_file`).

The base configuration is kube-prometheus-stack's default: everything to a `null` receiver, and
its always-firing `Watchdog` alert explicitly there too.

Usage: python -m tools.alertmanager_config dist/production/alert-routing.k8s.yaml > alertmanager.yml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

NULL_RECEIVER = "null"
SECRET_DIR = "/etc/alertmanager/secrets"
WEBHOOK_PLACEHOLDER = "https://secret.invalid"
BASE_CONFIG: dict[str, Any] = {
    "global": {"resolve_timeout": "5m"},
    "route": {
        "receiver": NULL_RECEIVER,
        "group_by": ["namespace"],
        "group_wait": "30s",
        "group_interval": "5m",
        "repeat_interval": "12h",
        "routes": [{"receiver": NULL_RECEIVER, "matchers": ['alertname="Watchdog"']}],
    },
    "receivers": [{"name": NULL_RECEIVER}],
}
DEFAULT_MATCH_TYPE = "="
CAMEL_TO_SNAKE = {
    "groupBy": "group_by",
    "groupWait": "group_wait",
    "groupInterval": "group_interval",
    "repeatInterval": "repeat_interval",
    "sendResolved": "send_resolved",
    "titleLink": "title_link",
}


def _matcher(item: dict[str, Any]) -> str:
    match_type = item.get("matchType") or ("=~" if item.get("regex") else DEFAULT_MATCH_TYPE)
    value = str(item.get("value", "")).replace("\\", "\\\\").replace('"', '\\"')
    return f'{item["name"]}{match_type}"{value}"'


def _route(route: dict[str, Any], prefix: str, first_level: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if route.get("receiver"):
        out["receiver"] = prefix + route["receiver"]
    if route.get("matchers"):
        out["matchers"] = [_matcher(item) for item in route["matchers"]]
    for camel, snake in CAMEL_TO_SNAKE.items():
        if camel in route:
            out[snake] = route[camel]
    if first_level or route.get("continue"):
        out["continue"] = True
    if route.get("routes"):
        out["routes"] = [_route(child, prefix, first_level=False) for child in route["routes"]]
    return out


def _secret_file(selector: dict[str, Any], secret_dir: str) -> str:
    return f"{secret_dir}/{selector['name']}/{selector['key']}"


def _slack(config: dict[str, Any], secret_dir: str) -> dict[str, Any]:
    out = {"api_url_file": _secret_file(config["apiURL"], secret_dir)}
    for key in ("channel", "title", "text", "color", "username", "footer", "pretext", "fallback"):
        if key in config:
            out[key] = config[key]
    out.update({snake: config[camel] for camel, snake in CAMEL_TO_SNAKE.items() if camel in config})
    return out


def _pagerduty(config: dict[str, Any], secret_dir: str) -> dict[str, Any]:
    out = {"routing_key_file": _secret_file(config["routingKey"], secret_dir)}
    for key in ("severity", "description", "client", "class", "component", "group", "source"):
        if key in config:
            out[key] = config[key]
    if "clientURL" in config:
        out["client_url"] = config["clientURL"]
    if "pagerDutyLinkConfigs" in config:
        out["links"] = [{"href": link.get("href", ""), "text": link.get("alt", "")} for link in config["pagerDutyLinkConfigs"]]
    out.update({snake: config[camel] for camel, snake in CAMEL_TO_SNAKE.items() if camel in config})
    return out


def _webhook(config: dict[str, Any]) -> dict[str, Any]:
    selector = config["urlSecret"]
    out: dict[str, Any] = {"url": f"{WEBHOOK_PLACEHOLDER}/{selector['name']}/{selector['key']}"}
    if "maxAlerts" in config:
        out["max_alerts"] = config["maxAlerts"]
    out.update({snake: config[camel] for camel, snake in CAMEL_TO_SNAKE.items() if camel in config})
    return out


def _receiver(receiver: dict[str, Any], prefix: str, secret_dir: str) -> dict[str, Any]:
    unsupported = set(receiver) - {"name", "slackConfigs", "pagerdutyConfigs", "webhookConfigs"}
    if unsupported:
        raise ValueError(f"receiver {receiver['name']}: rendering of {sorted(unsupported)} is not implemented")
    out: dict[str, Any] = {"name": prefix + receiver["name"]}
    if "slackConfigs" in receiver:
        out["slack_configs"] = [_slack(config, secret_dir) for config in receiver["slackConfigs"]]
    if "pagerdutyConfigs" in receiver:
        out["pagerduty_configs"] = [_pagerduty(config, secret_dir) for config in receiver["pagerdutyConfigs"]]
    if "webhookConfigs" in receiver:
        out["webhook_configs"] = [_webhook(config) for config in receiver["webhookConfigs"]]
    return out


def _inhibit_rule(rule: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source_matchers": [_matcher(item) for item in rule.get("sourceMatch", [])],
        "target_matchers": [_matcher(item) for item in rule.get("targetMatch", [])],
    }
    if rule.get("equal"):
        out["equal"] = list(rule["equal"])
    return out


def render(alertmanager_configs: list[dict[str, Any]], secret_dir: str = SECRET_DIR) -> dict[str, Any]:
    """alertmanager.yml for the base configuration plus the given AlertmanagerConfig objects."""
    config = yaml.safe_load(yaml.safe_dump(BASE_CONFIG))  # deep copy
    routes, receivers, inhibit_rules = [], [], []
    for resource in sorted(alertmanager_configs, key=lambda item: (item["metadata"]["namespace"], item["metadata"]["name"])):
        prefix = f"{resource['metadata']['namespace']}/{resource['metadata']['name']}/"
        spec = resource["spec"]
        if spec.get("route"):
            routes.append(_route(spec["route"], prefix, first_level=True))
        receivers += [_receiver(receiver, prefix, secret_dir) for receiver in spec.get("receivers", [])]
        inhibit_rules += [_inhibit_rule(rule) for rule in spec.get("inhibitRules", [])]
    config["route"]["routes"] = routes + config["route"]["routes"]
    config["receivers"] += receivers
    if inhibit_rules:
        config["inhibit_rules"] = inhibit_rules
    return config


def alertmanager_configs(path: Path) -> list[dict[str, Any]]:
    documents = yaml.safe_load_all(path.read_text(encoding="utf-8"))
    return [document for document in documents if document and document.get("kind") == "AlertmanagerConfig"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.alertmanager_config", description=__doc__.splitlines()[0])
    parser.add_argument("manifests", type=Path, nargs="+", help="synthesized YAML files holding AlertmanagerConfig objects")
    parser.add_argument("--secret-dir", default=SECRET_DIR, help="folder the credential file paths point into")
    args = parser.parse_args(argv)
    resources = [resource for path in args.manifests for resource in alertmanager_configs(path)]
    sys.stdout.write(yaml.safe_dump(render(resources, args.secret_dir), sort_keys=False, width=200))
    return 0


if __name__ == "__main__":
    sys.exit(main())
