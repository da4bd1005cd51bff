"""Decisions that differ per class of environment are named spec fields with per-profile defaults
(envspec/profiles.py), not `is_production` branches inside constructs: a preview environment or a
second production-like one then gets them by its profile or by one line in its file, and the spec
reference (environments/README.md) shows every profile's value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from envspec.profiles import PROFILES
from tests.conftest import ROOT, SPECS, Synthesis, only, resources_of
from tests.spec_factory import Variant

CONSTRUCT_PACKAGES = ("stacks", "charts")


def test_no_construct_branches_on_the_profile() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in CONSTRUCT_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bis_production\b|\.profile\s*[!=]=", line)
    ]
    assert not offenders, f"per-profile decisions belong in envspec/profiles.py: {offenders}"


@pytest.mark.parametrize(
    ("field", "production", "elsewhere"),
    [
        (("database", "final_snapshot"), True, False),
        (("edge", "load_balancer_deletion_protection"), True, False),
        (("ci", "deploy_from_branch"), False, True),
        (("backup", "secret_recovery_window_days"), 30, 7),
    ],
)
def test_profile_values(field: tuple[str, str], production: object, elsewhere: object) -> None:
    for env, spec in SPECS.items():
        section, name = field
        value = getattr(getattr(spec, section), name)
        assert value == (production if spec.profile == "production" else elsewhere), (env, field)
    assert set(PROFILES) == {"development", "staging", "production"}


def test_the_synthesized_output_follows_the_fields(synthesis: Synthesis) -> None:
    for env, spec in SPECS.items():
        database = only(resources_of(synthesis.stack(f"{env}-data"), "aws_db_instance"))
        assert database["skip_final_snapshot"] is (not spec.database.final_snapshot), env
        (ingress,) = synthesis.find(env, "Ingress")
        attributes = ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/load-balancer-attributes"]
        expected = "true" if spec.edge.load_balancer_deletion_protection else "false"
        assert f"deletion_protection.enabled={expected}" in attributes, env
        for secret in resources_of(synthesis.stack(f"{env}-data"), "aws_secretsmanager_secret").values():
            assert secret["recovery_window_in_days"] == spec.backup.secret_recovery_window_days, env


def test_a_file_can_override_a_profile_decision(tmp_path: Path) -> None:
    overrides = {"database": {"final_snapshot": True}, "ci": {"deploy_from_branch": False}}
    spec = Variant("overrides", "staging", overrides, "10.200.0.0/16", "900000000999", "10.201.0.0/16").spec(tmp_path)
    assert spec.database.final_snapshot and not spec.ci.deploy_from_branch
