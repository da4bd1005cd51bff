"""The cost estimate (`make cost`, `python -m tools.cost`) of the synthesized stacks.

Every resource type in the output is priced by a rule, or listed as free or usage-only with a reason;
anything else is "not priced" and never counted as zero. Billing rules of the real services the
rules encode (sources in tools/cost/rules.py): RDS Multi-AZ bills the standby's hours and storage
("On-Demand DB instances for Amazon RDS", Multi-AZ DB instances), interface endpoints bill per AZ
(AWS PrivateLink pricing), Secrets Manager bills each replica (AWS Secrets Manager pricing), Karpenter
never launches past a NodePool's limits (Karpenter docs, NodePools, "limits").
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from envspec.capacity import allocatable
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis
from tools.cost.catalog import FREE, USAGE_ONLY
from tools.cost.estimate import Estimate, estimate, estimate_all
from tools.cost.model import Line, read_stack
from tools.cost.prices import HOURS_PER_MONTH, PRICES_DIR, price_book
from tools.cost.rules import RULES


@pytest.fixture(scope="module")
def estimates(synthesis: Synthesis) -> dict[str, Estimate]:
    return estimate_all(synthesis.terraform_dir, SPECS)


def _lines(item: Estimate, address_prefix: str, word: str = "") -> list[Line]:
    """The primary side's lines (the standby's `<env>-dr-*` stacks are checked on their own)."""
    return [
        line for line in item.lines if line.address.startswith(address_prefix) and word in line.description and "-dr-" not in line.stack
    ]


def _copy_stacks(synthesis: Synthesis, tmp_path: Path, env: str) -> Path:
    out = tmp_path / "cdktf.out"
    for stack in synthesis.stack_ids:
        if stack.startswith(f"{env}-"):
            shutil.copytree(synthesis.terraform_dir / "stacks" / stack, out / "stacks" / stack)
    return out


def _add_stack(out: Path, stack: str, region: str, resources: dict[str, dict[str, Any]]) -> None:
    folder = out / "stacks" / stack
    folder.mkdir(parents=True)
    document = {"provider": {"aws": [{"region": region}]}, "resource": resources}
    (folder / "cdk.tf.json").write_text(json.dumps(document), encoding="utf-8")


def test_every_synthesized_resource_type_has_a_rule_or_a_reason(synthesis: Synthesis) -> None:
    assert not (RULES.keys() & FREE.keys()) and not (RULES.keys() & USAGE_ONLY.keys()) and not (FREE.keys() & USAGE_ONLY.keys())
    known = RULES.keys() | FREE.keys() | USAGE_ONLY.keys()
    types = {resource.type for stack in synthesis.stack_ids for resource in read_stack(synthesis.stack_file(stack))}
    assert sorted(types - known) == [], "price them in tools/cost/rules.py or explain them in tools/cost/catalog.py"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_nothing_is_left_unpriced_and_every_price_has_its_source(env: str, estimates: dict[str, Estimate]) -> None:
    item = estimates[env]
    assert [line.address for line in item.not_priced] == []
    assert item.prices, "prices were looked up"
    for (region, sku), row in item.prices.items():
        assert row.source.startswith("https://aws.amazon.com/"), (region, sku)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row.read), (region, sku)
        assert row.found.startswith(("https://", "github:", "not found")), (region, sku)
    assert 0 < item.low <= item.high


GITHUB_FOUND = re.compile(
    r"github:(?P<repo>[\w.-]+/[\w.-]+) (?P<path>\S+) at commit (?P<commit>[0-9a-f]{40}) \((?P<date>\d{4}-\d{2}-\d{2})"
)


@pytest.mark.parametrize("region", ["ap-northeast-1", "ap-northeast-3"])
def test_a_row_read_from_a_data_file_names_it_and_carries_its_figure(region: str) -> None:
    """A row whose figure was read from a committed data file names the repository, the path, the full
    commit and its date, and the figure it names for the region is the row's price (so a price edited
    without re-reading its source fails here)."""
    sourced = 0
    for sku, row in price_book(region).rows.items():
        if not row.found.startswith("github:"):
            continue
        sourced += 1
        assert GITHUB_FOUND.match(row.found), (sku, row.found)
        figure = re.search(rf"{region} \S+ on-demand (?P<value>[0-9.]+);", row.found)
        assert figure is not None and float(figure["value"]) == row.price, (sku, row.price, row.found)
    assert sourced >= 9, "the EC2 rows read from ec2instances.info's data files"


def test_both_regions_price_the_same_skus() -> None:
    assert sorted(price_book("ap-northeast-1").rows) == sorted(price_book("ap-northeast-3").rows)
    assert sorted(path.stem for path in PRICES_DIR.glob("*.yaml")) == ["ap-northeast-1", "ap-northeast-3"]


def test_an_unknown_resource_is_listed_not_priced_never_zero(synthesis: Synthesis, tmp_path: Path) -> None:
    out = _copy_stacks(synthesis, tmp_path, "development")
    _add_stack(out, "development-extra", "ap-northeast-1", {"aws_mq_broker": {"broker": {"host_instance_type": "mq.m5.large"}}})
    _add_stack(out, "development-extra2", "ap-northeast-1", {"aws_db_instance": {"odd": {"instance_class": "db.x9.huge"}}})
    item = estimate_all(out, SPECS, ["development"])["development"]
    missing = {line.address: line.description for line in item.not_priced}
    assert missing["aws_mq_broker.broker"] == "no price rule for aws_mq_broker"
    assert "rds.postgres.db.x9.huge.hour" in missing["aws_db_instance.odd"]
    result = subprocess.run(
        [sys.executable, "-m", "tools.cost", "--env", "development", "--terraform-outdir", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "NOT PRICED (not counted in the total):" in result.stdout and "aws_mq_broker.broker" in result.stdout


def test_dr_stacks_are_priced_in_their_providers_region_without_code_changes(synthesis: Synthesis, tmp_path: Path) -> None:
    """A new `<env>-dr-*` stack whose provider is in ap-northeast-3 is priced from that region's file."""
    out = _copy_stacks(synthesis, tmp_path, "production")
    shutil.rmtree(out / "stacks" / "production-dr-network")
    before = estimate_all(out, SPECS, ["production"])["production"]
    _add_stack(out, "production-dr-network", "ap-northeast-3", {"aws_nat_gateway": {"dr": {"subnet_id": "x"}}, "aws_kms_key": {"k": {}}})
    item = estimate_all(out, SPECS, ["production"])["production"]
    assert not item.not_priced
    osaka = price_book("ap-northeast-3")
    (hours,) = [line for line in item.lines if line.stack == "production-dr-network" and line.description == "gateway hours"]
    assert hours.low == pytest.approx(osaka.get("vpc.nat_gateway.hour").price * HOURS_PER_MONTH)
    assert ("ap-northeast-3", "kms.key.month") in item.prices
    assert item.stacks()["production-dr-network"][0] > 0 and "production-dr-network" not in before.stacks()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_resources_of_the_dr_provider_use_osaka_prices(env: str, synthesis: Synthesis, estimates: dict[str, Estimate]) -> None:
    """In a primary stack the `aws.dr` provider is the DR region; in the standby's `<env>-dr-*` stacks the default
    provider is (and their `aws.dr` alias points back at the primary region)."""
    primary = [stack for stack in synthesis.stack_ids if stack.startswith(f"{env}-") and not stack.startswith(f"{env}-dr-")]
    dr = [r for stack in primary for r in read_stack(synthesis.stack_file(stack)) if r.body.get("provider") == "aws.dr"]
    assert all(r.region == SPECS[env].aws.dr_region for r in dr)
    standby = [stack for stack in synthesis.stack_ids if stack.startswith(f"{env}-dr-") and not stack.endswith("-dr-dns")]
    resources = [r for stack in standby for r in read_stack(synthesis.stack_file(stack)) if not r.body.get("provider")]
    assert all(r.region == SPECS[env].aws.dr_region for r in resources)
    if any(r.type == "aws_kms_key" for r in dr):
        assert (SPECS[env].aws.dr_region, "kms.key.month") in estimates[env].prices


def test_multi_az_bills_the_standby_and_storage_runs_to_the_autoscaling_ceiling(estimates: dict[str, Estimate]) -> None:
    tokyo = price_book("ap-northeast-1")
    for env, copies in (("production", 2), ("development", 1)):
        database = SPECS[env].database
        assert database.multi_az is (copies == 2)
        (hours,) = _lines(estimates[env], "aws_db_instance.", database.instance_class)
        assert hours.low == pytest.approx(copies * tokyo.get(f"rds.postgres.{database.instance_class}.hour").price * HOURS_PER_MONTH)
        (storage,) = _lines(estimates[env], "aws_db_instance.", "GiB gp3")
        per_gib = copies * tokyo.get("rds.gp3.gib_month").price
        assert (storage.low, storage.high) == pytest.approx(
            (database.allocated_storage_gib * per_gib, database.max_allocated_storage_gib * per_gib)
        )


def test_interface_endpoints_bill_every_az_and_secret_replicas_bill_in_their_region(estimates: dict[str, Estimate]) -> None:
    item, spec = estimates["production"], SPECS["production"]
    zones = len(spec.availability_zones)
    endpoints = _lines(item, "aws_vpc_endpoint.", "interface endpoint")
    assert endpoints and all(f"in {zones} AZs" in line.description for line in endpoints)
    assert endpoints[0].low == pytest.approx(zones * price_book("ap-northeast-1").get("vpc.interface_endpoint.az_hour").price * 730)
    assert [line.description for line in _lines(item, "aws_vpc_endpoint.") if line.status == "free"] == [
        "gateway endpoint: no hourly or data charge"
    ]
    replicas = _lines(item, "aws_secretsmanager_secret.", "replica in ap-northeast-3")
    assert len(replicas) == len(_lines(item, "aws_secretsmanager_secret.", "secret")) > 0


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_karpenter_runs_from_the_hpa_minima_to_the_nodepool_limits(env: str, estimates: dict[str, Estimate]) -> None:
    spec = SPECS[env]
    (nodes,) = _lines(estimates[env], "karpenter.nodepool")
    count, instance_type = re.search(r"to (\d+) x (\S+) at the NodePool limits", nodes.description).groups()  # type: ignore[union-attr]
    node = allocatable(instance_type)
    settings = spec.node_autoscaling
    assert int(count) * node.capacity_millicpu <= settings.cpu_limit * 1000
    assert int(count) * node.capacity_memory_mib <= settings.memory_limit_gib * 1024
    assert (int(count) + 1) * node.capacity_millicpu > settings.cpu_limit * 1000 or (
        (int(count) + 1) * node.capacity_memory_mib > settings.memory_limit_gib * 1024
    ), "the ceiling is as many nodes as the limits allow"
    assert 0 < nodes.low < nodes.high


def test_raising_the_nodepool_limit_raises_the_ceiling_only(estimates: dict[str, Estimate], synthesis: Synthesis) -> None:
    spec = SPECS["staging"]
    autoscaling = spec.node_autoscaling.model_copy(update={"cpu_limit": 2 * spec.node_autoscaling.cpu_limit, "memory_limit_gib": 999})
    wider = spec.model_copy(update={"node_autoscaling": autoscaling})
    resources = [r for stack in synthesis.stack_ids if stack.startswith("staging-") for r in read_stack(synthesis.stack_file(stack))]
    (before,) = _lines(estimates["staging"], "karpenter.nodepool")
    (after,) = _lines(estimate(wider, resources), "karpenter.nodepool")
    assert after.low == before.low and after.high == pytest.approx(2 * before.high)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_usage_assumptions_reach_the_lines_that_depend_on_them(env: str, synthesis: Synthesis, estimates: dict[str, Estimate]) -> None:
    spec = SPECS[env]
    usage = spec.cost.usage.model_copy(update={"nat_processed_gib": spec.cost.usage.nat_processed_gib + 1000})
    more = spec.model_copy(update={"cost": spec.cost.model_copy(update={"usage": usage})})
    resources = [r for stack in synthesis.stack_ids if stack.startswith(f"{env}-") for r in read_stack(synthesis.stack_file(stack))]
    extra = estimate(more, resources).low - estimates[env].low
    assert extra == pytest.approx(1000 * price_book(spec.aws.region).get("vpc.nat_gateway.gib").price)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_budget_covers_the_estimate_at_the_autoscaling_ceilings(env: str, estimates: dict[str, Estimate]) -> None:
    """Below the estimate's ceiling the actual-cost alert would fire in a month of normal peak load."""
    assert SPECS[env].cost.monthly_budget_usd >= estimates[env].high


def test_every_environment_is_estimated_from_the_output(synthesis: Synthesis) -> None:
    """`python -m tools.cost` prints one priced line per environment; its time is measured by `make bench`, not here."""
    result = subprocess.run(
        [sys.executable, "-m", "tools.cost", "--terraform-outdir", str(synthesis.terraform_dir)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for env in ENVIRONMENTS:
        assert re.search(rf"^== {env}: \$[\d,.]+ - \$[\d,.]+ a month \(prices read \d{{4}}-\d{{2}}-\d{{2}}\)$", result.stdout, re.M)
    assert "biggest line items:" in result.stdout and "NOT PRICED" not in result.stdout


def test_without_a_synthesis_it_says_how_to_make_one(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.cost", "--terraform-outdir", str(tmp_path / "cdktf.out")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no synthesized stacks under {tmp_path / 'cdktf.out'}/stacks: run `make synth` "
        "(or `python -O -m synth --target terraform`) first"
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_one_public_alb_per_environment_as_the_estimate_assumes(env: str, synthesis: Synthesis, estimates: dict[str, Estimate]) -> None:
    """The ALB is the AWS Load Balancer Controller's, not Terraform's: one per internet-facing Ingress."""
    public = [
        ingress
        for ingress in synthesis.find(env, "Ingress")
        if ingress["metadata"].get("annotations", {}).get("alb.ingress.kubernetes.io/scheme") == "internet-facing"
    ]
    assert len(public) == len(_lines(estimates[env], "kubernetes.ingress.alb", "public ALB")) == 1


def test_an_unknown_environment_is_one_error_line(synthesis: Synthesis) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.cost", "--env", "prod", "--terraform-outdir", str(synthesis.terraform_dir)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: environments/prod.yaml: unknown environment 'prod' (known: development, production, staging)\n"
