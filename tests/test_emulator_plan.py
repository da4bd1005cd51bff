"""`terraform plan` of every stack of one environment against a local AWS emulator (moto server).

The environment is synthesized for the emulator target (`--aws-emulator`, never the default): every
provider calls moto on loopback and every stack keeps local state, so cross-stack references read
real state files. Upstream stacks apply first what downstream plans read (VPC, subnets and NAT
gateways; the EKS cluster and its log groups; the observability stack's alarm topic, which the backup
stack reads by name), and are planned after that, beside the stacks that read them; then every stack
is planned. Every resource of the environment is therefore either created through the provider
against the emulator or planned there. The Redis AUTH token is applied too (generator, write-only
secret value), and the data stack planned again, to show the token is read back consistently and
printed nowhere.

The standby's stacks (`<env>-dr-*`, in the DR region) are planned too, after what they read: the DR
network and cluster are applied as the primary's are, the standby's alarm topic for its edge stack, the
primary's secrets keys (`data`), the files replica's key (`backup`) and the hosted zone (`edge`), which
the standby looks up by name. The failover records are planned only, never applied (Route 53 refuses an
alias to a record that does not exist yet, hence `make apply-after-sync`).

The edge and security stacks (WAF, Route 53, ACM, GuardDuty, CloudTrail, Security Hub, Config) are
applied as far as moto 5.2.1 can (the apply plans them fresh first), then planned (what is left: the
resources below), and the applied objects are read back through the AWS APIs. So is
Karpenter's interruption queue and its EventBridge rules (cluster stack), into a state file of its own,
so as not to write the state file the cluster's readers (`terraform_remote_state`) may be reading at
that moment. What is not applied, exactly (`APPLY_IN_FULL`):
- edge: `aws_eks_pod_identity_association` (ExternalDNS), as for the cluster stack below;
- security: `aws_guardduty_detector_feature`: moto's UpdateDetector replaces the detector's feature
  list instead of merging it (moto/guardduty/models.py, `Detector.update`: `self.features = features`),
  so of the four feature resources (one UpdateDetector each) only the last written reads back and the
  provider fails the others with "reading GuardDuty Detector Feature ...: empty result";
- security: `aws_securityhub_account` and `aws_securityhub_standards_subscription`: moto implements
  EnableSecurityHub and DescribeHub but no standards API (BatchEnableStandards, GetEnabledStandards;
  moto/securityhub/responses.py), and the provider's create of the hub account did not finish within
  10 minutes against it.
Their plans also caught a real defect: validation records keyed by the certificate's validation
options cannot be planned for a new certificate.

What the emulator (moto 5.2) lacks, and why nothing more is applied:
- EKS CreateAddon, CreateAccessEntry and CreatePodIdentityAssociation are not implemented (moto's EKS
  knows clusters, node groups and Fargate profiles only), so
  the cluster stack's add-ons, access entries and Pod Identity associations can only be planned;
- moto's EKS cluster has no `cluster_security_group_id`, so the data stack plans its security-group
  rules against an empty reference;
- ElastiCache replication groups cannot be applied (member clusters are not emulated).
- moto does not keep the KMS key of a secret's replica (it reports `aws/secretsmanager` whatever was
  asked), which would show the replicas changing on every plan and defer reading the AUTH token back:
  the emulator synthesis leaves out the DR-region secret replicas (the DR keys are still planned).

The stacks run as a dependency graph, so one stack's waits for emulated resources (the provider's
propagation checks on KMS keys, SNS topics, Route 53 changes) overlap other stacks' work; what remains
is mostly CPU (Terraform starts the provider three times a plan), see docs/performance.md.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from envspec import Names, names_for
from envspec.naming import DR_LAYERS, LAYERS
from stacks.edge.waf_rules import web_acl_rules
from stacks.security.cis_filters import CIS_FILTERS
from tests.conftest import SPECS, require_binary, run_synth
from tools.terraform_cli import terraform_environment

# The longest module of the suite (terraform against the emulator): under xdist it starts first.
pytestmark = pytest.mark.long_running

ENVIRONMENT = "production"
# Every stack of the environment: the primary's and its standby's (`<env>-dr-*`, in the DR region).
PLANNED = LAYERS + DR_LAYERS
# Lookups by name (a data source, not a cross-stack reference): the backup, edge and security stacks'
# alarms and findings notify the observability stack's alarm topic; the standby finds the primary's
# secrets key (its DR copy, `data`) and the files replica's key (`backup`), its own alarm topic
# (`dr-data`) and the primary's hosted zone (`edge`).
READS_BY_NAME = {
    "backup": ("observability",),
    "edge": ("observability",),
    "security": ("observability",),
    "dr-cluster": ("data",),
    "dr-data": ("data", "backup"),
    "dr-edge": ("dr-data", "edge"),
    "dr-dns": ("edge",),
}
# What each upstream stack must have applied for the stacks after it to plan.
APPLY_FOR_DOWNSTREAM = {
    # The NAT gateways the observability alarms watch; the VPC endpoints' security group the data
    # stack's login rotation function may reach.
    "network": ("aws_vpc", "aws_subnet", "aws_nat_gateway", "aws_security_group"),
    "cluster": ("aws_eks_cluster", "aws_cloudwatch_log_group"),  # and the container log groups the log alarms read
    "observability": ("aws_sns_topic",),  # the alarm topic the backup, edge and security stacks notify
    "data": ("aws_kms_alias",),  # the secrets keys (both regions) the standby's stacks look up
    "backup": ("aws_kms_alias",),  # the files replica's key in the DR region
    "edge": ("aws_route53_zone",),  # the zone the standby's certificate and the failover records go into
    "dr-network": ("aws_vpc", "aws_subnet", "aws_nat_gateway"),
    "dr-cluster": ("aws_eks_cluster",),
    "dr-data": ("aws_sns_topic",),  # the standby's alarm topic its certificate alarm notifies
}


# Applied after the stack's plan, into a state file of its own (`-state-out`): the stacks that read this
# stack's state (`terraform_remote_state`) may be planning at that moment, and no lock is taken here
# (`-lock=false`). Karpenter's interruption queue and rules, which the Karpenter test sends events through.
APPLY_AFTER_PLAN = {"cluster": ("aws_sqs_queue_policy", "aws_cloudwatch_event_target")}
# Stacks applied in full before their plan, but for these resource types (moto 5.2.1 limits, see above).
APPLY_IN_FULL = {
    "edge": ("aws_eks_pod_identity_association",),
    "security": ("aws_guardduty_detector_feature", "aws_securityhub_account", "aws_securityhub_standards_subscription"),
}


class UpstreamFailed(RuntimeError):
    """A stack not planned because a stack it reads failed (that failure is the one reported)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)  # noqa: S310 - loopback emulator
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.2)
    yield endpoint
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:  # its SIGTERM handler waits for request threads; the plans are done
        server.kill()
        server.wait()


@pytest.fixture(scope="module")
def emulator_stacks(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("emulator")
    result = run_synth(
        out / "cdktf.out",
        out / "dist",
        "--env",
        ENVIRONMENT,
        "--target",
        "terraform",
        "--aws-emulator",
        moto_endpoint,
        "--emulator-state-dir",
        str(out / "state"),
    )
    assert result.returncode == 0, result.stderr
    return out / "cdktf.out" / "stacks"


def _terraform(terraform: str, stack_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **terraform_environment(),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any key; never a real credential
        "AWS_REGION": "ap-northeast-1",
    }
    return subprocess.run([terraform, *args, "-input=false", "-no-color"], cwd=stack_dir, capture_output=True, text=True, env=env)


# The plans whose JSON a test reads (`terraform show -json`, one more provider start and schema load each);
# the others are judged by the plan's own summary line.
SHOWN = ("cluster", "data", "dr-cluster")
PLAN_SUMMARY = re.compile(r"^Plan: (\d+) to add, (\d+) to change, (\d+) to destroy\.$", re.MULTILINE)


@dataclass
class Plan:
    output: str  # what `terraform plan` prints, as a CI log would show it
    document: dict[str, Any] | None  # `terraform show -json` of the saved plan, for the stacks in SHOWN

    @property
    def to_add(self) -> int:
        """What the plan's summary line says it adds (the first one: a log may have an apply's appended)."""
        summary = PLAN_SUMMARY.search(self.output)
        assert summary, f"no plan summary in:\n{self.output[-2000:]}"
        return int(summary.group(1))


def _client(service: str, endpoint: str, *, region: str = "ap-northeast-1") -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto accepts any key; never a real credential
    )


def _plan(terraform: str, stack_dir: Path, *, show: bool) -> Plan:
    plan = _terraform(terraform, stack_dir, "plan", "-lock=false", "-detailed-exitcode", "-out=plan.tfplan")
    assert plan.returncode == 2, f"plan of {stack_dir.name} failed:\n{plan.stdout[-3000:]}\n{plan.stderr[-3000:]}"
    if not show:
        return Plan(plan.stdout, None)
    shown = subprocess.run(
        [terraform, "show", "-json", "plan.tfplan"], cwd=stack_dir, capture_output=True, text=True, env=terraform_environment()
    )
    assert shown.returncode == 0, shown.stderr
    return Plan(plan.stdout, json.loads(shown.stdout))


def _dependencies(stacks_dir: Path) -> dict[str, set[str]]:
    """layer -> the layers whose applied resources its plan reads: cdktf's cross-stack references
    (the manifest's `dependencies`) and the lookups by name in READS_BY_NAME."""
    manifest = json.loads((stacks_dir.parent / "manifest.json").read_text())["stacks"]
    prefix = f"{ENVIRONMENT}-"
    return {
        layer: {stack.removeprefix(prefix) for stack in manifest[prefix + layer]["dependencies"]} | set(READS_BY_NAME.get(layer, ()))
        for layer in PLANNED
    }


def _apply(terraform: str, stack_dir: Path, targets: list[str], what: str) -> subprocess.CompletedProcess:
    apply = _terraform(terraform, stack_dir, "apply", "-auto-approve", "-lock=false", *targets)
    assert apply.returncode == 0, f"apply of {what} failed:\n{apply.stderr[-3000:]}"
    return apply


def _targets(document: dict[str, Any], resource_types: tuple[str, ...]) -> list[str]:
    return [
        f"-target={resource_type}.{logical_id}" for resource_type in resource_types for logical_id in document["resource"][resource_type]
    ]


@dataclass
class Graph:
    """Which stacks each stack reads, and which stacks have applied what later plans read."""

    dependencies: dict[str, set[str]]
    applied: dict[str, threading.Event]
    failed: threading.Event

    def wait_for_upstream(self, layer: str) -> None:
        for upstream in self.dependencies[layer]:
            while not self.applied[upstream].wait(timeout=1):
                if self.failed.is_set():
                    raise UpstreamFailed(f"{layer} not planned: {upstream} failed")


def _plan_stack(terraform: str, emulator_stacks: Path, layer: str, graph: Graph) -> dict[str, Plan]:
    """Init; once upstream has applied, apply what downstream plans read (and let them start), plan,
    then apply what is applied after the plan."""
    stack_dir = emulator_stacks / f"{ENVIRONMENT}-{layer}"
    document = json.loads((stack_dir / "cdk.tf.json").read_text())
    assert "local" in document["terraform"]["backend"] and "endpoints" in document["provider"]["aws"][0]
    init = _terraform(terraform, stack_dir, "init")
    assert init.returncode == 0, init.stdout + init.stderr
    graph.wait_for_upstream(layer)
    if layer in APPLY_IN_FULL:
        every_type = tuple(resource_type for resource_type in document["resource"] if resource_type not in APPLY_IN_FULL[layer])
        assert set(APPLY_FOR_DOWNSTREAM.get(layer, ())) <= set(every_type)
        _apply(terraform, stack_dir, _targets(document, every_type), stack_dir.name)
    elif layer in APPLY_FOR_DOWNSTREAM:
        _apply(terraform, stack_dir, _targets(document, APPLY_FOR_DOWNSTREAM[layer]), stack_dir.name)
    graph.applied[layer].set()
    plans = {layer: _plan(terraform, stack_dir, show=layer in SHOWN)}
    if layer == "data":
        # The Redis AUTH token: write it (generator, write-only secret value), then plan the cache again so
        # the token is read back and known at plan time, as on every plan after the first apply.
        versions = document["resource"]["aws_secretsmanager_secret_version"]
        (token_version,) = [logical for logical in versions if logical.startswith("cache_auth_token_")]
        apply = _apply(terraform, stack_dir, [f"-target=aws_secretsmanager_secret_version.{token_version}"], "the AUTH token")
        plans["data-after-token"] = _plan(terraform, stack_dir, show=True)
        plans["data-after-token"].output += apply.stdout  # the apply log must not show the token either
    if layer in APPLY_AFTER_PLAN:
        targets = [*_targets(document, APPLY_AFTER_PLAN[layer]), "-state-out=after-plan.tfstate"]
        _apply(terraform, stack_dir, targets, f"{stack_dir.name} after its plan")
    return plans


@pytest.fixture(scope="module")
def emulator_plans(emulator_stacks: Path, moto_endpoint: str) -> dict[str, Plan]:
    """Init and plan every stack, applying upstream stacks as far as downstream plans need.

    The stacks run as a dependency graph, not a chain: each starts (init) at once, applies what
    later plans read as soon as the stacks it reads have applied theirs, and is planned beside its
    downstream stacks; independent stacks (state, network, ci) overlap, and so do the provider's
    waits for the emulated resources.
    """
    terraform = require_binary("terraform", "install Terraform >= 1.11")
    graph = Graph(
        dependencies=_dependencies(emulator_stacks),
        applied={layer: threading.Event() for layer in PLANNED},
        failed=threading.Event(),
    )

    def run(layer: str) -> dict[str, Plan]:
        try:
            plans = _plan_stack(terraform, emulator_stacks, layer, graph)
        except BaseException:
            graph.failed.set()
            raise
        return plans

    with ThreadPoolExecutor(max_workers=len(PLANNED)) as pool:
        futures = {layer: pool.submit(run, layer) for layer in PLANNED}
        results = {layer: future.result() for layer, future in futures.items()}
    plans = {layer: results[layer][layer] for layer in PLANNED}  # in PLANNED order
    plans["data-after-token"] = results["data"]["data-after-token"]
    return plans


def test_every_stack_plans_against_the_emulator(emulator_plans: dict[str, Plan]) -> None:
    assert list(emulator_plans)[: len(PLANNED)] == list(PLANNED)
    for layer, plan in emulator_plans.items():
        assert plan.to_add > 0, f"{layer}: the plan creates nothing"
        if plan.document is not None:
            created = [change for change in plan.document["resource_changes"] if change["change"]["actions"] == ["create"]]
            assert len(created) <= plan.to_add and created, layer


def _changes(plan: Plan, resource_type: str) -> list[dict[str, Any]]:
    assert plan.document is not None, "a plan read by a test is listed in SHOWN"
    return [change["change"] for change in plan.document["resource_changes"] if change["type"] == resource_type]


def test_the_redis_auth_token_is_generated_once_kept_consistent_and_never_printed(
    emulator_plans: dict[str, Plan], moto_endpoint: str
) -> None:
    """Secrets Manager holds the generated token; the cache is planned with exactly that token, marked
    sensitive; neither the plans nor the apply log show it, and the write-only value is in no plan."""
    first, later = emulator_plans["data"], emulator_plans["data-after-token"]
    client = _client("secretsmanager", moto_endpoint)
    stored = json.loads(client.get_secret_value(SecretId=f"ai-subsidy/{ENVIRONMENT}/cache/auth-token")["SecretString"])["token"]
    assert len(stored) == 64 and stored.isalnum()
    (group,) = _changes(later, "aws_elasticache_replication_group")
    assert group["after"]["auth_token"] == stored
    assert group["after_sensitive"]["auth_token"] is True
    for plan in (first, later):
        assert stored not in plan.output
        assert all(change["after"].get("secret_string_wo") is None for change in _changes(plan, "aws_secretsmanager_secret_version"))
    (group,) = _changes(first, "aws_elasticache_replication_group")
    assert group["after_unknown"].get("auth_token") is True, "on the first plan the token is read back at apply time"


def test_the_standby_api_admits_the_addresses_the_primary_nat_gateways_got(emulator_plans: dict[str, Plan], moto_endpoint: str) -> None:
    """The standby's public access CIDRs, as applied to EKS, are the Elastic IPs EC2 gave the primary's NAT
    gateways, read back through the cross-stack reference: the source addresses of the primary Argo CD's
    connections (Amazon VPC User Guide, "NAT gateways"; EKS API reference, `publicAccessCidrs`: other sources
    are denied). The standby's plan plans the same ranges."""
    ec2 = _client("ec2", moto_endpoint)
    primary_vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [names_for(SPECS[ENVIRONMENT]).vpc_name]}])["Vpcs"]
    (vpc,) = primary_vpc
    gateways = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NatGateways"]
    addresses = {f"{address['PublicIp']}/32" for gateway in gateways for address in gateway["NatGatewayAddresses"]}
    assert len(addresses) == len(gateways) > 0
    names = names_for(SPECS[ENVIRONMENT])
    eks = _client("eks", moto_endpoint, region=names.dr_region)
    vpc_config = eks.describe_cluster(name=names.dr_cluster_name)["cluster"]["resourcesVpcConfig"]
    offices = {str(cidr) for cidr in SPECS[ENVIRONMENT].cluster.public_access_cidrs}
    assert vpc_config["endpointPublicAccess"] is True
    assert set(vpc_config["publicAccessCidrs"]) == addresses | offices
    (planned,) = _changes(emulator_plans["dr-cluster"], "aws_eks_cluster")
    assert set(planned["after"]["vpc_config"][0]["public_access_cidrs"]) == addresses | offices


def test_the_emulator_target_is_never_the_default(synthesis) -> None:
    for stack_id in synthesis.stack_ids:
        document = synthesis.stack(stack_id)
        for provider in document["provider"]["aws"]:
            assert not {"endpoints", "skip_credentials_validation", "access_key"} & set(provider), stack_id
        assert list(document["terraform"]["backend"]) == (["local"] if stack_id.endswith("-state") else ["s3"]), stack_id


KARPENTER_EVENTS = (
    ("aws.health", "AWS Health Event"),
    ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    ("aws.ec2", "EC2 Instance State-change Notification"),
    ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
)


def test_karpenter_interruption_events_reach_its_queue(emulator_plans: dict[str, Plan], moto_endpoint: str) -> None:
    """The cluster plan creates Karpenter's AWS side; applied to the emulator (`APPLY_AFTER_PLAN`), the
    EventBridge rules route exactly the five event types upstream's cloudformation.yaml (v1.14.1) names into
    the queue, and nothing else."""
    cluster = emulator_plans["cluster"]
    for resource_type, count in (
        ("aws_sqs_queue", 1),
        ("aws_sqs_queue_policy", 1),
        ("aws_cloudwatch_event_rule", 5),
        ("aws_cloudwatch_event_target", 5),
        ("aws_ec2_tag", 1),
    ):
        assert len(_changes(cluster, resource_type)) == count, resource_type
    assert [change["after"]["type"] for change in _changes(cluster, "aws_eks_access_entry")].count("EC2_LINUX") == 1
    sqs, events = _client("sqs", moto_endpoint), _client("events", moto_endpoint)
    queue_url = sqs.get_queue_url(QueueName=f"ai-subsidy-{ENVIRONMENT}-karpenter-interruption")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["SqsManagedSseEnabled"] == "true" and attributes["MessageRetentionPeriod"] == "300"
    sent = [*KARPENTER_EVENTS, ("aws.ec2", "EC2 Fast Snapshot Restore State-change Notification")]
    events.put_events(
        Entries=[{"Source": source, "DetailType": kind, "Detail": json.dumps({"instance-id": "i-0"})} for source, kind in sent]
    )
    received = []
    for _ in range(5):
        received += sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(json.loads(message["Body"])["detail-type"] for message in received) == sorted(kind for _, kind in KARPENTER_EVENTS)


def test_the_edge_stack_applies_and_the_ingress_finds_what_it_names(emulator_plans: dict[str, Plan], moto_endpoint: str) -> None:
    """Read back through the AWS APIs what the edge apply made, and resolve the Ingress's references the
    way the load balancer controller v3.4.2 does: the web ACL by exact name among the REGIONAL ACLs
    (pkg/ingress/model_builder.go `getArnByName`), certificates by host among ISSUED ones
    (pkg/certs/cert_discovery.go)."""
    names = names_for(SPECS[ENVIRONMENT])
    spec = SPECS[ENVIRONMENT]
    wafv2 = _client("wafv2", moto_endpoint)
    (summary,) = [acl for acl in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"] if acl["Name"] == names.web_acl]
    acl = wafv2.get_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    assert [rule["Name"] for rule in acl["Rules"]] == [rule["Name"] for rule in web_acl_rules(spec.edge.waf)]
    assert "Allow" in acl["DefaultAction"] and acl["VisibilityConfig"]["CloudWatchMetricsEnabled"]
    logging = wafv2.get_logging_configuration(ResourceArn=summary["ARN"])["LoggingConfiguration"]
    assert {field["SingleHeader"]["Name"] for field in logging["RedactedFields"]} == {"authorization", "cookie"}
    acm = _client("acm", moto_endpoint)
    issued = acm.list_certificates(CertificateStatuses=["ISSUED"])["CertificateSummaryList"]
    hosts = {spec.dns.frontend_host, spec.dns.api_host}
    names_of = {c["CertificateArn"]: acm.describe_certificate(CertificateArn=c["CertificateArn"])["Certificate"] for c in issued}
    covering = [arn for arn, certificate in names_of.items() if hosts <= set(certificate["SubjectAlternativeNames"])]
    assert len(covering) == 1, "exactly one ISSUED certificate covers both Ingress hosts"
    route53 = _client("route53", moto_endpoint)
    (zone,) = [z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == spec.dns.zone_name + "."]
    records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    assert any(record["Type"] == "CNAME" for record in records), "the certificate's validation records"
    s3 = _client("s3", moto_endpoint)
    policy = json.loads(s3.get_bucket_policy(Bucket=names.alb_access_log_bucket)["Policy"])
    assert any(s["Principal"] == {"AWS": "arn:aws:iam::582318560864:root"} for s in policy["Statement"])


def topic_arn(names: Names) -> str:
    """The alarm topic's ARN in the emulator (moto's default account)."""
    return f"arn:aws:sns:{names.region}:123456789012:{names.alarm_topic}"


def test_the_security_stack_applies_its_trail_detector_rule_and_recorder(
    emulator_plans: dict[str, Plan], emulator_stacks: Path, moto_endpoint: str
) -> None:
    """Read back the applied trail, its Object Lock, the detector, the findings rule and the recorder.
    The findings rule targets the alarm topic; its applied pattern is evaluated by moto's EventBridge
    (numeric matching as EventBridge documents it, "Content filtering in Amazon EventBridge event
    patterns") on a probe rule with the same pattern, on a bus of its own, with a queue as target: moto
    delivers to no SNS target (moto/events/models.py `send_to_targets` raises for one). The finding of
    severity 4.0 arrives, the one of 3.9 does not."""
    names = names_for(SPECS[ENVIRONMENT])
    settings = SPECS[ENVIRONMENT].security
    (trail,) = _client("cloudtrail", moto_endpoint).describe_trails(trailNameList=[names.trail])["trailList"]
    assert trail["IsMultiRegionTrail"] and trail["LogFileValidationEnabled"] and trail["KmsKeyId"]
    assert trail["CloudWatchLogsLogGroupArn"].split(":log-group:")[1].startswith(names.trail_log_group)
    lock = _client("s3", moto_endpoint).get_object_lock_configuration(Bucket=names.trail_bucket)["ObjectLockConfiguration"]
    retention = lock["Rule"]["DefaultRetention"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert (retention["Mode"], retention["Days"]) == (settings.trail_lock_mode, settings.trail_retention_days)
    assert len(_client("guardduty", moto_endpoint).list_detectors()["DetectorIds"]) == 1
    (recorder,) = _client("config", moto_endpoint).describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["recordingGroup"]["allSupported"] is True
    alarms = _client("cloudwatch", moto_endpoint).describe_alarms(AlarmNamePrefix=names.prefix)["MetricAlarms"]
    assert len([alarm for alarm in alarms if alarm["Namespace"] == f"{names.prefix}/cis"]) == len(CIS_FILTERS)
    sqs, events = _client("sqs", moto_endpoint), _client("events", moto_endpoint)
    queue_url = sqs.create_queue(QueueName="guardduty-findings-probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    applied = events.describe_rule(Name=names.event_rule("guardduty-findings"))
    assert [target["Arn"] for target in events.list_targets_by_rule(Rule=applied["Name"])["Targets"]] == [topic_arn(names)]
    events.create_event_bus(Name="probe")  # on the default bus moto would fail on the rule's SNS target
    events.put_rule(Name="guardduty-findings-probe", EventBusName="probe", EventPattern=applied["EventPattern"])
    events.put_targets(Rule="guardduty-findings-probe", EventBusName="probe", Targets=[{"Id": "probe", "Arn": queue_arn}])
    findings = [
        {"Source": "aws.guardduty", "DetailType": "GuardDuty Finding", "Detail": json.dumps({"severity": s}), "EventBusName": "probe"}
        for s in (4.0, 3.9)
    ]
    events.put_events(Entries=findings)
    received = []
    for _ in range(3):
        received += sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(message["Body"])["detail"]["severity"] for message in received] == [settings.finding_min_severity]
