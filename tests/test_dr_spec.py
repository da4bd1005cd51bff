"""The standby's spec (envspec/dr.py): per-profile modes, and the DR VPC ranges the loader refuses.

A DR VPC must stay apart from every VPC of every environment in both regions: the standby's pods
reach the replica and the cache by private address, and a later peering or transit route between
the regions (failback copies data back) cannot route two equal ranges (Amazon VPC peering guide,
"VPC peering limitations": "You cannot create a VPC peering connection between VPCs that have
matching or overlapping IPv4 CIDR blocks"; the same rule for Transit Gateway attachments' routes).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from envspec import SpecError, load_environments
from envspec.naming import DR_LAYERS, names_for
from tests.conftest import ROOT, SPECS

ENVIRONMENTS_DIR = ROOT / "environments"


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    target = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line(path: Path, needle: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_modes_per_profile() -> None:
    assert SPECS["development"].dr.mode == "backup-restore" and SPECS["development"].dr.vpc_cidr is None
    assert SPECS["staging"].dr.mode == "pilot-light"
    assert SPECS["production"].dr.mode == "pilot-light"
    # Staging's standby is production's at smaller size.
    assert SPECS["staging"].dr.system_node_count < SPECS["production"].dr.system_node_count
    assert SPECS["production"].dr.database_instance_class == SPECS["production"].database.instance_class


def test_dr_names() -> None:
    names = names_for(SPECS["production"])
    assert [names.stack_id(layer) for layer in DR_LAYERS] == [
        "production-dr-network",
        "production-dr-cluster",
        "production-dr-data",
        "production-dr-edge",
        "production-dr-dns",
    ]
    assert names.dr_cluster_name == "ai-subsidy-production-dr" == names.dr_database_identifier
    assert names.dr_region == "ap-northeast-3"
    assert names.state_key("dr-data") == "production-dr-data/terraform.tfstate"


@pytest.mark.parametrize(
    ("edited", "cidr", "other", "other_field"),
    [
        ("staging.yaml", "10.0.0.0/16", "production.yaml", "network.vpc_cidr"),  # DR against another primary
        ("staging.yaml", "10.1.0.0/17", "production.yaml", "dr.vpc_cidr"),  # DR against another DR
        ("staging.yaml", "10.10.0.0/16", "development.yaml", "network.vpc_cidr"),  # against a backup-restore primary
    ],
)
def test_dr_vpc_overlapping_another_environment_is_one_error(
    environments: Path, edited: str, cidr: str, other: str, other_field: str
) -> None:
    _edit(environments / edited, "vpc_cidr: 10.21.0.0/16", f"vpc_cidr: {cidr}")
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert problem.file.endswith(edited) and problem.field == "dr.vpc_cidr"
    assert problem.line == _line(environments / edited, f"vpc_cidr: {cidr}")
    assert f"{cidr} overlaps" in problem.reason and other in problem.reason
    if other_field != "network.vpc_cidr":
        assert f"({other_field})" in problem.reason
    # The other file's line is named too.
    assert re.search(rf"{other}:\d+\)", problem.reason), problem.reason


def test_primary_vpc_overlapping_another_environments_dr_vpc(environments: Path) -> None:
    _edit(environments / "development.yaml", "vpc_cidr: 10.10.0.0/16", "vpc_cidr: 10.21.0.0/16")
    (environments / "development.yaml").touch()  # the edited file is the newer one
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert problem.file.endswith("development.yaml") and problem.field == "network.vpc_cidr"
    assert "(dr.vpc_cidr) of environment 'staging'" in problem.reason


def test_dr_vpc_overlapping_its_own_primary(environments: Path) -> None:
    _edit(environments / "staging.yaml", "vpc_cidr: 10.21.0.0/16", "vpc_cidr: 10.20.0.0/17")
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert problem.field == "dr.vpc_cidr" and problem.line == _line(environments / "staging.yaml", "10.20.0.0/17")
    assert "the primary VPC" in problem.reason


def test_a_standby_needs_a_vpc_and_the_replicas(environments: Path) -> None:
    _edit(environments / "staging.yaml", "  vpc_cidr: 10.21.0.0/16\n", "  mode: pilot-light\n")
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert problem.field == "dr" and "vpc_cidr is required for mode pilot-light" in problem.reason

    _edit(environments / "staging.yaml", "  mode: pilot-light\n", "  vpc_cidr: 10.21.0.0/16\n")
    _edit(environments / "staging.yaml", "ci:\n", "backup:\n  cross_region: false\nci:\n")
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert problem.field == "dr.mode" and "needs backup.cross_region" in problem.reason


def test_burstable_replica_refused_in_production(environments: Path) -> None:
    replica = "  vpc_cidr: 10.1.0.0/16\n  database_instance_class: db.t4g.medium\n"
    _edit(environments / "production.yaml", "  vpc_cidr: 10.1.0.0/16\n", replica)
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert problem.field == "dr.database_instance_class" and "burstable" in problem.reason


def test_replica_lag_alarm_above_the_rpo_is_refused(environments: Path) -> None:
    """The lag alarm is how anyone learns the standby would lose more than the RPO (envspec/dr.py)."""
    _edit(environments / "staging.yaml", "alarms:\n", "alarms:\n  rds_replica_lag_seconds: 301\n")
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert problem.field == "alarms.rds_replica_lag_seconds" and problem.line == _line(environments / "staging.yaml", "301")
    assert "above the RPO (300 s)" in problem.reason


def test_replica_lag_alarm_below_two_periods_is_refused(environments: Path) -> None:
    """An idle primary's replica reports ReplicaLag "of up to five minutes" (RDS User Guide, PostgreSQL read replica
    limitations), resetting once RDS's own write is replayed; the first one-minute datapoint after a reset can read up
    to a minute plus the replay delay, so a threshold of a minute or less would page on quiet nights
    (envspec/replica_lag.py, tests/test_replica_lag_alarm.py)."""
    _edit(environments / "staging.yaml", "alarms:\n", "alarms:\n  rds_replica_lag_seconds: 60\n")
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert problem.field == "alarms.rds_replica_lag_seconds" and problem.line == _line(environments / "staging.yaml", "60")
    assert "below 120 s (two ReplicaLag periods)" in problem.reason
