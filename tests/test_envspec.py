"""The environment spec: what the three environments resolve to, and how bad input is refused."""

from __future__ import annotations

import ipaddress
import re
import shutil
from pathlib import Path

import pytest

from envspec import SpecError, load_environments, names_for, windows
from tests.conftest import ROOT, SPECS, run_synth

ENVIRONMENTS_DIR = ROOT / "environments"


def test_the_three_environments_load_with_the_required_fields() -> None:
    assert set(SPECS) == {"development", "staging", "production"}
    for name, spec in SPECS.items():
        assert spec.name == name
        assert spec.aws.region == "ap-northeast-1"
        assert spec.aws.dr_region == "ap-northeast-3"
        assert spec.network.az_count == 3
        assert spec.cluster.version == "1.35"
        assert len(spec.aws.account_id) == 12


def test_production_uses_the_planned_vpc_cidr() -> None:
    assert SPECS["production"].network.vpc_cidr == ipaddress.IPv4Network("10.0.0.0/16")


def test_defaults_differ_per_environment() -> None:
    dev, prod = SPECS["development"], SPECS["production"]
    assert (dev.network.nat_gateways, prod.network.nat_gateways) == ("single", "per_az")
    assert (dev.database.multi_az, prod.database.multi_az) == (False, True)
    assert (dev.database.deletion_protection, prod.database.deletion_protection) == (False, True)
    assert (dev.cache.num_nodes, prod.cache.num_nodes) == (1, 3)
    assert dev.node_autoscaling.capacity_types == ("spot", "on-demand")
    assert prod.node_autoscaling.capacity_types == ("on-demand",)
    assert prod.workloads.backend.autoscaling.min_replicas == 2
    assert prod.workloads.backend.autoscaling.max_replicas == 10
    assert (dev.workloads.ai_worker.autoscaling.min_replicas, prod.workloads.ai_worker.autoscaling.min_replicas) == (1, 2)
    assert (dev.workloads.serve_through_drains, prod.workloads.serve_through_drains) == (False, True)


def test_production_api_endpoint_is_not_open_to_the_internet() -> None:
    for spec in SPECS.values():
        assert all(network.prefixlen >= 8 for network in spec.cluster.public_access_cidrs)
    assert SPECS["production"].cluster.public_access_cidrs == ()


def test_alert_receivers_are_secret_names_not_secrets() -> None:
    for spec in SPECS.values():
        for receiver in (spec.alerting.slack, spec.alerting.pagerduty):
            assert receiver.secret_name.startswith(f"ai-subsidy/{spec.name}/")
            assert "://" not in receiver.secret_name


def test_names_are_derived_from_the_spec() -> None:
    names = names_for(SPECS["production"])
    assert names.cluster_name == "ai-subsidy-production"
    assert names.database_name == "ai_subsidy_production"
    assert names.stack_id("network") == "production-network"
    assert all(len(names.bucket(purpose)) <= 63 for purpose in ("files", "diagnostics", "access-logs", "files-dr"))


# --- bad input: one clear message naming file, field and reason; exit 2; output untouched ---


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    directory = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS_DIR, directory)
    return directory


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


BAD_INPUTS = {
    "unknown key": (
        "staging.yaml",
        "  vpc_cidr: 10.20.0.0/16",
        "  vpc_cidr: 10.20.0.0/16\n  vpc_cdir: 10.30.0.0/16",
        "network.vpc_cdir",
        "did you mean 'vpc_cidr'",
    ),
    "wrong type": (
        "staging.yaml",
        "  vpc_cidr: 10.20.0.0/16",
        "  vpc_cidr: 10.20.0.0/16\n  az_count: three",
        "network.az_count",
        "valid integer",
    ),
    "invalid CIDR": ("staging.yaml", "vpc_cidr: 10.20.0.0/16", "vpc_cidr: 10.20.0.300/16", "network.vpc_cidr", "not a valid IPv4 CIDR"),
    "host bits set": ("staging.yaml", "vpc_cidr: 10.20.0.0/16", "vpc_cidr: 10.20.1.0/16", "network.vpc_cidr", "has host bits set"),
    "overlapping CIDRs across environments": (
        "staging.yaml",
        "vpc_cidr: 10.20.0.0/16",
        "vpc_cidr: 10.0.128.0/17",
        "network.vpc_cidr",
        "overlaps 10.0.0.0/16 of environment 'production'",
    ),
    "min greater than max": (
        "production.yaml",
        '  backend:\n    image: {tag: "v1.4.0"}',
        '  backend:\n    image: {tag: "v1.4.0"}\n    autoscaling: {min_replicas: 12, max_replicas: 10}',
        "workloads.backend.autoscaling",
        "min_replicas (12) is greater than max_replicas (10)",
    ),
    "a single replica where drains must leave one serving": (
        "production.yaml",
        '  ai_worker:\n    image: {tag: "v1.4.0"}',
        '  ai_worker:\n    image: {tag: "v1.4.0"}\n    autoscaling: {min_replicas: 1, max_replicas: 4}',
        "workloads",
        "ai_worker.autoscaling.min_replicas is 1: a drain may evict 1 pod at a time",
    ),
    "conflicting storage sizes": (
        "production.yaml",
        "  vpc_cidr: 10.0.0.0/16",
        "  vpc_cidr: 10.0.0.0/16\ndatabase:\n  allocated_storage_gib: 2000",
        "database",
        "allocated_storage_gib (2000) is greater than max_allocated_storage_gib (1000)",
    ),
    "API open to the world": (
        "production.yaml",
        "public_access_cidrs: []",
        "public_access_cidrs: [0.0.0.0/0]",
        "cluster.public_access_cidrs",
        "open the Kubernetes API",
    ),
    "kube-proxy of another Kubernetes version": (
        "staging.yaml",
        "cluster:\n",
        "cluster:\n  version: '1.34'\n",
        "cluster",
        "kube-proxy v1.35.0-eksbuild.2 is not a build for Kubernetes 1.34 (use a v1.34.x build)",
    ),
    "CoreDNS of another Kubernetes version": (
        "staging.yaml",
        "cluster:\n",
        "cluster:\n  addons: {vpc-cni: v1.21.1-eksbuild.3, coredns: v1.12.4-eksbuild.1, kube-proxy: v1.35.0-eksbuild.2, "
        "aws-ebs-csi-driver: v1.57.1-eksbuild.1, eks-pod-identity-agent: v1.3.10-eksbuild.3}\n",
        "cluster",
        "coredns v1.12.4-eksbuild.1 is not a build for Kubernetes 1.35 (use a v1.13.x build)",
    ),
    "Kubernetes version without add-on table": (
        "staging.yaml",
        "cluster:\n",
        "cluster:\n  version: '1.36'\n",
        "cluster",
        "no add-on compatibility entry for Kubernetes 1.36",
    ),
    "node AMI of another Kubernetes version": (
        "staging.yaml",
        "cluster:\n",
        "cluster:\n  node_ami_release_version: 1.34.2-20260120\n",
        "cluster",
        "AMI release 1.34.2-20260120 is for Kubernetes 1.34, not the cluster version 1.35",
    ),
    "floating image tag": (
        "staging.yaml",
        'backend:\n    image: {tag: "v1.4.0"}',
        'backend:\n    image: {tag: "latest"}',
        "workloads.backend.image.tag",
        "not a pinned tag",
    ),
    "credential instead of secret name": (
        "staging.yaml",
        "ci:",
        "alerting:\n  slack: {secret_name: 'https://hooks.slack.com/services/T000/B000/XXXX', channel: '#alerts'}\nci:",
        "alerting.slack.secret_name",
        "looks like a credential",
    ),
    "backup window overlapping the maintenance window": (
        "production.yaml",
        "  vpc_cidr: 10.0.0.0/16",
        "  vpc_cidr: 10.0.0.0/16\ndatabase:\n  backup_window: '04:30-05:30'",
        "database.maintenance_window",
        "mon:04:00-mon:05:00 overlaps backup_window 04:30-05:30 (Asia/Tokyo); RDS refuses overlapping windows",
    ),
    "cache maintenance together with the database's": (
        "staging.yaml",
        "ci:",
        "cache:\n  maintenance_window: mon:04:30-mon:05:30\nci:",
        "cache",
        "overlaps database.maintenance_window mon:04:00-mon:05:00",
    ),
    "cache maintenance during its snapshot": (
        "staging.yaml",
        "ci:",
        "cache:\n  snapshot_window: '05:30-06:30'\nci:",
        "cache.maintenance_window",
        "mon:05:00-mon:06:00 overlaps snapshot_window 05:30-06:30",
    ),
    "burstable database class in production": (
        "production.yaml",
        "  vpc_cidr: 10.0.0.0/16",
        "  vpc_cidr: 10.0.0.0/16\ndatabase:\n  instance_class: db.t3.medium",
        "database.instance_class",
        "db.t3.medium is a burstable class; the production profile needs a non-burstable one",
    ),
    "burstable cache node in production": (
        "production.yaml",
        "  vpc_cidr: 10.0.0.0/16",
        "  vpc_cidr: 10.0.0.0/16\ncache:\n  node_type: cache.t3.micro",
        "cache.node_type",
        "cache.t3.micro is a burstable class",
    ),
    "duplicate key": ("staging.yaml", "profile: staging", "profile: staging\nprofile: production", "", "duplicate key 'profile'"),
    "name differs from file": ("staging.yaml", "name: staging", "name: stage", "name", "must equal the file name 'staging'"),
}


@pytest.fixture
def previous_output(tmp_path: Path) -> tuple[Path, Path]:
    terraform, kubernetes = tmp_path / "cdktf.out", tmp_path / "dist"
    for folder in (terraform / "stacks" / "staging-network", kubernetes / "staging"):
        folder.mkdir(parents=True)
    (terraform / "stacks" / "staging-network" / "cdk.tf.json").write_text('{"previous": true}')
    (kubernetes / "staging" / "namespaces.k8s.yaml").write_text("previous: true\n")
    return terraform, kubernetes


def _snapshot(*folders: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for folder in folders for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_gets_one_clear_error(case: str, environments: Path, previous_output: tuple[Path, Path]) -> None:
    file, old, new, field, reason = BAD_INPUTS[case]
    _edit(environments / file, old, new)
    before = _snapshot(*previous_output)
    result = run_synth(*previous_output, "--environments-dir", str(environments))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    problems = [line for line in result.stderr.splitlines()[1:] if line]
    assert len(problems) == 1, result.stderr
    assert file in problems[0] and f": {field}:" in problems[0] if field else file in problems[0]
    assert reason in problems[0]
    assert _snapshot(*previous_output) == before


def test_unknown_environment_on_the_command_line(previous_output: tuple[Path, Path]) -> None:
    result = run_synth(*previous_output, "--env", "qa")
    assert result.returncode == 2
    assert "environments/qa.yaml: unknown environment 'qa' (known: development, production, staging)" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_environments_folder(tmp_path: Path, previous_output: tuple[Path, Path]) -> None:
    result = run_synth(*previous_output, "--environments-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "nowhere: environments directory not found" in result.stderr


def test_error_lines_carry_the_line_number(environments: Path) -> None:
    _edit(environments / "staging.yaml", "vpc_cidr: 10.20.0.0/16", "vpc_cidr: nonsense")
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    line = next(number for number, text in enumerate((environments / "staging.yaml").read_text().splitlines(), 1) if "nonsense" in text)
    assert problem.line == line
    assert str(problem).startswith(f"{environments / 'staging.yaml'}:{line}: network.vpc_cidr: ")


def test_a_misplaced_credential_is_never_echoed(environments: Path, previous_output: tuple[Path, Path]) -> None:
    credential = "https://hooks.slack.com/services/T0000/B0000/abcdefghijklmnop"
    _edit(environments / "staging.yaml", "ci:", f"alerting:\n  pagerduty: {{secret_name: '{credential}'}}\nci:")
    result = run_synth(*previous_output, "--environments-dir", str(environments))
    assert result.returncode == 2
    assert "alerting.pagerduty.secret_name" in result.stderr
    assert credential not in result.stderr + result.stdout


def _line(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize("edited", ["staging", "production"])
def test_an_overlap_names_both_files_and_the_line_of_each(edited: str, environments: Path) -> None:
    """Whichever file was edited last is the one the problem is reported on; the other file and
    its line are named in the reason, so the person sees both ends of the conflict."""
    other = "production" if edited == "staging" else "staging"
    new = {"staging": "10.0.128.0/17", "production": "10.20.0.0/16"}[edited]
    old = {"staging": "10.20.0.0/16", "production": "10.0.0.0/16"}[edited]
    _edit(environments / f"{edited}.yaml", f"vpc_cidr: {old}", f"vpc_cidr: {new}")
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    edited_file, other_file = environments / f"{edited}.yaml", environments / f"{other}.yaml"
    assert str(problem).startswith(f"{edited_file}:{_line(edited_file, 'vpc_cidr')}: network.vpc_cidr: {new} overlaps")
    assert f"of environment '{other}' ({other_file}:{_line(other_file, 'vpc_cidr')})" in str(problem)


def test_two_environments_in_one_account_are_refused(environments: Path) -> None:
    """One AWS account per environment: the CI stack scopes every role by account and name prefix
    (stacks/ci.py), so staging in production's account would get a plan role that pull requests
    assume with ReadOnlyAccess over production (AWS Security Reference Architecture: separate
    accounts per environment, "Organizing Your AWS Environment Using Multiple Accounts")."""
    staging, production = environments / "staging.yaml", environments / "production.yaml"
    _edit(staging, 'account_id: "222222222222"', 'account_id: "333333333333"')
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert str(problem) == (
        f"{staging}:{_line(staging, 'account_id')}: aws.account_id: account 333333333333 is already the account "
        f"of environment 'production' ({production}:{_line(production, 'account_id')})"
    )


@pytest.mark.parametrize("content", ["", "# nothing yet\n", "- a list\n"])
def test_an_empty_file_points_to_a_guide_that_exists(content: str, environments: Path) -> None:
    (environments / "preview.yaml").write_text(content)
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert "preview.yaml" in problem.file
    guide = re.search(r"see (\S+\.md)\)", problem.reason)
    assert guide and (ROOT / guide.group(1)).is_file(), problem.reason
    assert "name, profile" in problem.reason


# --- windows: Tokyo time in the spec, UTC for AWS ---


def test_windows_are_tokyo_time_in_the_spec_and_utc_for_aws() -> None:
    """RDS and ElastiCache read every window as UTC (RDS API PreferredBackupWindow and
    PreferredMaintenanceWindow: "Must be in Universal Coordinated Time (UTC)"). The original plan's
    03:00-04:00 and Monday 04:00-05:00 are Tokyo night-time: JST is UTC+9, so both move to the day before."""
    for spec in SPECS.values():
        database, cache = spec.database, spec.cache
        assert (database.backup_window, database.backup_window_utc) == ("03:00-04:00", "18:00-19:00")
        assert (database.maintenance_window, database.maintenance_window_utc) == ("mon:04:00-mon:05:00", "sun:19:00-sun:20:00")
        assert (cache.snapshot_window_utc, cache.maintenance_window_utc) == ("17:00-18:00", "sun:20:00-sun:21:00")


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        ("mon:04:00-mon:05:00", "sun:19:00-sun:20:00"),  # across the day and the week boundary
        ("mon:09:00-mon:10:00", "mon:00:00-mon:01:00"),  # exactly at UTC midnight
        ("sun:08:30-sun:09:30", "sat:23:30-sun:00:30"),  # a UTC window that wraps midnight
        ("wed:23:00-thu:00:30", "wed:14:00-wed:15:30"),
    ],
)
def test_weekly_windows_convert_across_the_day_boundary(local: str, utc: str) -> None:
    assert windows.weekly_utc(local) == utc
    assert windows.weekly_length(local) == windows.weekly_length(utc)


def test_daily_windows_convert_and_wrap_midnight() -> None:
    assert windows.daily_utc("03:00-04:00") == "18:00-19:00"
    assert windows.daily_utc("09:00-09:30") == "00:00-00:30"
    assert windows.daily_utc("08:45-09:15") == "23:45-00:15"
    assert windows.daily_length("23:45-00:15") == 30


def test_overlap_is_found_across_the_week_boundary() -> None:
    """A daily 08:30-09:30 JST backup is 23:30-00:30 UTC; it touches a maintenance window at Monday
    00:00 UTC (Monday 09:00 JST) only across UTC midnight."""
    backup = windows.daily_span("08:30-09:30")
    assert windows.overlap(backup, windows.weekly_span("mon:09:00-mon:09:30"))
    assert windows.overlap(backup, windows.weekly_span("sun:09:15-sun:10:00"))
    assert not windows.overlap(backup, windows.weekly_span("mon:09:30-mon:10:30")), "an end is exclusive"
    assert not windows.overlap(windows.weekly_span("mon:04:00-mon:05:00"), windows.weekly_span("mon:05:00-mon:06:00"))


def test_windows_shorter_than_aws_allows_are_refused(environments: Path) -> None:
    """RDS: backup and maintenance windows at least 30 minutes; ElastiCache: maintenance at least 60."""
    _edit(environments / "staging.yaml", "ci:", "cache:\n  maintenance_window: mon:05:00-mon:05:30\nci:")
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert problem.field == "cache.maintenance_window" and "at least 60 minutes" in problem.reason
    assert problem.line == next(n for n, text in enumerate((environments / "staging.yaml").read_text().splitlines(), 1) if "05:30" in text)
