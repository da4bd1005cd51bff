"""The short report `make synth` prints: resource counts per stack, objects per chart, where it all went."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from envspec import EnvironmentSpec


def _stack_counts(path: Path) -> tuple[int, int, int]:
    document = json.loads(path.read_text(encoding="utf-8"))
    resources = sum(len(items) for items in document.get("resource", {}).values())
    data = sum(len(items) for items in document.get("data", {}).values())
    return resources, data, len(document.get("output", {}))


def print_summary(specs: dict[str, EnvironmentSpec], terraform_outdir: Path | None, kubernetes_outdir: Path | None, seconds: float) -> None:
    if terraform_outdir is not None:
        print(f"Terraform JSON -> {terraform_outdir}/stacks/<stack>/cdk.tf.json")
        print(f"  {'stack':<28} {'resources':>9} {'data':>5} {'outputs':>7}")
        for stack in sorted((terraform_outdir / "stacks").iterdir()):
            if any(stack.name.startswith(f"{name}-") for name in specs):
                resources, data, outputs = _stack_counts(stack / "cdk.tf.json")
                print(f"  {stack.name:<28} {resources:>9} {data:>5} {outputs:>7}")
    if kubernetes_outdir is not None:
        print(f"Kubernetes YAML -> {kubernetes_outdir}/<env>/<chart>.k8s.yaml")
        for name in specs:
            charts = sorted((kubernetes_outdir / name).glob("*.k8s.yaml"))
            counts = ", ".join(
                f"{chart.name.removesuffix('.k8s.yaml')} {sum(1 for doc in yaml.safe_load_all(chart.read_text()) if doc)}"
                for chart in charts
            )
            print(f"  {name:<28} {counts}")
    print(f"Synthesized {len(specs)} environment(s) in {seconds:.1f} s")
