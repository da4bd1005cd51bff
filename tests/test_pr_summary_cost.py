"""The pull-request summary's cost section: each environment's monthly estimate before and after, and
the stacks whose estimate changed with the line items that moved most (tools/cost/compare.py)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ENVIRONMENTS, ROOT, Synthesis
from tools import pr_summary
from tools.cost.prices import HOURS_PER_MONTH, price_book


@pytest.fixture
def base(synthesis: Synthesis, tmp_path: Path) -> Path:
    """The base: staging's database one class larger, one interface endpoint fewer, and no NAT traffic
    assumed in its environment file; so the head is cheaper in data and dearer in network."""
    base = tmp_path / "base"
    shutil.copytree(synthesis.terraform_dir, base / "cdktf.out")
    shutil.copytree(synthesis.kubernetes_dir, base / "dist")
    shutil.copytree(ROOT / "environments", base / "environments")
    data = base / "cdktf.out" / "stacks" / "staging-data" / "cdk.tf.json"
    document = json.loads(data.read_text())
    (database,) = document["resource"]["aws_db_instance"].values()
    database["instance_class"] = "db.t4g.large"
    data.write_text(json.dumps(document))
    network = base / "cdktf.out" / "stacks" / "staging-network" / "cdk.tf.json"
    document = json.loads(network.read_text())
    endpoints = document["resource"]["aws_vpc_endpoint"]
    del endpoints[next(key for key, value in sorted(endpoints.items()) if value["vpc_endpoint_type"] == "Interface")]
    network.write_text(json.dumps(document))
    staging = base / "environments" / "staging.yaml"
    staging.write_text(staging.read_text() + "cost:\n  usage:\n    nat_processed_gib: 0\n")
    return base


def _section(text: str) -> str:
    return text.split("### Monthly cost estimate")[1].split("### Kubernetes manifests")[0]


def _row(section: str, first_cell: str) -> list[str]:
    (line,) = [line for line in section.splitlines() if line.startswith(f"| {first_cell} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_summary_shows_before_after_and_the_stacks_that_moved(base: Path, synthesis: Synthesis) -> None:
    section = _section(pr_summary.summarize(str(base), synthesis.terraform_dir.parent, None))
    tokyo = price_book("ap-northeast-1")
    hours = lambda sku: tokyo.get(sku).price * HOURS_PER_MONTH  # noqa: E731
    data = _row(section, "`staging-data`")
    assert data[3] == f"-${hours('rds.postgres.db.t4g.large.hour') - hours('rds.postgres.db.t4g.medium.hour'):,.2f}"
    assert data[4].startswith("`aws_db_instance.database_instance_") and "db.t4g.medium (Single-AZ) +$74.46" in data[4]
    network = _row(section, "`staging-network`")
    assert network[3].startswith("+$") and "interface endpoint in 3 AZs" in network[4]
    assert "GiB processed (cost.usage.nat_processed_gib, split) +$6.20" in network[4], "the base's own usage assumption counts"
    staging = _row(section, "staging")
    assert staging[1] != staging[2] and staging[4].count("`") == 6, "three biggest line items named"
    for env in set(ENVIRONMENTS) - {"staging"}:
        assert _row(section, env)[3] == "+$0.00"
    assert not [line for line in section.splitlines() if line.startswith("| `production-") or line.startswith("| `development-")]
    assert re.search(r"On-demand prices read \d{4}-\d{2}-\d{2}", section)


def test_summary_of_no_change_says_so(synthesis: Synthesis) -> None:
    head = synthesis.terraform_dir.parent
    section = _section(pr_summary.summarize(str(head), head, None))
    assert "No change to the monthly estimate of any stack." in section
    assert all(_row(section, env)[1] == _row(section, env)[2] for env in ENVIRONMENTS)
