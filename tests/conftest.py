"""Shared fixtures: one synthesis per test run, parsed outputs, and validator binaries.

Synthesis runs `python -m synth` in a subprocess, exactly as `make synth` does, into a temporary
folder; every test reads the parsed result. Under pytest-xdist (`make test`) the synthesis is built
once for all workers (`tests.run_once`). A validator whose binary is missing skips its tests
loudly on a workstation and fails them when `CI=true`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import yaml

from envspec import EnvironmentSpec, load_environments
from envspec.naming import DR_LAYERS, LAYERS
from tests import spec_factory
from tests.run_once import build_once, json_once, key_of
from tools import checkov_gate

ROOT = Path(__file__).resolve().parent.parent
SPECS = load_environments()
ENVIRONMENTS = sorted(SPECS)
# Every stack: the primary's layers, then the standby's where the environment has one (dr.mode).
STACK_IDS = [f"{env}-{layer}" for env in ENVIRONMENTS for layer in LAYERS + (DR_LAYERS if SPECS[env].dr.has_standby else ())]
# The standby clusters' manifest folders (dist/<env>-dr).
STANDBY_FOLDERS = [f"{env}-dr" for env in ENVIRONMENTS if SPECS[env].dr.has_standby]
PROCESSES_REPORT = "processes-left-running.json"


def run_synth(
    terraform_outdir: Path,
    kubernetes_outdir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    processes_report: Path | None = None,
) -> subprocess.CompletedProcess:
    """`python -m synth` as a user runs it, with explicit output folders.

    With `processes_report`, it runs under `tools.process_tree`, which writes there (JSON) the
    processes it started that were still running when it returned.
    """
    watch = [sys.executable, "-m", "tools.process_tree", "--report", str(processes_report), "--"] if processes_report else []
    return subprocess.run(
        [
            *watch,
            sys.executable,
            "-m",
            "synth",
            "--terraform-outdir",
            str(terraform_outdir),
            "--kubernetes-outdir",
            str(kubernetes_outdir),
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0", **(env or {})},
        timeout=600,
    )


@dataclass(frozen=True)
class Synthesis:
    terraform_dir: Path
    kubernetes_dir: Path
    stdout: str
    stderr: str

    def stack_file(self, stack_id: str) -> Path:
        return self.terraform_dir / "stacks" / stack_id / "cdk.tf.json"

    def stack(self, stack_id: str) -> dict[str, Any]:
        return _load_json(self.stack_file(stack_id))

    @cached_property
    def stack_ids(self) -> list[str]:
        return sorted(path.name for path in (self.terraform_dir / "stacks").iterdir())

    def chart_files(self, env: str) -> list[Path]:
        return sorted((self.kubernetes_dir / env).glob("*.k8s.yaml"))

    def manifests(self, env: str) -> list[dict[str, Any]]:
        """Every Kubernetes object of one environment, in file order."""
        return [doc for path in self.chart_files(env) for doc in _load_yaml_documents(path)]

    def find(self, env: str, kind: str, name: str | None = None) -> list[dict[str, Any]]:
        return [doc for doc in self.manifests(env) if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)]

    def processes_left_running(self) -> list[dict[str, Any]]:
        """Processes `python -m synth` started that still ran when it returned (tools.process_tree)."""
        return json.loads((self.terraform_dir.parent / PROCESSES_REPORT).read_text())["leftover"]


_JSON_CACHE: dict[Path, Any] = {}
_YAML_CACHE: dict[Path, list[dict[str, Any]]] = {}


def _load_json(path: Path) -> Any:
    if path not in _JSON_CACHE:
        _JSON_CACHE[path] = json.loads(path.read_text(encoding="utf-8"))
    return _JSON_CACHE[path]


def _load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    if path not in _YAML_CACHE:
        _YAML_CACHE[path] = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return _YAML_CACHE[path]


def _synthesize_into(out: Path) -> None:
    result = run_synth(out / "cdktf.out", out / "dist", processes_report=out / PROCESSES_REPORT)
    (out / "stdout.txt").write_text(result.stdout, encoding="utf-8")
    (out / "stderr.txt").write_text(result.stderr, encoding="utf-8")
    assert result.returncode == 0, f"synthesis failed:\n{result.stderr}"


# Go's collector target for the Go programs the suite starts (Terraform and the AWS provider above all;
# promtool, amtool, actionlint): a collection when the heap has grown by 400 % rather than 100 %. The
# provider builds its whole schema at every start and is started several times per plan; measured on the
# emulator plans, 22 % fewer CPU-seconds for about 150 MiB more per provider process (docs/performance.md).
# A value the user set is kept.
GO_COLLECTOR_TARGET = "400"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("GOGC", GO_COLLECTOR_TARGET)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked `long_running` go first, so under pytest-xdist (`make test`: `--dist loadfile
    --no-loadscope-reorder`, one module per worker at a time, in this order) the run's long pole
    starts at once rather than last."""
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The checked-in environments, synthesized once per run (shared by every xdist worker)."""
    out = build_once(tmp_path_factory, "synth", _synthesize_into)
    return Synthesis(
        out / "cdktf.out", out / "dist", (out / "stdout.txt").read_text(encoding="utf-8"), (out / "stderr.txt").read_text(encoding="utf-8")
    )


@dataclass(frozen=True)
class VariantSynthesis(Synthesis):
    """The synthesis of the spec variants (tests/spec_factory.py), with their loaded specs."""

    specs: dict[str, EnvironmentSpec] = field(default_factory=dict)


def _synthesize_variants(out: Path) -> None:
    spec_factory.write_all(out / "environments")
    result = run_synth(out / "cdktf.out", out / "dist", "--environments-dir", str(out / "environments"))
    assert result.returncode == 0, f"synthesis of the spec variants failed:\n{result.stderr}"


@pytest.fixture(scope="session")
def variants(tmp_path_factory: pytest.TempPathFactory) -> VariantSynthesis:
    """Every variant declared with `tests.spec_factory.variant`, synthesized in one process once per run."""
    if not spec_factory.VARIANTS:
        pytest.skip("no spec variant is declared")
    key = key_of("variants", {name: declared.document() for name, declared in spec_factory.VARIANTS.items()})
    out = build_once(tmp_path_factory, key, _synthesize_variants)
    return VariantSynthesis(out / "cdktf.out", out / "dist", "", "", specs=load_environments(out / "environments"))


@pytest.fixture(scope="session")
def checkov_reports(synthesis: Synthesis, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """checkov's reports per framework (terraform_json, kubernetes, github_actions) over the synthesis
    and the workflows: one checkov process per run, read by every test that judges a finding."""
    if checkov_gate.checkov_binary() is None:
        require_binary("checkov", "run `make test`, which installs it into .tools/checkov")
    scans = {"terraform_json": synthesis.terraform_dir, "kubernetes": synthesis.kubernetes_dir, "github_actions": ROOT / ".github"}
    return json_once(tmp_path_factory, "checkov", lambda: checkov_gate.run_checkov_together(scans, tmp_path_factory.mktemp("checkov")))


@pytest.fixture(scope="session")
def specs() -> dict[str, EnvironmentSpec]:
    return SPECS


def require_binary(name: str, hint: str) -> str:
    """Path of a validator binary; skip loudly locally, fail in CI, when it is missing."""
    found = shutil.which(name)
    if found:
        return found
    message = f"VALIDATOR MISSING: `{name}` not found on PATH; {hint}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError("unreachable")


def resources_of(stack: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return stack.get("resource", {}).get(resource_type, {})


def data_of(stack: dict[str, Any], data_type: str) -> dict[str, dict[str, Any]]:
    return stack.get("data", {}).get(data_type, {})


def only(items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The single resource of a type; fails when there are none or several."""
    assert len(items) == 1, f"expected exactly one, found {sorted(items)}"
    return next(iter(items.values()))


def only_item(items: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """(logical id, body) of the single resource of a type; fails when there are none or several."""
    assert len(items) == 1, f"expected exactly one, found {sorted(items)}"
    return next(iter(items.items()))


def ref(expression: str) -> str:
    """Logical id a Terraform reference points at: `${aws_kms_key.key_ABC.arn}` -> `key_ABC`."""
    inner = expression.removeprefix("${").removesuffix("}")
    parts = inner.split(".")
    return parts[2] if parts[0] == "data" else parts[1]
