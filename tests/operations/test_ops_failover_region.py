"""`ops dr failover-region` and `ops dr drill --scenario region-loss` end to end against moto and two
emulated Kubernetes API servers (the primary cluster and the standby), in staging, where no person
has to confirm (production's confirmation: test_ops_failover_production.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import yaml
from moto.rds.models import RDSBackend, rds_backends
from moto.route53.models import Route53Backend

from envspec import EnvironmentSpec, Names
from envspec.topology import BACKEND
from ops.dr.budget import REGION_LOSS_BUDGET
from tests.conftest import SPECS
from tests.operations.conftest import Recording, World
from tests.operations.kubernetes_emulator import ClusterState, KubernetesEmulator
from tests.operations.load_balancer_emulator import LoadBalancerController, target_group_resource
from tests.operations.moto_gaps import moto_gaps
from tests.operations.standby_world import Standby, build_standby, standby_cluster, two_clusters

ENV = "staging"
APPS = ("ai-subsidy-backend", "ai-subsidy-frontend", "ai-worker")
BACKEND_GROUP = target_group_resource(str(BACKEND.service_name))  # the controller's id of the backend's target group


@pytest.fixture
def spec() -> EnvironmentSpec:
    return SPECS[ENV]


@pytest.fixture
def replica_lag() -> float:
    return 2.0


@pytest.fixture
def standby(world: World, replica_lag: float) -> Iterator[Standby]:
    with moto_gaps():
        yield build_standby(world, lag_seconds=replica_lag)


@pytest.fixture
def emulators(
    names: Names, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ClusterState, ClusterState, LoadBalancerController]]:
    primary, dr = ClusterState.from_fixtures(), standby_cluster()
    with two_clusters(names, primary, dr, tmp_path / "kubeconfig") as controller:
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        yield primary, dr, controller


@pytest.fixture
def clusters(emulators: tuple[ClusterState, ClusterState, LoadBalancerController]) -> tuple[ClusterState, ClusterState]:
    return emulators[0], emulators[1]


@pytest.fixture
def balancer(emulators: tuple[ClusterState, ClusterState, LoadBalancerController]) -> LoadBalancerController:
    return emulators[2]


def _instance(names: Names) -> dict[str, Any]:
    return boto3.client("rds", names.dr_region).describe_db_instances(DBInstanceIdentifier=names.dr_database_identifier)["DBInstances"][0]


def _health_check(standby: Standby) -> dict[str, Any]:
    return boto3.client("route53", "us-east-1").get_health_check(HealthCheckId=standby.health_check_id)["HealthCheck"]["HealthCheckConfig"]


def _ready(state: ClusterState) -> dict[str, bool]:
    found = {}
    for (_, name), deployment in state.deployments.items():
        wanted, status = deployment["spec"]["replicas"], deployment["status"]
        found[name] = wanted > 0 and status.get("availableReplicas") == status.get("updatedReplicas") == status.get("replicas") == wanted
    return found


def _changed_nothing(names: Names, standby: Standby, clusters: tuple[ClusterState, ClusterState], recording: Recording) -> None:
    assert _instance(names)["ReadReplicaSourceDBInstanceIdentifier"] == names.database_arn
    assert not _health_check(standby)["Disabled"] and not _health_check(standby)["Inverted"]
    for state in clusters:
        assert not [request for request in state.requests if request.method == "PATCH"]
    for action in ("PromoteReadReplica", "UpdateHealthCheck", "PutSecretValue", "StopReplicationToReplica"):
        assert not recording.calls(action), action
    described = boto3.client("secretsmanager", names.dr_region).describe_secret(SecretId=names.secret_name("database"))
    assert described["PrimaryRegion"] == names.spec.aws.region  # still a replica


def test_the_dry_run_reports_what_would_be_lost_and_changes_nothing(
    standby: Standby, clusters: tuple[ClusterState, ClusterState], recording: Recording, run, names: Names
) -> None:
    result = run("dr", "failover-region", "--env", ENV)
    assert result.code == 0, result.text
    assert re.search(r"would be lost +about 2s of writes \(ReplicaLag at ", result.out)
    objective = names.spec.backup.recovery_time_objective_minutes
    assert re.search(rf"expected duration +28 min by the region-loss budget \(objective {objective} min\)", result.out)
    assert "ai-subsidy-backend 0->2, ai-subsidy-frontend 0->2, ai-worker 0->1" in result.out  # staging's minimum replicas
    assert re.search(r"primary cluster +answers", result.out)
    # Pilot light: the controller has created the target groups, with no targets while nothing runs.
    assert re.search(rf"standby targets +{re.escape(BACKEND_GROUP)}: no targets; ", result.out)
    assert "dry run: nothing was changed; add --execute" in result.out
    _changed_nothing(names, standby, clusters, recording)


@pytest.fixture
def witness(
    monkeypatch: pytest.MonkeyPatch, standby: Standby, clusters: tuple[ClusterState, ClusterState], names: Names,
    balancer: LoadBalancerController,
) -> list[dict]:  # fmt: skip
    """What was true at the moment of each decisive call, read from moto's and the emulators' state."""
    primary, dr = clusters
    seen: list[dict] = []
    promote, update = RDSBackend.promote_read_replica, Route53Backend.update_health_check

    def promoting(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        seen.append({"call": "promote", "primary_replicas": {key[1]: d["spec"]["replicas"] for key, d in primary.deployments.items()}})
        return promote(self, db_kwargs)

    def pinning(self: Route53Backend, *args: Any, **kwargs: Any) -> Any:
        replica = rds_backends[names.account][names.dr_region].databases[names.dr_database_identifier]
        seen.append(
            {
                "call": "pin",
                "promoted": not replica.source_db_instance_identifier,
                "ready": _ready(dr),
                "serving": balancer.serving(),
                "reported": list(balancer.reported),
            }
        )
        return update(self, *args, **kwargs)

    monkeypatch.setattr(RDSBackend, "promote_read_replica", promoting)
    monkeypatch.setattr(Route53Backend, "update_health_check", pinning)
    return seen


def test_the_failover_fences_promotes_repoints_scales_and_only_then_moves_dns(
    witness: list[dict], standby: Standby, clusters: tuple[ClusterState, ClusterState], recording: Recording, run, names: Names,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Order: fence before promotion (nothing writes to the old primary while the replica is promoted),
    and DNS last (the standby is only answered once its database is standalone, every application is
    Ready and its load balancer serves them). Route 53 answers the SECONDARY once the PRIMARY's check is
    unhealthy and the SECONDARY healthy (Route 53 API reference, ResourceRecordSet `Failover`), and an ALB
    alias is healthy only when every target group has a healthy target (AliasTarget `EvaluateTargetHealth`);
    a pod Ready in the cluster is first an `initial` target (ELB User Guide for ALBs, target health states:
    `Elb.InitialHealthChecking`), which moto 5.2.5 never reports (it answers `healthy` at once), hence the
    emulated controller and health checks. Disabled+Inverted makes a check unhealthy whatever its checkers
    see (HealthCheckConfig `Disabled`, `Inverted`)."""
    _, dr = clusters
    report = tmp_path / "failover.json"
    result = run("dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--execute", "--report", str(report))
    assert result.code == 0, result.text

    assert [item["call"] for item in witness] == ["promote", "pin"]
    assert witness[0]["primary_replicas"] == dict.fromkeys(APPS, 0)
    pin = witness[1]
    assert {key: pin[key] for key in ("call", "promoted", "ready", "serving")} == {
        "call": "pin", "promoted": True, "ready": dict.fromkeys(APPS, True), "serving": True,
    }  # fmt: skip
    # The DNS step waited: it saw every target of both target groups `initial` first, and healthy ones last.
    states = {resource: [state for name, state in pin["reported"] if name == resource] for resource in standby.target_groups}
    assert all(seen[0] == "initial" and seen[-1] == "healthy" for seen in states.values()), states
    assert "standby load balancer targets: " in result.out and " initial" in result.out

    instance = _instance(names)
    assert "ReadReplicaSourceDBInstanceIdentifier" not in instance and instance["DBInstanceStatus"] == "available"
    (promotion,) = recording.calls("PromoteReadReplica")
    assert promotion["BackupRetentionPeriod"] == str(names.spec.database.backup_retention_days)
    secretsmanager = boto3.client("secretsmanager", names.dr_region)
    for purpose in ("database", "database-migration"):
        assert "PrimaryRegion" not in secretsmanager.describe_secret(SecretId=names.secret_name(purpose))  # standalone now
        value = json.loads(secretsmanager.get_secret_value(SecretId=names.secret_name(purpose))["SecretString"])
        assert (value["host"], value["port"]) == (instance["Endpoint"]["Address"], instance["Endpoint"]["Port"])
        assert "password" not in value
    refreshed = [request.path.rsplit("/", 1)[1] for request in dr.patches("/externalsecrets/")]
    assert refreshed == ["database-secret", "database-migration-secret"]
    wanted = {"ai-subsidy-backend": 2, "ai-subsidy-frontend": 2, "ai-worker": 1}  # staging's minimum replicas
    assert {key[1]: d["spec"]["replicas"] for key, d in dr.deployments.items()} == wanted
    assert _health_check(standby)["Disabled"] and _health_check(standby)["Inverted"]
    for host in (names.spec.dns.api_host, names.spec.dns.frontend_host):
        assert f"{host} -> SECONDARY {standby.standby_origin}" in result.out

    document = json.loads(report.read_text())
    assert document["scenario"] == "region-loss" and document["failures"] == []
    assert set(document["measured_seconds"]) == {step.key for step in REGION_LOSS_BUDGET if step.measured}
    assert f"{names.env} now runs in {names.dr_region}" in result.out


def test_a_second_run_after_a_partial_one_resumes(
    standby: Standby, clusters: tuple[ClusterState, ClusterState], recording: Recording, run, names: Names
) -> None:
    _, dr = clusters
    dr.stuck.add("ai-worker")
    first = run("dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--execute")
    assert first.code == 1
    assert "failure: deployment ai-worker exceeded its progress deadline" in first.out
    assert "resumes from the step that failed" in first.out
    assert not _health_check(standby)["Disabled"]  # DNS never moved to a standby that is not Ready
    assert "ReadReplicaSourceDBInstanceIdentifier" not in _instance(names)

    dr.stuck.clear()  # someone fixed the cause; the controller makes progress again
    dr.deployments[("ai-subsidy", "ai-worker")]["status"].pop("conditions")
    second = run("dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--execute")
    assert second.code == 0, second.text
    assert "already promoted" in second.out and f"{names.dr_database_identifier} is already standalone" in second.out
    assert f"{names.secret_name('database')} already names" in second.out
    assert "standby deployment/ai-subsidy-backend already at 2" in second.out
    assert "primary deployment/ai-subsidy-backend already at 0" in second.out
    assert len(recording.calls("PromoteReadReplica")) == 1
    assert _health_check(standby)["Disabled"] and _health_check(standby)["Inverted"]

    third = run("dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--execute")
    assert third.code == 0, third.text
    assert f"health check {standby.health_check_id} already pinned" in third.out


def test_dns_never_moves_while_the_standby_load_balancer_has_no_healthy_target_and_a_rerun_resumes(
    standby: Standby, clusters: tuple[ClusterState, ClusterState], balancer: LoadBalancerController, recording: Recording,
    run, names: Names,
) -> None:  # fmt: skip
    """Every Deployment Ready is not enough: the backend's pods fail the ALB's health check, so its target group
    holds only unhealthy targets and Route 53 counts the ALB alias unhealthy (API reference, AliasTarget
    `EvaluateTargetHealth`: "every target group that contains targets must contain at least one healthy target").
    The DNS step waits at most its budget (here --timeout-minutes, shorter), fails, and never pins the check; once
    the pods pass, a second run resumes and moves DNS."""
    balancer.failing.add("ai-subsidy-backend")
    first = run("dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--timeout-minutes", "0.01", "--execute")
    assert first.code == 1, first.text
    assert "failure: gave up waiting for standby load balancer targets" in first.out
    assert f"{BACKEND_GROUP}: 2 unhealthy" in first.out
    assert not _health_check(standby)["Disabled"] and not _health_check(standby)["Inverted"]
    assert _ready(clusters[1]) == dict.fromkeys(APPS, True)

    balancer.failing.clear()
    second = run("dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--execute")
    assert second.code == 0, second.text
    assert len(recording.calls("PromoteReadReplica")) == 1 and "already promoted" in second.out
    assert _health_check(standby)["Disabled"] and _health_check(standby)["Inverted"]


def test_without_the_standby_ingress_target_groups_nothing_is_changed(
    standby: Standby, clusters: tuple[ClusterState, ClusterState], recording: Recording, run, names: Names
) -> None:
    """The target groups are found by the controller's tags (aws-load-balancer-controller v3.4.2,
    pkg/deploy/tracking/provider.go: `elbv2.k8s.aws/cluster`, `ingress.k8s.aws/stack`); none means the controller
    never reconciled the standby's Ingress, and the failover could never verify DNS: refused in the preflight."""
    elbv2 = boto3.client("elbv2", names.dr_region)
    elbv2.remove_tags(ResourceArns=list(standby.target_groups.values()), TagKeys=["ingress.k8s.aws/stack"])
    result = run("dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--execute")
    assert result.code == 3
    assert result.err.startswith(f"error: no target groups of the standby Ingress in {names.dr_region} (tags elbv2.k8s.aws/cluster=")
    assert len(result.err.splitlines()) == 1 and result.err.rstrip().endswith("nothing was changed")
    _changed_nothing(names, standby, clusters, recording)


@pytest.mark.parametrize("replica_lag", [SPECS[ENV].backup.recovery_point_objective_minutes * 60 + 1])
def test_a_replica_lagging_beyond_the_rpo_is_refused_unless_the_loss_is_accepted(
    standby: Standby, clusters: tuple[ClusterState, ClusterState], recording: Recording, run, names: Names
) -> None:
    """A lag beyond the RPO in every datapoint there is (here the one minute reported) is no idle primary's climb
    (tests/operations/test_replica_lag_preflight.py): refused."""
    objective = names.spec.backup.recovery_point_objective_minutes * 60
    result = run("dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--execute")
    assert result.code == 2
    assert result.err.startswith(f"error: {names.dr_database_identifier} lags {objective + 1}s behind the primary, beyond the {objective}s")
    assert len(result.err.splitlines()) == 1 and "nothing was changed" in result.err
    _changed_nothing(names, standby, clusters, recording)
    accepted = run("dr", "failover-region", "--env", ENV, "--accept-data-loss")
    assert accepted.code == 0, accepted.text
    assert "--accept-data-loss: the replica is promoted whatever its lag" in accepted.err


def test_wrong_account_missing_replica_and_missing_credentials_are_refused(
    standby: Standby, clusters: tuple[ClusterState, ClusterState], recording: Recording, run, names: Names,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    wrong = run("dr", "failover-region", "--env", ENV, "--execute")
    assert wrong.code == 3 and wrong.err.startswith("error: the AWS credentials are for account 999999999999")
    monkeypatch.setenv("MOTO_ACCOUNT_ID", names.account)
    # Renamed away (moto 5.2.5 cannot delete a cross-region replica: its source lists it by ARN).
    boto3.client("rds", names.dr_region).modify_db_instance(
        DBInstanceIdentifier=names.dr_database_identifier, NewDBInstanceIdentifier="elsewhere", ApplyImmediately=True
    )
    missing = run("dr", "failover-region", "--env", ENV, "--execute")
    assert missing.code == 2
    assert missing.err == (
        f"error: no DR database {names.dr_database_identifier} in {names.dr_region}; the {ENV}-dr-data stack creates it; "
        "nothing was changed\n"
    )
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable)
    anonymous = run("dr", "failover-region", "--env", ENV, "--execute")
    assert anonymous.code == 3 and anonymous.err.startswith("error: no AWS credentials found")
    for state in clusters:
        assert not [request for request in state.requests if request.method == "PATCH"]
    assert not recording.calls("UpdateHealthCheck")


def test_the_region_loss_drill_runs_the_failover_and_times_every_step(
    standby: Standby, clusters: tuple[ClusterState, ClusterState], run, names: Names, tmp_path: Path
) -> None:
    dry = run("dr", "drill", "--env", ENV, "--scenario", "region-loss")
    assert dry.code == 0, dry.text
    assert "dry run: the drill would run these steps against the 30-minute objective:" in dry.out
    assert re.search(r"  promote +10 min  read replica promoted", dry.out) and "propagation" in dry.out
    assert not _health_check(standby)["Disabled"]
    report = tmp_path / "drill.json"
    result = run("dr", "drill", "--env", ENV, "--scenario", "region-loss", "--poll-seconds", "0", "--execute", "--report", str(report))
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("step "))
    table = [line.split()[0] for line in lines[header + 2 : header + 2 + len(REGION_LOSS_BUDGET) + 1]]
    assert table == [step.key for step in REGION_LOSS_BUDGET] + ["total"]
    assert "Recovery time objective (30 min): MET" in result.out
    document = json.loads(report.read_text())
    assert document["scenario"] == "region-loss" and document["met"] is True
    assert _health_check(standby)["Disabled"]


def test_without_the_standbys_kubeconfig_context_it_says_how_to_get_one(
    standby: Standby, kube: KubernetesEmulator, run, names: Names
) -> None:
    result = run("dr", "failover-region", "--env", ENV, "--execute")
    assert result.code == 3
    assert f"run `aws eks update-kubeconfig --region {names.dr_region} --name {names.dr_cluster_name}` or pass --dr-context" in result.err
    assert not [request for request in kube.state.requests if request.method == "PATCH"]


def test_with_the_primary_region_gone_the_failover_asks_only_the_dr_region(
    standby: Standby, names: Names, recording: Recording, run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A region loss takes the primary's APIs with it: the failover must neither need nor wait for them.
    The primary cluster's context points at a closed port; every AWS request goes to the DR region's
    endpoints or Route 53's (global, us-east-1)."""
    dr = standby_cluster()
    with two_clusters(names, ClusterState.from_fixtures(), dr, tmp_path / "kubeconfig"):
        config = yaml.safe_load((tmp_path / "kubeconfig").read_text())
        config["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:9"  # discard port: nothing listens
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        before = len(recording.entries())
        result = run("dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--execute")
    assert result.code == 0, result.text
    assert re.search(r"primary cluster +does not answer", result.out)
    assert "not fenced; the pinned health check keeps users away from it" in result.out
    hosts = {urlsplit(entry["url"]).hostname for entry in recording.entries()[before:]}
    assert hosts and all(names.dr_region in host or host == "route53.amazonaws.com" for host in hosts), hosts
    assert _ready(dr) == dict.fromkeys(APPS, True)
