"""Extract kube-prometheus-stack's default rule groups from the chart's templates into a data file.

Helm cannot run here, so this reads the chart's `templates/prometheus/rules-1.14/*.yaml` at a tag of
github.com/prometheus-community/helm-charts and renders what the default values make of them: the
values that enable each file (its first `if`) and each rule (the `if`s around it), and each rule's
`expr`, `for` and `severity` with the chart's job names for release `kube-prometheus-stack` in
namespace `monitoring`. Annotations are left out. Every rendered expression is checked to be free of
template syntax; `promtool check rules` then proves the file parses (tests/test_default_rules.py).

Usage: python -m tools.kube_prometheus_rules <helm-charts checkout>/charts/kube-prometheus-stack > data.yaml
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

RELEASE = "kube-prometheus-stack"
NAMESPACE = "monitoring"
RULES_DIR = "templates/prometheus/rules-1.14"
# The chart's `_helpers.tpl` job names (no `jobNameOverride`), and `printf "%s-%s" fullname ...`.
VARIABLES = {
    "$kubeSchedulerJob": "kube-scheduler",
    "$kubeControllerManagerJob": "kube-controller-manager",
    "$kubeProxyJob": "kube-proxy",
    "$kubeApiserverJob": "apiserver",
    "$kubeletJob": "kubelet",
    "$kubeStateMetricsJob": "kube-state-metrics",
    "$alertmanagerJob": f"{RELEASE}-alertmanager",
    "$operatorJob": f"{RELEASE}-operator",
    "$prometheusJob": f"{RELEASE}-prometheus",
    "$namespace": NAMESPACE,
    "$targetNamespace": ".*",
    "$namespaceOperator": "=~",
}
# Values an expression reads directly, at their defaults in values.yaml.
VALUES = {
    "$.Values.defaultRules.node.fsSelector": 'fstype!=""',
    ".Values.defaultRules.kubeletClientCertificateExpiration.warning": "604800",
    ".Values.defaultRules.kubeletClientCertificateExpiration.critical": "86400",
    ".Values.defaultRules.kubeletServerCertificateExpiration.warning": "604800",
    ".Values.defaultRules.kubeletServerCertificateExpiration.critical": "86400",
    ".Values.defaultRules.runbookUrl": "https://runbooks.prometheus-operator.dev/runbooks",
}
GATE_IGNORED = ("defaultRules.create", "kubeTargetVersionOverride")
VALUE_REF = re.compile(r"\.Values\.([A-Za-z0-9_.]+)")
DIG = re.compile(r'\{\{ dig "[^"]+" "(for|severity)" "([^"]*)" \.Values\.customRules \}\}')
AGGREGATION = "{{ range $.Values.defaultRules.additionalAggregationLabels }}{{ . }},{{ end }}"
JOB = re.compile(r'\bjob\s*(=~|=|!=|!~)\s*"([^"]*)"')


def _render_inline(text: str) -> str:
    text = DIG.sub(lambda match: match.group(2), text)
    text = text.replace(AGGREGATION, "")
    text = text.replace("{{`{{`}}", "{{").replace("{{`}}`}}", "}}")
    for name, value in {**VALUES, **VARIABLES}.items():
        text = text.replace(f"{{{{ {name} }}}}", value)
    return text


def _is_template_only(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("{{") and stripped.endswith("}}") and "}}" not in stripped[2:-2]


def _conditions(stack: list[str]) -> list[str]:
    """The values an enclosing `if` requires (labels and annotations blocks aside)."""
    needed = []
    for condition in stack:
        if "additionalRule" in condition or "$additionalAnnotations" in condition or "keepFiringFor" in condition:
            continue
        for ref in VALUE_REF.findall(condition):
            if not ref.startswith(GATE_IGNORED):
                needed.append(f"not {ref}" if condition.lstrip().startswith("not") else ref)
    return needed


def _rule(lines: list[str], required: list[str]) -> dict[str, Any]:
    body = "\n".join(_render_inline(line) for line in lines if not _is_template_only(line))
    (item,) = yaml.safe_load(body)
    expr = str(item["expr"]).strip()
    if "{{" in expr:
        raise ValueError(f"template syntax left in {item.get('alert') or item.get('record')}: {expr}")
    rule: dict[str, Any] = {"alert": item["alert"]} if "alert" in item else {"record": item["record"]}
    rule["expr"] = expr
    if "alert" in item:
        if "for" in item:
            rule["for"] = str(item["for"])
        rule["severity"] = str(item.get("labels", {}).get("severity", ""))
    elif item.get("labels"):
        rule["labels"] = {key: str(value) for key, value in item["labels"].items()}
    rule["jobs"] = sorted({f"{op}{value}" if op != "=" else value for op, value in JOB.findall(expr)})
    if required:
        rule["requires"] = required
    return rule


def extract_file(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    gate_line = next(line for line in lines if line.startswith("{{- if and (semverCompare"))
    gate = [ref for ref in VALUE_REF.findall(gate_line) if not ref.startswith(GATE_IGNORED) and ".disabled." not in ref]
    groups: list[dict[str, Any]] = []
    stack: list[str] = []
    current: list[str] | None = None
    current_required: list[str] = []
    in_spec = False

    def close() -> None:
        nonlocal current
        if current is not None:
            groups[-1]["rules"].append(_rule(current, current_required))
            current = None

    for line in lines:
        if line == "spec:":
            in_spec = True
            continue
        if not in_spec:
            continue
        if line.startswith("{{"):
            if re.match(r"\{\{-? (if|with|range) ", line):
                stack.append(line)
            elif re.match(r"\{\{-? end", line) and stack:  # the last `end` closes the file's gate
                stack.pop()
            continue
        if line.startswith("  - "):  # a group: `name` (and `interval`) on this line or the next
            close()
            groups.append({"rules": []})
            line = "    " + line[4:]
        if current is None and (match := re.match(r"^    (name|interval): (\S+)$", line)):
            groups[-1][match.group(1)] = match.group(2)
            continue
        if line.startswith("    - "):
            close()
            current = [line[4:]]
            current_required = [ref for ref in _conditions(stack) if ".disabled." not in ref]
            continue
        if current is not None and (line.startswith("      ") or _is_template_only(line) or not line.strip()):
            current.append(line[4:] if line.startswith("    ") else line)
    close()
    return [
        {
            "file": path.name,
            "name": group["name"],
            **({"interval": group["interval"]} if "interval" in group else {}),
            "enabled_by": gate,
            "rules": group["rules"],
        }
        for group in groups
    ]


def extract(chart_dir: Path) -> dict[str, Any]:
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text(encoding="utf-8"))
    groups = [group for path in sorted((chart_dir / RULES_DIR).glob("*.yaml")) for group in extract_file(path)]
    values = yaml.safe_load((chart_dir / "values.yaml").read_text(encoding="utf-8"))
    referenced = sorted(
        {ref for group in groups for ref in (*group["enabled_by"], *(r for rule in group["rules"] for r in rule.get("requires", ())))}
    )
    return {
        "source": {
            "repository": "https://github.com/prometheus-community/helm-charts",
            "tag": f"{chart['name']}-{chart['version']}",
            "path": f"charts/{chart['name']}/{RULES_DIR}/*.yaml",
            "operator": chart["appVersion"],
        },
        "rendered_for": {"release": RELEASE, "namespace": NAMESPACE, "values": "the chart's defaults"},
        # Each value a group or rule needs, as values.yaml sets it (null: not set, which Helm reads as false).
        "defaults": {ref: lookup(values, ref) for ref in referenced},
        "groups": groups,
    }


def lookup(values: dict[str, Any], path: str) -> Any:
    node: Any = values
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


HEADER = """\
# kube-prometheus-stack's default rule groups, extracted by tools/kube_prometheus_rules.py from the
# chart's templates at the tag below (see `source`); data, not code: regenerate, never edit by hand.
# Per group: the template file, the values that must be true for the chart to render it
# (`enabled_by`), and its rules with the jobs their expressions select; `requires` lists further
# values one rule needs. tests/test_default_rules.py reads this file.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.kube_prometheus_rules", description=__doc__.splitlines()[0])
    parser.add_argument("chart_dir", type=Path, help="charts/kube-prometheus-stack of a prometheus-community/helm-charts checkout")
    args = parser.parse_args(argv)
    sys.stdout.write(HEADER + yaml.safe_dump(extract(args.chart_dir), sort_keys=False, width=200))
    return 0


if __name__ == "__main__":
    sys.exit(main())
