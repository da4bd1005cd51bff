"""Helpers for tests that hand synthesized rules and queries to promtool."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from envspec.naming import PROMETHEUS_RULE
from tests.conftest import Synthesis

PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "by", "without", "on", "ignoring", "group_left", "group_right"}
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def metric_names(expr: str) -> set[str]:
    """Names of the series a PromQL expression selects (not functions, keywords or label names)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery windows
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"(?<![A-Za-z0-9_:])\d+(\.\d+)?([eE][+-]?\d+)?", " ", text)  # numbers
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function or aggregation
        if match.group(0).lower() in PROMQL_KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def prometheus_rule(synthesis: Synthesis, env: str) -> dict[str, Any]:
    (rule,) = synthesis.find(env, "PrometheusRule", PROMETHEUS_RULE)
    return rule


def write_rule_file(path: Path, groups: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False, width=200), encoding="utf-8")
    return path


def run(binary: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def unit_test_file(folder: Path, tests: list[dict[str, Any]], *, evaluation_interval: str = "1m") -> Path:
    """promtool's unit-test file `folder/tests.yaml` for the rule file `rules.yaml` beside it."""
    path = folder / "tests.yaml"
    document = {"rule_files": ["rules.yaml"], "evaluation_interval": evaluation_interval, "tests": tests}
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=200), encoding="utf-8")
    return path


def promtool_unit_tests(
    promtool: str, folder: Path, tests: list[dict[str, Any]], *, evaluation_interval: str = "1m"
) -> subprocess.CompletedProcess:
    """`promtool test rules` of `tests` against `folder/rules.yaml`."""
    return run(promtool, "test", "rules", str(unit_test_file(folder, tests, evaluation_interval=evaluation_interval)))
